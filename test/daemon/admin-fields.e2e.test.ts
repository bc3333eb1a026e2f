/**
 * The admin API's optional fields (src/daemon/http.ts optionalTexts), over real HTTP to a daemon
 * with and without environments: a field given is a non-empty string or refused (400, naming it
 * and what it takes), never read as absent. `{"environment": ""}` (an unset shell variable),
 * `["prod"]` or `5` suspended or resumed every environment; `/reconcile` read no body at all. A
 * body that is not a JSON object is refused whole by every admin endpoint.
 */
import { describe, expect, it } from 'vitest';
import type { RunningDaemon } from '../../src/daemon/daemon.js';
import { twoEnvironments } from '../environments/helpers.js';
import { cleanup } from '../support/cleanup.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon, startTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const ADMIN = 'admin-token-fields-0123456789';

/** Each not a name, with how the refusal says it. */
const NOT_A_NAME: [unknown, string][] = [
  ['', 'empty'],
  ['  ', 'empty'],
  [['prod'], 'a list'],
  [5, 'a number'],
  [null, 'null'],
  [{ name: 'prod' }, 'an object'],
];

const refusal = (field: string, got: string, takes: string, done: string) =>
  `"${field}" is ${got}: it takes ${takes} (a non-empty string), or leave it out; ${done}`;
const ENVIRONMENT = "an environment's name";

async function post(d: RunningDaemon, path: string, body?: unknown) {
  const res = await fetch(`${d.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: string } };
}

/** Whether each environment (`null`: the daemon's one) is suspended now. */
function suspended(d: RunningDaemon): Record<string, boolean> {
  const s = d.status();
  const each = s.environments ?? { null: s };
  return Object.fromEntries(
    Object.entries(each).map(([name, e]) => [name, e.freeze.suspended !== null]),
  );
}

describe('the admin API without environments', () => {
  it('refuses an environment, by or reason that is not a non-empty string, and does nothing', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const h = await startTestDaemon({
      flags: { repo: repo.bare },
      env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
      logLevel: 'silent',
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const d = h.daemon;

    for (const [environment, got] of NOT_A_NAME) {
      const asked = await post(d, '/suspend', { environment, by: 'ops' });
      expect([environment, asked]).toEqual([
        environment,
        { status: 400, body: { error: refusal('environment', got, ENVIRONMENT, 'nothing done') } },
      ]);
    }
    expect(suspended(d)).toEqual({ null: false });
    expect(await post(d, '/suspend', { by: 'ops', reason: 'incident 7' })).toMatchObject({
      status: 200,
    });
    for (const [environment] of NOT_A_NAME)
      expect((await post(d, '/resume', { environment })).status).toBe(400);
    expect(suspended(d)).toEqual({ null: true });

    // Who and why, alike: given, each is words.
    expect(await post(d, '/resume', { by: 5 })).toEqual({
      status: 400,
      body: { error: refusal('by', 'a number', 'who acts, e.g. a user name', 'nothing done') },
    });
    expect(await post(d, '/resume', { reason: '' })).toEqual({
      status: 400,
      body: { error: refusal('reason', 'empty', 'why, in words', 'nothing done') },
    });
    expect(await post(d, '/rollback', { run: 1, environment: '' })).toEqual({
      status: 400,
      body: { error: refusal('environment', 'empty', ENVIRONMENT, 'nothing done') },
    });
    // JSON whose "run" is not a run's number: that field is named, not the body's syntax.
    const run = (got: string) =>
      `"run" must be a run number from 1 (a kept run's number, \`poolsync history\`), not ${got}; nothing done`;
    for (const [given, got] of [
      ['abc', 'a string'],
      [0, '0'],
      [-1, '-1'],
      [1.5, '1.5'],
      [undefined, 'absent'],
    ] as const)
      expect(await post(d, '/rollback', { run: given })).toEqual({
        status: 400,
        body: { error: run(got) },
      });
    // No body is an empty object, whose "run" is absent; a body not a JSON object is refused whole.
    expect(await post(d, '/rollback')).toEqual({ status: 400, body: { error: run('absent') } });
    for (const body of [[1, 2], 'not json', 5, null])
      expect(await post(d, '/rollback', body)).toEqual({
        status: 400,
        body: {
          error:
            'the body must be a JSON object: {"run": N (a kept run, `poolsync history`), "environment"?, "by"?, "reason"?}; nothing done',
        },
      });
    expect(suspended(d)).toEqual({ null: true });
    const fingerprint = `sha256:${'0'.repeat(64)}`;
    expect((await post(d, '/approve')).body.error).toMatch(/^the body needs "fingerprint"/);
    for (const body of [[fingerprint, 'ana'], 'not json', 5, null])
      expect(await post(d, '/approve', body)).toEqual({
        status: 400,
        body: {
          error:
            'the body must be a JSON object: {"fingerprint": "sha256:…", "approver": "name", "environment"?}; nothing was approved',
        },
      });
    expect(await post(d, '/approve', { fingerprint, approver: 'ana', environment: 5 })).toEqual({
      status: 400,
      body: { error: refusal('environment', 'a number', ENVIRONMENT, 'nothing was approved') },
    });
    const policies = { policies: fingerprint, reason: 'fine' };
    expect((await post(d, '/approve', { ...policies, approver: ' ' })).status).toBe(400);
    const runs = d.status().runs.length;
    expect(await post(d, '/reconcile?environment=')).toEqual({
      status: 400,
      body: {
        error:
          '"?environment=" is empty: it takes an environment\'s name, or leave it out for every environment; nothing was run',
      },
    });
    // The body's environment alike: given, it is a name, never read as every environment.
    for (const [environment, got] of NOT_A_NAME)
      expect(await post(d, '/reconcile', { environment })).toEqual({
        status: 400,
        body: { error: refusal('environment', got, ENVIRONMENT, 'nothing was run') },
      });
    for (const body of [[1, 2], 'not json', 5])
      expect((await post(d, '/reconcile', body)).body.error).toMatch(
        /^the body must be a JSON object: \{"environment"\?\}/,
      );
    expect(d.status().runs.length).toBe(runs);
    expect((await post(d, '/resume', { by: 'ops' })).status).toBe(200);
    expect(suspended(d)).toEqual({ null: false });
  });
});

describe('the admin API with environments', () => {
  it('a resume whose environment is not a name lifts no suspension; one named lifts its own', async () => {
    const state = tempDir();
    const repo = new TestRepo();
    repo.commit(
      twoEnvironments({ dev: `file:${state}/dev.json`, prod: `file:${state}/prod.json` }),
    );
    const started = await startOwnTestDaemon({
      state,
      env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
      flags: { repo: repo.bare, 'control-plane': `file:${state}/unused.json`, 'max-retries': 0 },
      deps: { retryBaseMs: 3_600_000 },
    });
    cleanup.add(() => started.stop());
    const d = started.daemon;

    for (const [environment, got] of NOT_A_NAME) {
      const asked = await post(d, '/suspend', { environment });
      expect([environment, asked]).toEqual([
        environment,
        { status: 400, body: { error: refusal('environment', got, ENVIRONMENT, 'nothing done') } },
      ]);
    }
    expect(suspended(d)).toEqual({ dev: false, prod: false });
    for (const environment of ['dev', 'prod'])
      expect((await post(d, '/suspend', { environment, by: 'ops' })).status).toBe(200);
    for (const [environment] of NOT_A_NAME)
      expect((await post(d, '/resume', { environment })).status).toBe(400);
    expect(suspended(d)).toEqual({ dev: true, prod: true });
    expect((await post(d, '/resume', { environment: ' prod ' })).status).toBe(200);
    expect(suspended(d)).toEqual({ dev: true, prod: false });

    // A reconcile's body names its environment as ?environment= does: one unknown is 404.
    const nope = await post(d, '/reconcile', { environment: 'nope' });
    expect(nope.status).toBe(404);
    expect(nope).toEqual(await post(d, '/reconcile?environment=nope'));
    expect(await post(d, '/reconcile?environment=dev', { environment: 'prod' })).toEqual({
      status: 400,
      body: {
        error:
          'the body\'s "environment" and "?environment=" name different environments: name it once; nothing was run',
      },
    });
    const ran = await post(d, '/reconcile?wait=1', { environment: 'prod' });
    expect(ran).toMatchObject({ status: 200, body: { runs: [{ environment: 'prod' }] } });
  });
});
