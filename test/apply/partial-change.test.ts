/**
 * A change its apply made in part is named (a hand-tester's find): Queue/batch moved from pool
 * prod to dev (queue_move: drain, wait_drained, move, activate) with work in flight, and the
 * apply stopped during the wait, reported `Applied so far: 0 created, …` and nothing more, an
 * empty `applied` in JSON, while batch stayed drained in prod, taking no new work. Now the
 * report says so and `applied` holds it as `partial` (docs/apply.md#failures); nothing the plan
 * did not show is sent to undo it, and the next apply finishes the move. In process, against
 * an embedded control plane served with --simulate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { renderApplyResult } from '../../src/apply/report.js';
import { parseCapabilities } from '../../src/model/capabilities.js';
import type { Plan } from '../../src/model/plan.js';
import { REPO_ROOT } from '../support/cli.js';
import { interruptedWhen, runInProcess } from '../support/memory-io.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const BEFORE: RepoSpec = {
  pools: ['prod', 'dev'],
  clusters: { 'prod-1': 'prod', 'dev-1': 'dev' },
  queues: { batch: { pool: 'prod', clusters: ['*'] } },
};
const MOVED: RepoSpec = { ...BEFORE, queues: { batch: { pool: 'dev', clusters: ['*'] } } };

const LEFT_DRAINING =
  '  ⚠ Queue/batch was left draining in pool prod (it takes no new work): apply again to finish the move\n';

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(
  JSON.parse(readFileSync(join(REPO_ROOT, 'schemas/apply-result.schema.json'), 'utf8')) as object,
);

/**
 * batch applied in prod, busy unless `idle` (its work never finishes on its own), and the
 * repository moving it to dev.
 */
async function busyQueueMoving(idle = false) {
  const caps = parseCapabilities('drain,queue_move');
  if (!caps.ok) throw new Error(caps.error);
  const { embedded, url } = await servedControlPlane(
    { port: 0, simulate: true },
    { capabilities: caps.capabilities },
  );
  const root = await tempDir();
  const repo = await writeRepo(join(root, 'repo'), BEFORE);
  const on = ['--control-plane', url, '--state-dir', join(root, 'state')];
  const env = { NO_COLOR: '1' };
  expect((await runInProcess(['apply', repo, '--auto-approve', ...on], env)).code).toBe(0);
  if (!idle) await embedded.setQueueActivity('batch', { runs_in_flight: 2, actions_in_flight: 5 });
  await writeRepo(repo, MOVED);
  const batch = async () => (await embedded.listQueues()).find((q) => q.name === 'batch');
  /** Activity gone, the next apply finishes the move: batch active in dev. */
  const finished = async () => {
    await embedded.setQueueActivity('batch', { runs_in_flight: 0, actions_in_flight: 0 });
    const next = await runInProcess(['apply', repo, '--auto-approve', ...on], env);
    expect(next.code).toBe(0);
    expect(await batch()).toMatchObject({ pool: 'dev', state: 'active' });
  };
  /** batch as the served plane answers its own REST API. */
  const served = async () => (await fetch(`${url}/v1/queues/batch`)).json() as Promise<object>;
  return { root, repo, on, env, batch, finished, embedded, served };
}

describe('a change made in part is named in the report', () => {
  it('Ctrl-C while a saved plan waits for batch to drain: the report says batch was left draining in prod; nothing re-activates it; the next apply finishes the move', async () => {
    const { root, repo, on, env, batch, finished } = await busyQueueMoving();
    const saved = join(root, 'plan4.json');
    expect((await runInProcess(['plan', repo, ...on, '--out', saved], env)).code).toBe(0);
    const r = await interruptedWhen('still waiting: queue batch is draining', [
      'apply',
      saved,
      ...on,
    ]);
    expect([r.sent, r.code, r.err]).toEqual([true, 1, '']);
    expect(r.out).toContain('\nApply interrupted: 1 of 4 steps done, 1 failed, 2 not run.\n');
    expect(r.out).toContain(
      '\nApplied so far: 0 created, 0 updated, 0 replaced, 0 deleted; 0 blocked.\n' + LEFT_DRAINING,
    );
    // The plan is a promise: no activation it did not show was sent.
    expect(r.out).not.toContain('Re-activating');
    expect(await batch()).toMatchObject({ pool: 'prod', state: 'draining' });
    await finished();
  });

  it('--output json: `applied` holds batch as partial (of its update), valid against the schema, counted nowhere', async () => {
    const { repo, on, batch, finished } = await busyQueueMoving();
    const r = await interruptedWhen('still waiting: queue batch is draining', [
      'apply',
      repo,
      '--auto-approve',
      '--output',
      'json',
      ...on,
    ]);
    expect([r.sent, r.code]).toEqual([true, 1]);
    const doc = JSON.parse(r.out) as { outcome: string; counts: object; applied: object[] };
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.outcome).toBe('interrupted');
    expect(doc.counts).toMatchObject({ created: 0, updated: 0, replaced: 0, deleted: 0 });
    expect(doc.applied).toEqual([
      { address: 'Queue/batch', action: 'partial', side_effect: false, partial_of: 'update' },
    ]);
    expect(await batch()).toMatchObject({ pool: 'prod', state: 'draining' });
    await finished();
  });

  it('the wait timed out (a failed step, not an interrupt): the same words', async () => {
    const { repo, on, env, batch, finished } = await busyQueueMoving();
    const r = await runInProcess(
      ['apply', repo, '--auto-approve', '--wait-timeout', '1s', ...on],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('\nApply failed: 1 of 4 steps done, 1 failed, 2 not run.\n');
    expect(r.stdout).toMatch(/✗ s2 wait_drained Queue\/batch: WAIT_TIMEOUT \(C9\)/);
    expect(r.stdout).toContain(
      '\nApplied so far: 0 created, 0 updated, 0 replaced, 0 deleted; 0 blocked.\n' + LEFT_DRAINING,
    );
    expect(await batch()).toMatchObject({ pool: 'prod', state: 'draining' });
    await finished();
  });
});

describe('a queue move stopped once moved: its activation completes it (completes_change)', () => {
  it('Ctrl-C while batch moves to dev: once moved it is re-activated all the same, said why; every step ran, so the apply is complete; batch reads back active in dev', async () => {
    const { repo, on, env, served } = await busyQueueMoving(true);
    // Sent from the write of the move's start line: its call is in flight.
    const r = await interruptedWhen('Queue/batch: Moving... [s3]', [
      'apply',
      repo,
      '--auto-approve',
      ...on,
    ]);
    expect([r.sent, r.code, r.err]).toEqual([true, 0, '']);
    expect(r.out).toContain(
      '\nInterrupted: starting no new step; waiting for the running ones to finish...\n' +
        'Queue/batch: Move complete after',
    );
    expect(r.out).toContain(
      '\nQueue/batch: Re-activating... [s4] (re-activating it although the apply is stopping: it was drained for its move, which is done)\n',
    );
    expect(r.out).toContain('\nApply complete: 0 created, 1 updated, 0 replaced, 0 deleted');
    expect(await served()).toMatchObject({ pool: 'dev', state: 'active' });
    const next = await runInProcess(['plan', repo, ...on, '--output', 'json'], env);
    expect((JSON.parse(next.stdout) as Plan).steps).toEqual([]);
  });

  /** The saved plan applied, stopped (and halted, if so) as move_queue completes. */
  async function stoppedOnceMoved(halted: boolean, unmarked = false) {
    const { root, repo, on, env, embedded, served, finished } = await busyQueueMoving(true);
    const saved = join(root, 'plan.json');
    expect((await runInProcess(['plan', repo, ...on, '--out', saved], env)).code).toBe(0);
    const plan = JSON.parse(readFileSync(saved, 'utf8')) as Plan;
    expect(plan.steps.map((st) => [st.op, st.completes_change])).toEqual([
      ['drain_queue', undefined],
      ['wait_drained', undefined],
      ['move_queue', undefined],
      ['activate_queue', true],
    ]);
    // A plan an earlier build saved has no mark.
    const steps = unmarked ? plan.steps.map(({ completes_change: _, ...st }) => st) : plan.steps;
    const stop = new AbortController();
    const halt = new AbortController();
    const result = await executePlan({ ...plan, steps }, embedded, {
      signal: stop.signal,
      halt: halt.signal,
      onEvent: (e) => {
        if (e.type !== 'step_finished' || e.step.op !== 'move_queue') return;
        stop.abort();
        if (halted) halt.abort();
      },
    });
    return { result, plan, served, finished };
  }

  it('stopped in process: the activation runs once the move is done', async () => {
    const { result, served } = await stoppedOnceMoved(false);
    expect(result.steps.map((st) => st.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(result.applied).toEqual([
      { address: 'Queue/batch', action: 'update', side_effect: false },
    ]);
    expect(await served()).toMatchObject({ pool: 'dev', state: 'active' });
  });

  it.each([
    ['halted (the lock or the leadership term lost)', true, false],
    ['a plan saved before the mark, stopped', false, true],
  ])(
    '%s: the activation does not run; batch is left drained in dev, made in part; the next apply activates it',
    async (_, halted, unmarked) => {
      const { result, plan, served, finished } = await stoppedOnceMoved(halted, unmarked);
      expect(result.steps.map((st) => st.status)).toEqual(['done', 'done', 'done', 'not_run']);
      expect(result.applied).toEqual([
        { address: 'Queue/batch', action: 'partial', side_effect: false, partial_of: 'update' },
      ]);
      expect(renderApplyResult(result, plan)).toContain(
        '\n  ⚠ Queue/batch was left drained in pool dev (it takes no new work): apply again to finish the move\n',
      );
      expect(await served()).toMatchObject({ pool: 'dev', state: 'drained' });
      await finished();
    },
  );
});
