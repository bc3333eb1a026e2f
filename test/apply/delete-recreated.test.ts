/**
 * A plan is a promise: a delete acts on the object the plan showed, not on a same-named one
 * another client made since (a hand-tester's find, served control plane with --simulate, in
 * process). While the delete of Cluster/g2 (pool gpu) waited for g2's work, another client
 * deleted g2 and registered a new g2 in pool cpu; the apply deleted the new one. The other client
 * acts when the apply first polls g2's metrics (the apply waits for that answer), never after a
 * sleep, and the plane is read through its own REST API.
 */
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { notOursBy } from '../../src/apply/inventory.js';
import { checkedWrites } from '../../src/apply/steps.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { parseCapabilities } from '../../src/model/capabilities.js';
import type { Step } from '../../src/model/plan.js';
import { runInProcess } from '../support/memory-io.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { CONTRACT, makePlan, type StepSpec } from './helpers/plans.js';
import { planAgainst } from './helpers/state.js';

type StepOf<K extends Step['op']> = Extract<Step, { op: K }>;

const env = { NO_COLOR: '1' };
const POOLS: RepoSpec = { pools: ['gpu', 'cpu'], clusters: { g1: 'gpu', c1: 'cpu' } };

/** A served plane whose `actWhen(path, act, nth)` runs `act` once, when the apply GETs `path` the nth time. */
async function served(capabilities: string) {
  const caps = parseCapabilities(capabilities);
  if (!caps.ok) throw new Error(caps.error);
  let act: (() => Promise<void>) | null = null;
  let at = '';
  let gets = 0;
  const mount = {
    handle: async (req: IncomingMessage, _res: unknown, url: URL) => {
      if (req.method === 'GET' && url.pathname === at && act && --gets === 0) {
        const acting = act;
        act = null;
        await acting();
      }
      return false;
    },
  };
  const plane = await servedControlPlane(
    { port: 0, simulate: true, mounts: [mount] },
    { capabilities: caps.capabilities },
  );
  const root = await tempDir();
  const repo = join(root, 'repo');
  const on = ['--control-plane', plane.url, '--state-dir', join(root, 'state')];
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${plane.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.text()) || null };
  };
  return {
    ...plane,
    root,
    repo,
    on,
    call,
    actWhen: (path: string, a: () => Promise<void>, nth = 1) => (
      (at = path),
      (act = a),
      (gets = nth)
    ),
  };
}

/** Applies a saved plan while another client makes `other` calls at `path`; `state list` after. */
async function applyWhile(
  cp: Awaited<ReturnType<typeof served>>,
  path: string,
  other: Array<[string, string, unknown?]>,
  nth = 1,
  flags: string[] = [],
) {
  const saved = join(cp.root, 'p.plan');
  expect((await runInProcess(['plan', cp.repo, ...cp.on, '--out', saved], env)).code).toBe(0);
  const answers: number[] = [];
  const bodies: unknown[] = [];
  cp.actWhen(
    path,
    async () => {
      for (const [method, url, body] of other) {
        const a = await cp.call(method, url, body);
        answers.push(a.status);
        bodies.push(a.body);
      }
    },
    nth,
  );
  const r = await runInProcess(
    ['apply', saved, '--wait-timeout', flags.length ? '20s' : '10m', ...flags, ...cp.on],
    env,
  );
  expect(answers).toHaveLength(other.length);
  expect(
    answers.every((s) => s < 300),
    JSON.stringify(bodies),
  ).toBe(true);
  const list = await runInProcess(['state', 'list', ...cp.on], env);
  return { r, list: list.stdout };
}

describe('an object another client deleted and made again in another pool while its delete waited', () => {
  it('Cluster/g2: the delete fails CONFLICT naming both pools, sends nothing, and the new g2 and its queue survive', async () => {
    const cp = await served('drain,queue_delete');
    await writeRepo(cp.repo, { ...POOLS, clusters: { ...POOLS.clusters, g2: 'gpu' } });
    expect((await runInProcess(['apply', cp.repo, '--auto-approve', ...cp.on], env)).code).toBe(0);
    await writeRepo(cp.repo, POOLS);
    await cp.embedded.setQueueActivity('g2', { runs_in_flight: 1, actions_in_flight: 1 });
    const { r, list } = await applyWhile(cp, '/v1/queues/g2/metrics', [
      ['DELETE', '/v1/clusters/g2'],
      ['POST', '/v1/clusters', { name: 'g2', pool: 'cpu' }],
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /Cluster\/g2: Deletion failed after \S+ \[s2\]: CONFLICT \(C7\): Cluster\/g2 is now in pool cpu; the plan showed it in gpu: changed by another client since the plan \(deleted and made again, or moved\); nothing was deleted\. Run `poolsync plan` again\n/,
    );
    expect(r.stdout).toContain('Applied so far: 0 created, 0 updated, 0 replaced, 0 deleted;');
    const g2 = await cp.call('GET', '/v1/clusters/g2');
    expect([g2.status, JSON.parse(g2.body!)]).toMatchObject([200, { pool: 'cpu', enabled: true }]);
    const queue = await cp.call('GET', '/v1/queues/g2');
    expect([queue.status, JSON.parse(queue.body!)]).toMatchObject([200, { pool: 'cpu' }]);
    // The g2 poolsync owned is gone; the one under its name is the other client's: no longer
    // recorded, so the next plan (prune: true) shows it unmanaged, never a delete.
    expect(list).not.toContain('Cluster/g2');
    const next = await runInProcess(['plan', cp.repo, ...cp.on], env);
    expect(next.code).toBe(0);
    expect(next.stdout).toMatch(/\? Cluster\/g2\s+\(unmanaged\)/);
    expect(next.stdout).not.toMatch(/-\s*Cluster\/g2|delete_cluster/);
  });

  it('Queue/q (queue_delete): made again in cpu and drained by that client, its delete fails CONFLICT and the new q survives', async () => {
    const cp = await served('drain,queue_delete');
    const q = { pool: 'gpu', clusters: ['*'] };
    await writeRepo(cp.repo, { ...POOLS, queues: { q } });
    expect((await runInProcess(['apply', cp.repo, '--auto-approve', ...cp.on], env)).code).toBe(0);
    await writeRepo(cp.repo, POOLS);
    await cp.embedded.setQueueActivity('q', { runs_in_flight: 1, actions_in_flight: 1 });
    const spec = {
      name: 'q',
      pool: 'cpu',
      clusters: ['*'],
      run_concurrency: 10,
      action_concurrency: 100,
    };
    // The first read of q is its drain's check, the second the drain wait's.
    const { r, list } = await applyWhile(
      cp,
      '/v1/queues/q',
      [
        ['POST', '/v1/sim/queues/q/activity', { runs_in_flight: 0, actions_in_flight: 0 }],
        ['DELETE', '/v1/queues/q'],
        ['POST', '/v1/queues', spec],
        ['POST', '/v1/queues/q/drain'],
      ],
      2,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /Queue\/q: Deletion failed after \S+ \[s\d\]: CONFLICT \(Q3\): Queue\/q is now in pool cpu; the plan showed it in gpu: changed by another client since the plan \(deleted and made again, or moved\); nothing was deleted\. Run `poolsync plan` again\n/,
    );
    // Its drain was sent to poolsync's q, gone since: the q now is the other client's.
    expect(r.stdout).toContain(
      '⚠ Queue/q was changed by another client since the plan (deleted and made again, or moved): nothing more was sent to it, and poolsync no longer records it as its own',
    );
    expect(r.stdout).not.toContain('left drained');
    const live = await cp.call('GET', '/v1/queues/q');
    expect([live.status, JSON.parse(live.body!)]).toMatchObject([200, { pool: 'cpu' }]);
    expect(list).not.toContain('Queue/q');
    const next = await runInProcess(['plan', cp.repo, ...cp.on], env);
    expect(next.code).toBe(0);
    expect(next.stdout).toMatch(/\? Queue\/q\s+\(unmanaged\)/);
    expect(next.stdout).not.toMatch(/-\s*Queue\/q|delete_queue/);
  });
});

describe('an object another client made again in another pool before a write of it', () => {
  const repo = (mv: string, run: number): RepoSpec => ({
    pools: ['a', 'b'],
    clusters: { a1: 'a', mv },
    queues: { qu: { pool: 'a', clusters: ['a1'], run_concurrency: run } },
  });
  const theirs = { pool: 'c', clusters: ['c1'], run_concurrency: 7, action_concurrency: 70 };
  /** A served plane with repo('a', 10) applied; `other` makes pool c and its cluster c1 first. */
  async function applied() {
    const cp = await served('drain,queue_delete,cluster_move,queue_move');
    await writeRepo(cp.repo, repo('a', 10));
    expect((await runInProcess(['apply', cp.repo, '--auto-approve', ...cp.on], env)).code).toBe(0);
    const { contract } = JSON.parse((await cp.call('GET', '/v1/pools/a')).body!);
    const other: Array<[string, string, unknown?]> = [
      ['POST', '/v1/pools', { name: 'c', contract }],
      ['POST', '/v1/clusters', { name: 'c1', pool: 'c' }],
    ];
    return { cp, other };
  }
  const refused = (target: string, rule: string, verb: string) =>
    `CONFLICT (${rule}): ${target} is now in pool c; the plan showed it in a: changed by another client since the plan (deleted and made again, or moved); nothing was ${verb}. Run \`poolsync plan\` again\n`;

  it('Cluster/mv: its move (cluster_move) fails CONFLICT (C7) and sends nothing; its drained queue is not re-activated', async () => {
    const { cp, other } = await applied();
    await writeRepo(cp.repo, repo('b', 10));
    await cp.embedded.setQueueActivity('mv', { runs_in_flight: 1, actions_in_flight: 1 });
    // The first read of mv is its drain's check, the second the drain wait's.
    const { r, list } = await applyWhile(
      cp,
      '/v1/queues/mv',
      [
        ...other,
        ['POST', '/v1/sim/queues/mv/activity', { runs_in_flight: 0, actions_in_flight: 0 }],
        ['DELETE', '/v1/clusters/mv'],
        ['POST', '/v1/clusters', { name: 'mv', pool: 'c' }],
        ['POST', '/v1/queues/mv/drain'],
      ],
      2,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `s3 move_cluster Cluster/mv: ${refused('Cluster/mv', 'C7', 'moved')}`,
    );
    expect(r.stdout).toMatch(/s\d activate_queue Queue\/mv: not run/);
    // Its drain went to poolsync's mv, gone since with its cluster: not left drained by poolsync.
    expect(r.stdout).toContain(
      '⚠ Queue/mv was changed by another client since the plan (deleted and made again, or moved): nothing more was sent to it, and poolsync no longer records it as its own',
    );
    expect(JSON.parse((await cp.call('GET', '/v1/clusters/mv')).body!)).toMatchObject({
      pool: 'c',
    });
    expect(JSON.parse((await cp.call('GET', '/v1/queues/mv')).body!)).toMatchObject({
      pool: 'c',
      state: 'drained',
    });
    expect(list).not.toContain('Cluster/mv');
  });

  it('Queue/qu: its update fails CONFLICT (Q3) at the read it makes anyway, and sends nothing', async () => {
    const { cp, other } = await applied();
    await writeRepo(cp.repo, repo('a', 20));
    // The first read of qu is its update's own (read-modify-write): the other client acts first.
    const { r, list } = await applyWhile(cp, '/v1/queues/qu', [
      ...other,
      ['POST', '/v1/queues/qu/drain'],
      ['DELETE', '/v1/queues/qu'],
      ['POST', '/v1/queues', { name: 'qu', ...theirs }],
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`update_queue Queue/qu: ${refused('Queue/qu', 'Q3', 'updated')}`);
    expect(JSON.parse((await cp.call('GET', '/v1/queues/qu')).body!)).toMatchObject(theirs);
    expect(list).not.toContain('Queue/qu');
  });
});

describe('activate_queue and update_pool of an object another client made again', () => {
  async function plane() {
    const caps = parseCapabilities('drain,cluster_move,pool_update');
    if (!caps.ok) throw new Error(caps.error);
    const cp = await EmbeddedControlPlane.open({ path: null, capabilities: caps.capabilities });
    for (const p of ['a', 'b', 'c']) await cp.createPool(p, CONTRACT(p));
    return cp;
  }
  /** A one-step plan whose change of the step's target shows it `before` and `after`. */
  function planOf(spec: StepSpec, before: unknown, after: unknown) {
    const plan = makePlan([spec], {
      [`${spec.op === 'update_pool' ? 'ClusterPool' : 'Queue'}/x`]: 'update',
    });
    Object.assign(plan.changes[0]!, { before, after });
    return { plan, step: plan.steps[0]! as never };
  }

  it('a queue the plan moves from a to b is re-activated in b (after its move), refused in c (Q3)', async () => {
    const cp = await plane();
    try {
      await cp.registerCluster({ name: 'x', pool: 'c' });
      await cp.drainQueue('x');
      const { plan, step } = planOf(
        { id: 's1', op: 'activate_queue', args: { name: 'x' } },
        { pool: 'a' },
        { pool: 'b' },
      );
      await expect(checkedWrites(cp, plan).write(step)).rejects.toMatchObject({
        rule: 'Q3',
        message:
          'Queue/x is now in pool c; the plan showed it in a: changed by another client since the plan (deleted and made again, or moved); nothing was activated. Run `poolsync plan` again',
      });
      expect((await cp.getQueue('x')).state).toBe('drained');
      await cp.moveCluster('x', 'b');
      await expect(checkedWrites(cp, plan).write(step)).resolves.toEqual({ note: null });
      expect((await cp.getQueue('x')).state).toBe('active');
    } finally {
      await cp.close();
    }
  });

  it('a pool whose contract is neither the plan’s before nor after is refused (P4), sent nothing', async () => {
    const cp = await plane();
    try {
      await cp.createPool('x', CONTRACT('theirs'));
      const { plan, step } = planOf(
        { id: 's1', op: 'update_pool', args: { name: 'x', contract: CONTRACT('new') } },
        { contract: CONTRACT('old') },
        { contract: CONTRACT('new') },
      );
      await expect(checkedWrites(cp, plan).write(step)).rejects.toMatchObject({
        rule: 'P4',
        message:
          'ClusterPool/x now has another contract than the plan showed: changed by another client since the plan (deleted and made again, or changed in place); nothing was updated. Run `poolsync plan` again',
      });
      expect((await cp.getPool('x')).contract).toEqual(CONTRACT('theirs'));
      await cp.updatePool('x', CONTRACT('old'));
      await expect(checkedWrites(cp, plan).write(step)).resolves.toEqual({ note: null });
      expect((await cp.getPool('x')).contract).toEqual(CONTRACT('new'));
    } finally {
      await cp.close();
    }
  });
});

describe('what a refused delete leaves recorded', () => {
  it('only the identity conflict drops the address: not the C9 CONFLICT of the same step, nor a rule-citing refusal', () => {
    const failed = (op: Step['op'], target: string, code: string, rule: string | null) => ({
      id: target,
      op,
      target,
      status: 'failed' as const,
      duration_ms: 1,
      error: { code, message: '…', rule },
      note: null,
    });
    const steps = [
      failed('delete_cluster', 'Cluster/g2', 'CONFLICT', 'C7'),
      failed('delete_queue', 'Queue/q', 'CONFLICT', 'Q3'),
      failed('delete_pool', 'ClusterPool/old', 'CONFLICT', 'P4'),
      failed('delete_cluster', 'Cluster/g3', 'CONFLICT', null),
      failed('register_cluster', 'Cluster/g4', 'FAILED_PRECONDITION', 'C7'),
    ];
    expect([...notOursBy({ ok: false, steps })].sort()).toEqual([
      'Cluster/g2',
      'ClusterPool/old',
      'Queue/q',
    ]);
  });
});

describe('a pool another client deleted and made again with another contract since the plan (P2)', () => {
  it('its delete fails CONFLICT and the new pool survives; the plan’s own pool is deleted', async () => {
    const root = await tempDir();
    const state = join(root, 'cp.json');
    const on = ['--control-plane', `file:${state}`, '--state-dir', join(root, 'state')];
    const v1 = await writeRepo(join(root, 'v1'), { ...POOLS, pools: ['gpu', 'cpu', 'old'] });
    expect((await runInProcess(['apply', v1, '--auto-approve', ...on], env)).code).toBe(0);
    const plan = await planAgainst(await writeRepo(join(root, 'v2'), POOLS), state);
    const step = plan.steps.find((s) => s.op === 'delete_pool') as StepOf<'delete_pool'>;
    expect(step.target).toBe('ClusterPool/old');
    const cp = await openControlPlane(`file:${state}`, { env: {} });
    try {
      await expect(checkedWrites(cp, plan).pool(step)).resolves.toEqual({ note: null });
      const { contract } = await cp.pools!.getPool('gpu');
      const theirs = {
        ...contract,
        object_store_ref: { ...contract.object_store_ref, uri: 's3://theirs/data' },
      };
      await cp.pools!.createPool('old', theirs);
      await expect(checkedWrites(cp, plan).pool(step)).rejects.toThrow(
        'ClusterPool/old now has another contract than the plan showed: changed by another client since the plan (deleted and made again, or changed in place); nothing was deleted. Run `poolsync plan` again',
      );
      // P4 marks it in the result: the pool is no longer recorded as poolsync's (notOursBy).
      await expect(checkedWrites(cp, plan).pool(step)).rejects.toMatchObject({ rule: 'P4' });
      expect((await cp.pools!.getPool('old')).contract.object_store_ref).toMatchObject({
        uri: 's3://theirs/data',
      });
    } finally {
      await cp.close();
    }
  });
});
