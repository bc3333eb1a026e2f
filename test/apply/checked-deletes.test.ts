/**
 * The deletes checked at the moment they act (C9) share their re-reads: a wave of cluster deletes
 * reads the queues once, each delete from a read begun after it asked. Before, every cluster
 * delete listed every queue and searched the plan's changes: 2,000 deletes of a 10,000-object
 * organisation took 35 s (bench/history.md, 29 Nov).
 */
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkedWrites, freshSharedRead } from '../../src/apply/steps.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { targetPlan } from '../../src/plan/target.js';
import type { Step } from '../../src/model/plan.js';
import { runCli } from '../support/cli.js';
import { runInProcess } from '../support/memory-io.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { planAgainst } from './helpers/state.js';

describe('freshSharedRead', () => {
  /** A read that answers the counter as it was when the read began, when `release` is called. */
  function gated() {
    let value = 0;
    const began: Array<() => void> = [];
    const read = freshSharedRead(
      () =>
        new Promise<number>((resolve) => {
          const seen = value;
          began.push(() => resolve(seen));
        }),
    );
    return { read, began, set: (v: number) => (value = v) };
  }

  it('callers at the same moment share one read', async () => {
    const g = gated();
    const answers = Promise.all([g.read(), g.read(), g.read()]);
    await Promise.resolve();
    expect(g.began).toHaveLength(1);
    g.began[0]!();
    expect(await answers).toEqual([0, 0, 0]);
  });

  it('a caller while a read runs gets one begun after it asked, which sees what changed meanwhile', async () => {
    const g = gated();
    const first = g.read();
    await Promise.resolve();
    g.set(1);
    const second = g.read();
    const third = g.read();
    expect(g.began).toHaveLength(1);
    g.began[0]!();
    expect(await first).toBe(0);
    await Promise.resolve();
    expect(g.began).toHaveLength(2);
    g.began[1]!();
    expect([await second, await third]).toEqual([1, 1]);
  });

  it('a failed read fails its callers only; the next caller reads again', async () => {
    let calls = 0;
    const read = freshSharedRead(async () => {
      calls++;
      if (calls === 1) throw new Error('unreachable');
      return calls;
    });
    await expect(Promise.all([read(), read()])).rejects.toThrow('unreachable');
    expect(await read()).toBe(2);
  });
});

const KEPT = 'g0';
const RETIRED = ['g1', 'g2', 'g3', 'g4', 'g5', 'g6'];

describe('cluster deletes at the moment they act (C9)', () => {
  async function retiring(
    before?: (cp: Awaited<ReturnType<typeof openControlPlane>>) => Promise<void>,
  ) {
    const root = await tempDir();
    const state = join(root, 'cp.json');
    const on = ['--control-plane', `file:${state}`, '--state-dir', join(root, 'state')];
    const all = [KEPT, ...RETIRED];
    const v1: RepoSpec = { pools: ['p'], clusters: Object.fromEntries(all.map((c) => [c, 'p'])) };
    const repo = join(root, 'repo');
    const applied = await runCli(['apply', await writeRepo(repo, v1), '--auto-approve', ...on]);
    expect(applied.code, applied.stderr).toBe(0);
    if (before) {
      const cp = await openControlPlane(`file:${state}`, { env: {} });
      await before(cp).finally(() => cp.close());
    }
    const v2 = await writeRepo(join(root, 'v2'), { pools: ['p'], clusters: { [KEPT]: 'p' } });
    const plan = await planAgainst(v2, state);
    const deletes = plan.steps.filter(
      (s): s is Extract<Step, { op: 'delete_cluster' }> => s.op === 'delete_cluster',
    );
    expect(deletes.map((s) => s.args.name).sort()).toEqual(RETIRED);
    return { state, plan, deletes };
  }

  it('a wave of deletes reads the queues once; a queue made before it refuses only its own cluster', async () => {
    const { state, plan, deletes } = await retiring();
    const cp = await openControlPlane(`file:${state}`, { env: {} });
    try {
      await cp.queues!.createQueue({
        name: 'late',
        pool: 'p',
        clusters: ['g4'],
        run_concurrency: 0,
        action_concurrency: 0,
        depth: 10000,
        priority: 'medium',
        fairness: 'round_robin',
      });
      const list = cp.queues!.listQueues.bind(cp.queues);
      let listings = 0;
      cp.queues!.listQueues = () => (listings++, list());
      const checked = checkedWrites(cp, plan);
      const outcomes = await Promise.allSettled(deletes.map((s) => checked.cluster(s)));
      expect(listings).toBe(1);
      const refused = outcomes.flatMap((o, i) =>
        o.status === 'rejected' ? [[deletes[i]!.args.name, String(o.reason)]] : [],
      );
      expect(refused).toEqual([
        [
          'g4',
          'StepConflictError: Cluster/g4: Queue/late routes to it now and the plan did not show it (changed since the plan, C9: its work would be lost); nothing was deleted. Run `poolsync plan` again',
        ],
      ]);
      const live = (await cp.clusters!.listClusters()).map((c) => c.name).sort();
      expect(live).toEqual([KEPT, 'g4']);
    } finally {
      await cp.close();
    }
  });

  const wildcard = (name: string, clusters: string[]) => ({
    name,
    pool: 'p',
    clusters,
    run_concurrency: 0,
    action_concurrency: 0,
    depth: 10000,
    priority: 'medium' as const,
    fairness: 'round_robin' as const,
  });

  it('a --target delete reads a `*` queue whose own change the partial plan leaves out as seen; one made since the plan is still refused', async () => {
    // `wild` is unmanaged (another client made it before the plan): its change is no noop.
    const { state, plan } = await retiring((cp) =>
      cp.queues!.createQueue(wildcard('wild', ['*'])).then(() => {}),
    );
    expect(plan.changes.find((c) => c.address === 'Queue/wild')?.action).toBe('unmanaged');
    const targeted = targetPlan(plan, ['Cluster/g3'], []);
    const [g3] = targeted.steps.filter((s) => s.op === 'delete_cluster');
    const cp = await openControlPlane(`file:${state}`, { env: {} });
    try {
      await checkedWrites(cp, targeted).cluster(g3 as Extract<Step, { op: 'delete_cluster' }>);
      expect((await cp.clusters!.listClusters()).map((c) => c.name)).not.toContain('g3');
      const g4 = targetPlan(plan, ['Cluster/g4'], []);
      await cp.queues!.createQueue(wildcard('late', ['*']));
      await expect(
        checkedWrites(cp, g4).cluster(
          g4.steps.find((s) => s.op === 'delete_cluster') as Extract<
            Step,
            { op: 'delete_cluster' }
          >,
        ),
      ).rejects.toThrow('Cluster/g4: Queue/late routes to it now and the plan did not show it');
    } finally {
      await cp.close();
    }
  });

  it('a `*` queue of the pool goes on routing to the cluster kept: the deletes go ahead; once another client takes that away, it refuses them', async () => {
    const { state, plan, deletes } = await retiring((cp) =>
      cp.queues!.createQueue(wildcard('wild', ['*'])).then(() => {}),
    );
    const [g3, g4] = ['g3', 'g4'].map((n) => deletes.find((s) => s.args.name === n)!);
    const cp = await openControlPlane(`file:${state}`, { env: {} });
    try {
      await checkedWrites(cp, plan).cluster(g3!);
      // Another client retires the cluster the plan keeps: `wild` now runs on leaving ones only.
      await cp.clusters!.deleteCluster(KEPT);
      await expect(checkedWrites(cp, plan).cluster(g4!)).rejects.toThrow(
        'Cluster/g4: Queue/wild routes to it now and the plan did not show it (changed since the plan, C9',
      );
      expect((await cp.clusters!.listClusters()).map((c) => c.name)).toContain('g4');
    } finally {
      await cp.close();
    }
  });

  it('a queue the plan repoints to `*` in a pool it empties routes nowhere as shown: no delete is refused for it', async () => {
    const root = await tempDir();
    const state = join(root, 'cp.json');
    const on = ['--control-plane', `file:${state}`, '--state-dir', join(root, 'state')];
    // A cluster of another pool stays declared: a repository declaring no cluster prunes none.
    const clusters = { g1: 'p', g2: 'p', k: 'o' };
    const pools = ['p', 'o'];
    const v1: RepoSpec = { pools, clusters, queues: { w: { pool: 'p', clusters: ['g1'] } } };
    const applied = await runCli([
      'apply',
      await writeRepo(join(root, 'v1'), v1),
      '--auto-approve',
      ...on,
    ]);
    expect(applied.code, applied.stderr).toBe(0);
    const v2: RepoSpec = {
      pools,
      clusters: { k: 'o' },
      queues: { w: { pool: 'p', clusters: ['*'] } },
    };
    const plan = await planAgainst(await writeRepo(join(root, 'v2'), v2), state);
    const g2 = plan.steps.find(
      (s): s is Extract<Step, { op: 'delete_cluster' }> =>
        s.op === 'delete_cluster' && s.args.name === 'g2',
    )!;
    const cp = await openControlPlane(`file:${state}`, { env: {} });
    try {
      // The plan's update has run (as the executor may order it before this delete).
      const { name, ...spec } = wildcard('w', ['*']);
      await cp.queues!.updateQueue(name, spec);
      expect(await checkedWrites(cp, plan).cluster(g2)).toBeTruthy();
      expect((await cp.clusters!.listClusters()).map((c) => c.name).sort()).toEqual(['g1', 'k']);
    } finally {
      await cp.close();
    }
  });

  it('a queue the plan left routing there among others, narrowed since to leaving clusters and watched by no wait, refuses it', async () => {
    const spec = { pool: 'p', run_concurrency: 0, action_concurrency: 0, depth: 10000 } as const;
    const both = { ...spec, priority: 'medium', fairness: 'round_robin' } as const;
    const { state, plan, deletes } = await retiring((cp) =>
      cp.queues!.createQueue({ name: 'hand', clusters: [KEPT, 'g4'], ...both }).then(() => {}),
    );
    const cp = await openControlPlane(`file:${state}`, { env: {} });
    try {
      // Another client takes KEPT out: C8 was to leave it on KEPT, its runs now go to g4 only.
      await cp.queues!.updateQueue('hand', { clusters: ['g4'], ...both });
      const g4 = deletes.find((s) => s.args.name === 'g4')!;
      await expect(checkedWrites(cp, plan).cluster(g4)).rejects.toThrow(
        'Cluster/g4: Queue/hand routes to it now and the plan did not show it (changed since the plan, C9',
      );
      expect((await cp.clusters!.listClusters()).map((c) => c.name)).toContain('g4');
    } finally {
      await cp.close();
    }
  });
});

describe('a cluster delete reads the clusters once, however many `*` queues its pool has', () => {
  it('30 `*` queues none of whose available clusters the plan keeps: one GET /v1/clusters between its own read and its DELETE', async () => {
    const calls: string[] = [];
    const mount = {
      handle: async (req: IncomingMessage, _res: unknown, url: URL) => {
        calls.push(`${req.method} ${url.pathname}`);
        return false;
      },
    };
    const plane = await servedControlPlane({ port: 0, mounts: [mount] });
    const root = await tempDir();
    const on = ['--control-plane', plane.url, '--state-dir', join(root, 'state')];
    const queues = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`w${i}`, { pool: 'p', clusters: ['*'] }]),
    );
    // No cluster reports its data plane: every `*` queue's available_clusters is empty.
    const v1: RepoSpec = { pools: ['p'], clusters: { k: 'p', g1: 'p' }, queues };
    const env = { NO_COLOR: '1' };
    const apply = (spec: RepoSpec) =>
      writeRepo(join(root, 'repo'), spec).then((repo) =>
        runInProcess(['apply', repo, '--auto-approve', ...on], env),
      );
    expect((await apply(v1)).code).toBe(0);
    calls.length = 0;
    const r = await apply({ ...v1, clusters: { k: 'p' } });
    expect(r.code, r.stdout).toBe(0);
    const read = calls.lastIndexOf('GET /v1/clusters/g1');
    const deleted = calls.indexOf('DELETE /v1/clusters/g1');
    expect(read).toBeGreaterThan(-1);
    expect(deleted).toBeGreaterThan(read);
    expect(calls.slice(read, deleted).filter((c) => c === 'GET /v1/clusters')).toHaveLength(1);
  });
});
