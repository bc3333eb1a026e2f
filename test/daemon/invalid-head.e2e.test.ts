/**
 * A daemon whose followed branch's head is invalid (docs/daemon.md#an-invalid-head): what it says
 * of the control plane it never planned against, and its drift runs, which check and correct
 * drift against the last commit applied. In process: a real Git repository, the daemon's HTTP
 * server, the control plane over its REST API (or nothing listening at its URL), or in memory.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { DaemonDeps } from '../../src/daemon/daemon.js';
import { PROBLEMS_LISTED, type DaemonStatus } from '../../src/daemon/status.js';
import type { NotifyEvent } from '../../src/notify/config.js';
import { Notifier } from '../../src/notify/notifier.js';
import { Receiver } from '../notify/receiver.js';
import { cleanup } from '../support/cleanup.js';
import { memoryIo } from '../support/memory-io.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { manifests, setRunConcurrency } from './fixtures.js';
import { startOwnTestDaemon, startTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

/** A daemon started on an invalid head, its control plane at `url`. */
async function startOnInvalidHead(url: string) {
  const repo = new TestRepo();
  repo.commit(manifests({ invalid: true }), 'invalid from the start');
  const h = await startOwnTestDaemon({
    repo,
    flags: { 'control-plane': url, 'max-retries': '0' },
    logLevel: 'silent',
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  const status = (await (await fetch(`${h.daemon.url}/status`)).json()) as DaemonStatus;
  expect(status.outcome).toBe('invalid');
  return { ...h, status };
}

describe('the control plane of a daemon on an invalid head', () => {
  it('nothing listening: /readyz and /status say why, with the error the probe met', async () => {
    const h = await startOnInvalidHead('http://127.0.0.1:1');
    expect(h.status.ready).toBe(false);
    expect(h.status.controlPlane).toMatchObject({
      url: 'http://127.0.0.1:1',
      reachable: false,
      lastAnsweredAt: null,
      lastError: expect.stringMatching(
        /^cannot read the control plane's capabilities: .*ECONNREFUSED/,
      ),
    });
    const ready = await fetch(`${h.daemon.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: 'not ready',
      reason: `the control plane has not answered: ${h.status.controlPlane.lastError}`,
    });
  });

  it('reachable: ready, and /status and `poolsync status` say the control plane answered', async () => {
    const served = await servedControlPlane();
    const h = await startOnInvalidHead(served.url);
    expect(h.status.ready).toBe(true);
    expect(h.status.controlPlane).toMatchObject({
      backend: 'poolsync REST API',
      reachable: true,
      lastAnsweredAt: expect.any(String),
      lastError: null,
    });
    const io = memoryIo();
    await main(['status', '--daemon', h.daemon.url], io);
    expect(io.out()).toContain(`Control plane: poolsync REST API ${served.url}, reachable\n`);
  });
});

const ADMIN = 'admin-token-invalid-head-0123456789';
const short = (commit: string) => commit.slice(0, 12);

/** A daemon of `repo` (which outlives it) on `cp`, its state in `state`. */
async function start(
  repo: TestRepo,
  state: string,
  cp: EmbeddedControlPlane,
  policy = 'all',
  deps: Partial<DaemonDeps> = {},
) {
  const h = await startTestDaemon({
    cp,
    state,
    flags: { repo: repo.bare, policy },
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
    logLevel: 'silent',
    deps,
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  const status = async () => (await (await fetch(`${h.daemon.url}/status`)).json()) as DaemonStatus;
  const post = (path: string) =>
    fetch(`${h.daemon.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ops' }),
    });
  return { ...h, status, post };
}

/** A repository whose commit A is applied, then an invalid head; the control plane in memory. */
async function appliedThenInvalid(policy = 'all', deps: Partial<DaemonDeps> = {}) {
  const repo = new TestRepo();
  cleanup.add(() => repo.cleanup());
  const cp = await EmbeddedControlPlane.open({ path: null });
  cleanup.add(() => cp.close());
  const state = tempDir();
  const applied = repo.commit(manifests(), 'A');
  const h = await start(repo, state, cp, policy, deps);
  expect((await h.status()).outcome).toBe('applied');
  return { repo, cp, state, applied, h };
}

const invalidHead = (repo: TestRepo) =>
  repo.commit(manifests({ invalid: true, batchRunConcurrency: 60 }), 'B: invalid');

describe('drift while the head is invalid', () => {
  it('is found and put back against the last commit applied, a freeze still holding it; the head stays invalid', async () => {
    const { repo, cp, applied, h } = await appliedThenInvalid();
    const head = invalidHead(repo);
    await h.daemon.reconcile('manual');
    expect((await h.status()).outcome).toBe('invalid');

    await setRunConcurrency(cp, 'batch', 11);
    await h.daemon.reconcile('drift');
    expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
    const s = await h.status();
    const checked = `1 validation error in commit ${short(head)}, nothing of it applied; drift checked against commit ${short(applied)}, the last applied: `;
    expect(s).toMatchObject({
      outcome: 'invalid',
      commit: head,
      appliedCommit: applied,
      lastRun: {
        result: 'invalid',
        commit: head,
        trigger: ['drift'],
        message: `${checked}applied: 0 created, 1 updated, 0 replaced, 0 deleted; 0 blocked`,
      },
      lastDrift: {
        run: s.lastRun!.id,
        commit: applied,
        changes: [{ address: 'Queue/batch', action: 'update', corrected: true }],
      },
    });
    expect(s.errors).toEqual([
      expect.objectContaining({ code: 'V3', location: 'queues/broken.yaml:7:14' }),
    ]);
    const metrics = await (await fetch(`${h.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/^poolsync_drift_detected_total 1$/m);
    // `poolsync history Queue/batch`: the correction applied commit A, never the invalid head.
    const io = memoryIo();
    await main(['history', 'Queue/batch', '--daemon', h.daemon.url], io);
    expect(io.out().split('\n')[0]).toMatch(
      new RegExp(
        `^#${s.lastRun!.id} update run_concurrency .* commit ${short(applied)} \\(drift\\)$`,
      ),
    );

    // A poll finds no new commit: the head is not judged again.
    await h.daemon.reconcile('poll');
    expect(await h.status()).toMatchObject({
      outcome: 'invalid',
      lastRun: { result: 'unchanged' },
    });

    // Suspended: the drift is found and left, as on a valid head.
    expect((await h.post('/suspend')).status).toBe(200);
    await setRunConcurrency(cp, 'batch', 12);
    await h.daemon.reconcile('drift');
    expect((await cp.getQueue('batch')).run_concurrency).toBe(12);
    const frozen = await h.status();
    expect(frozen.lastRun!.message).toMatch(
      new RegExp(`^${checked}applies frozen, suspended by ops`),
    );
    expect(frozen.lastDrift).toMatchObject({
      run: frozen.lastRun!.id,
      changes: [{ address: 'Queue/batch', corrected: false }],
    });
  }, 60_000);

  it('a correction is notified as drift-corrected, naming what it put back; the invalid head keeps its one failed', async () => {
    const hook = await new Receiver().start('/hooks/poolsync');
    cleanup.add(() => hook.stop());
    const notifier = new Notifier({
      destinations: [{ kind: 'webhook', url: hook.url, origin: 'webhook (test)' }],
      rateLimit: { max: 1000, windowMs: 60_000 },
    });
    const { repo, cp, applied, h } = await appliedThenInvalid('all', { notifier });
    const events = async () => {
      await notifier.flush();
      return hook.received.map((r) => r.body as unknown as NotifyEvent);
    };
    expect((await events()).map((e) => e.event)).toEqual(['applied']);
    const head = invalidHead(repo);
    await h.daemon.reconcile('manual');
    expect((await events()).map((e) => e.event)).toEqual(['applied', 'failed']);

    await setRunConcurrency(cp, 'batch', 11);
    await h.daemon.reconcile('drift');
    expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
    const run = (await h.status()).lastRun!;
    // The head's failure was said; the correction is said now.
    expect((await events()).slice(2)).toEqual([
      expect.objectContaining({
        event: 'drift-corrected',
        run: run.id,
        commit: head,
        message: expect.stringContaining(
          `drift checked against commit ${short(applied)}, the last applied: applied: 0 created, 1 updated`,
        ),
        changed: ['update Queue/batch'],
        changed_total: 1,
        applied: expect.objectContaining({ update: 1 }),
        errors: [],
      }),
    ]);

    // Drift again: corrected and said again; the same invalid head is not said twice.
    await setRunConcurrency(cp, 'batch', 12);
    await h.daemon.reconcile('drift');
    expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
    expect((await events()).slice(3).map((e) => [e.event, e.changed])).toEqual([
      ['drift-corrected', ['update Queue/batch']],
    ]);
    // A drift run that finds nothing says nothing.
    await h.daemon.reconcile('drift');
    expect(await events()).toHaveLength(4);
  }, 60_000);

  it('a head whose plan fails (prevent-destroy) is checked against the last commit applied too, and the correction is credited to that commit', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const cp = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => cp.close());
    const guarded = manifests();
    guarded['clusters/prod-2.yaml'] = guarded['clusters/prod-2.yaml']!.replace(
      'spec:',
      '  annotations:\n    poolsync/prevent-destroy: "true"\nspec:',
    );
    const applied = repo.commit(guarded, 'A: prod-2 protected');
    const h = await start(repo, tempDir(), cp);
    expect((await h.status()).outcome).toBe('applied');
    // B deletes the protected cluster's manifest (prune: true): a plan error, nothing applied.
    const { 'clusters/prod-2.yaml': _gone, ...rest } = guarded;
    const head = repo.commit(rest, 'B: prod-2 deleted', { replaceAll: true });
    await h.daemon.reconcile('manual');
    expect(await h.status()).toMatchObject({
      outcome: 'failed',
      lastRun: { message: 'the plan has 1 error; nothing applied' },
    });

    await setRunConcurrency(cp, 'batch', 11);
    await h.daemon.reconcile('drift');
    expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
    await cp.getCluster('prod-2');
    const s = await h.status();
    expect(s).toMatchObject({
      outcome: 'failed',
      commit: head,
      appliedCommit: applied,
      lastRun: {
        result: 'failed',
        commit: head,
        checkedAgainst: applied,
        message: `the plan of commit ${short(head)} has 1 error, nothing of it applied; drift checked against commit ${short(applied)}, the last applied: applied: 0 created, 1 updated, 0 replaced, 0 deleted; 0 blocked`,
      },
      lastDrift: {
        run: s.lastRun!.id,
        commit: applied,
        changes: [{ address: 'Queue/batch', action: 'update', corrected: true }],
      },
    });
    expect(s.errors[0]).toMatchObject({ address: 'Cluster/prod-2' });

    // Drift again, then the next drift run: still against A, never against the head it failed.
    await setRunConcurrency(cp, 'batch', 12);
    await h.daemon.reconcile('drift');
    expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
    await h.daemon.reconcile('drift');
    expect((await h.status()).lastRun!.message).toContain(
      `drift checked against commit ${short(applied)}, the last applied: in sync`,
    );

    // `poolsync history Queue/batch`: the corrections applied commit A, not the failed head.
    const io = memoryIo();
    await main(['history', 'Queue/batch', '--daemon', h.daemon.url], io);
    const lines = io.out().trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toContain(`commit ${short(applied)} `);
  }, 60_000);

  it('after a restart on the invalid head: against the commit the kept history last applied', async () => {
    const { repo, cp, state, applied, h } = await appliedThenInvalid();
    const head = invalidHead(repo);
    await h.stop();
    const again = await start(repo, state, cp);
    expect((await again.status()).lastRun).toMatchObject({ result: 'invalid', commit: head });

    await setRunConcurrency(cp, 'batch', 11);
    await again.daemon.reconcile('drift');
    expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
    const s = await again.status();
    expect(s.lastRun).toMatchObject({
      result: 'invalid',
      message: expect.stringContaining(
        `; drift checked against commit ${short(applied)}, the last applied: applied: 0 created, 1 updated`,
      ),
    });
    // The first drift run since the restart counts what it put back, as later runs do.
    const changes = [{ address: 'Queue/batch', action: 'update', corrected: true }];
    expect(s.lastDrift).toMatchObject({ run: s.lastRun!.id, commit: applied, changes });
    const metrics = await (await fetch(`${again.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/^poolsync_drift_detected_total 1$/m);
  }, 60_000);

  it('is not checked, saying why, when no commit applied is known or its rules may not be the branch’s', async () => {
    // A later commit held for approval, then the invalid head: after a restart, which rules the
    // branch has is not known.
    const { repo, cp, state, applied, h } = await appliedThenInvalid('safe');
    repo.commit(manifests({ clusters: ['prod-1'] }), 'C: deletes prod-2, held', {
      replaceAll: true,
    });
    await h.daemon.reconcile('manual');
    expect((await h.status()).outcome).toBe('waiting_for_approval');
    const head = invalidHead(repo);
    await h.stop();
    const again = await start(repo, state, cp, 'safe');
    await setRunConcurrency(cp, 'batch', 11);
    await again.daemon.reconcile('drift');
    expect((await cp.getQueue('batch')).run_concurrency).toBe(11);
    expect((await again.status()).lastRun).toMatchObject({
      result: 'invalid',
      commit: head,
      message: `1 validation error in commit ${short(head)}; nothing applied; drift is not checked while the branch's head is invalid: the history names a commit evaluated after ${short(applied)}, the last applied, and the branch's approvers, policies and guardrails are not known until a valid commit is loaded`,
    });

    // A daemon that never applied a commit has none to check against.
    const fresh = new TestRepo();
    cleanup.add(() => fresh.cleanup());
    const never = invalidHead(fresh);
    const first = await start(fresh, tempDir(), cp);
    await first.daemon.reconcile('drift');
    expect((await first.status()).lastRun).toMatchObject({
      result: 'invalid',
      message: `1 validation error in commit ${short(never)}; nothing applied; drift is not checked while the branch's head is invalid: the daemon knows no commit it applied to check it against`,
    });
  }, 60_000);
});

describe('a head with more errors than /status lists', () => {
  it('lists the first PROBLEMS_LISTED with the total, so concurrent /status answers stay small; `poolsync status` says where the rest are', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const bad = 'a: 1\n---\n'.repeat(3_000);
    repo.commit({ ...manifests(), 'm1.yaml': bad, 'm2.yaml': bad }, 'many bad documents');
    const h = await startOwnTestDaemon({ repo, logLevel: 'silent' });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const bodies = await Promise.all(
      Array.from({ length: 6 }, async () => (await fetch(`${h.daemon.url}/status`)).text()),
    );
    const status = JSON.parse(bodies[0]!) as DaemonStatus;
    expect(status.outcome).toBe('invalid');
    expect(status.errors).toHaveLength(PROBLEMS_LISTED);
    expect(status.errorsTotal).toBeGreaterThanOrEqual(6_000);
    // 6,000 errors listed made ~1.5 MB; the first 1,000 and the rest of the status, ~250 KB.
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThan(400_000);
    const io = memoryIo();
    await main(['status', '--daemon', h.daemon.url], io);
    const more = status.errorsTotal! - PROBLEMS_LISTED;
    expect(io.out()).toContain(
      `Error: and ${more} more errors: \`poolsync validate\` (a plan's errors: \`poolsync plan\`) on the commit lists them all\n`,
    );
    expect(io.out().match(/^Error: /gm)).toHaveLength(PROBLEMS_LISTED + 1);
  }, 120_000);
});
