/**
 * A plan approved at `Enter a value:` is checked again before it acts (a hand-tester's find: `yes`
 * executed the plan as computed, however long the question stayed open). Another client changes
 * the control plane while the question waits; the answer `yes` then sends nothing
 * (docs/apply.md#approval). And the step itself re-reads (C9): a cluster delete refuses queues
 * bound to it that the plan did not show.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { executePlan } from '../../src/apply/executor.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { runCli, servedByCli } from '../support/cli.js';
import { exitOf, terminalIo } from '../support/memory-io.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { until } from '../support/until.js';
import { planAgainst } from './helpers/state.js';

const V1: RepoSpec = { pools: ['p'], clusters: { g1: 'p', g3: 'p' } };
/** Retires g3 (prune): wait for its queue, delete it. */
const V2: RepoSpec = { pools: ['p'], clusters: { g1: 'p' } };

/** The served embedded plane, V1 applied, and a folder of V2. */
async function servedV1() {
  const root = await tempDir();
  const { url } = await servedByCli(['--state', join(root, 'cp.json'), '--simulate']);
  const on = ['--control-plane', url, '--state-dir', join(root, 'state')];
  const v2 = await appliedThenRetired(root, on);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url.replace(/\/$/, '')}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.ok, `${method} ${path}: ${res.status}`).toBe(true);
    return res.status === 204 ? null : ((await res.json()) as Record<string, unknown>);
  };
  /** Another client's queue bound to g3, with work in flight on it. */
  const hot2 = async () => {
    await call('POST', '/v1/queues', {
      name: 'hot2',
      pool: 'p',
      clusters: ['g3'],
      run_concurrency: 0,
      action_concurrency: 0,
    });
    await call('POST', '/v1/sim/queues/hot2/activity', { runs_in_flight: 2, actions_in_flight: 3 });
  };
  return { root, url, on, call, hot2, v2 };
}

/** The repository applied as V1 (--auto-approve), then edited to V2 in the same folder: its folder. */
async function appliedThenRetired(root: string, on: string[]): Promise<string> {
  const repo = join(root, 'repo');
  const v1 = await runCli(['apply', await writeRepo(repo, V1), '--auto-approve', ...on]);
  expect(v1.code, v1.stderr).toBe(0);
  await rm(repo, { recursive: true });
  return writeRepo(repo, V2);
}

/** `apply DIR` at a terminal: `meanwhile` runs once the question is asked, then `yes` is typed. */
async function approvedAfter(argv: string[], meanwhile: () => Promise<void>) {
  const { io, stdin } = terminalIo({ NO_COLOR: '1' });
  const running = exitOf(io, main([...argv, '--no-color'], io));
  await until('the question', () => io.out().includes('Enter a value: '), {
    detail: () => io.out() + io.err(),
    timeoutMs: 10_000,
  });
  await meanwhile();
  stdin.write('yes\r');
  return { code: await running, out: io.out(), err: io.err() };
}

describe('apply DIR: the plan approved at the prompt is checked again before it acts', () => {
  it('a queue bound to the retiring cluster, made with work in flight while the question waited: refused, g3 kept, nothing sent', async () => {
    const s = await servedV1();
    const r = await approvedAfter(['apply', s.v2, ...s.on], s.hot2);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^Error: the control plane changed while the plan waited for an answer: this object differs from the plan: Queue\/hot2 \(made since the plan\) \(live state sha256:\w+, the plan was made against sha256:\w+\)\. Nothing was applied; run `poolsync apply` again to see the new plan\n$/,
    );
    expect(r.out).toContain('- Cluster/g3');
    expect(r.out).not.toContain('Destroying...');
    // Read through the plane's own API: g3 and its co-named queue are there, hot2 as made.
    expect(await s.call('GET', '/v1/clusters/g3')).toMatchObject({ name: 'g3', pool: 'p' });
    expect(await s.call('GET', '/v1/queues/hot2')).toMatchObject({ clusters: ['g3'] });
    expect(await s.call('GET', '/v1/queues/g3')).toMatchObject({ clusters: ['g3'] });
  });

  it('nothing changed while it waited: `yes` applies the plan shown', async () => {
    const s = await servedV1();
    const r = await approvedAfter(['apply', s.v2, ...s.on], async () => {});
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toContain('Apply complete: 0 created, 0 updated, 0 replaced, 1 deleted');
    const clusters = (await s.call('GET', '/v1/clusters'))!.items as { name: string }[];
    expect(clusters.map((c) => c.name)).toEqual(['g1']);
  });

  it('a saved plan refused as stale names what changed', async () => {
    const s = await servedV1();
    const planFile = join(s.root, 'plan.json');
    const saved = await runCli(['plan', s.v2, ...s.on, '--out', planFile]);
    expect(saved.code, saved.stderr).toBe(0);
    await s.hot2();
    const r = await runCli(['apply', planFile, ...s.on]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `stale plan: the control plane changed since ${planFile} was made: this object differs from the plan: Queue/hot2 (made since the plan) (live state`,
    );
    expect(await s.call('GET', '/v1/clusters/g3')).toMatchObject({ name: 'g3' });
  });
});

describe('delete_cluster at the moment it acts (C9)', () => {
  it('a queue bound to the cluster that the plan did not show: the step refuses, nothing deleted', async () => {
    const root = await tempDir();
    const state = join(root, 'cp.json');
    const on = ['--control-plane', `file:${state}`, '--state-dir', join(root, 'state')];
    const plan = await planAgainst(await appliedThenRetired(root, on), state);
    expect(plan.steps.map((s) => `${s.op} ${s.target}`)).toContain('delete_cluster Cluster/g3');
    const cp = await openControlPlane(`file:${state}`, { env: {} });
    try {
      // Made after the plan, idle: wait_idle (the plan's queues) would not hold the delete.
      await cp.queues!.createQueue({
        name: 'late',
        pool: 'p',
        clusters: ['g3'],
        run_concurrency: 0,
        action_concurrency: 0,
        depth: 10000,
        priority: 'medium',
        fairness: 'round_robin',
      });
      const result = await executePlan(plan, cp, { parallelism: 1, waitTimeoutMs: 5_000 });
      const step = result.steps.find((s) => s.target === 'Cluster/g3' && s.op === 'delete_cluster');
      expect(step).toMatchObject({ status: 'failed', error: { code: 'CONFLICT' } });
      expect(step!.error!.message).toBe(
        'Cluster/g3: Queue/late routes to it now and the plan did not show it (changed since the plan, C9: its work would be lost); nothing was deleted. Run `poolsync plan` again',
      );
      const live = await readLiveState(cp);
      expect(live.clusters.map((c) => c.name)).toEqual(['g1', 'g3']);
      expect(live.queues.find((q) => q.name === 'late')?.clusters).toEqual(['g3']);
    } finally {
      await cp.close();
    }
  });
});
