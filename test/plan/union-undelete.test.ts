/**
 * Soft-deleted pools and clusters declared again (Union's client, flyteplugins-union 0.19.1
 * remote/_cluster.py and _cluster_pool.py; docs/union.md "Soft deletes"): undeleted, never a
 * create that Union refuses; a cluster comes back DRAINED in its old pool with its co-named
 * queue and is activated (moved first when declared elsewhere); blocked, saying why, when its
 * pool stays deleted; prune never deletes what is deleted.
 */
import { changeDocument } from '../../src/render/json.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderText } from '../../src/render/text.js';
import { describe, expect, it } from 'vitest';
import type { Capabilities } from '../../src/model/common.js';
import type { LiveState } from '../../src/model/live.js';
import { computePlan } from '../../src/plan/index.js';
import { contract, desired, live } from './build.js';
import { change, expectOrder, expectWellFormed, step } from './helpers.js';
import { UNION_CAPABILITIES } from '../../src/controlplane/union/union.js';
import { liveQueue } from '../support/builders.js';

const UNION: Capabilities = UNION_CAPABILITIES;

/** p1 with cluster c1 (its co-named queue c1) and queue q1 on c1, all soft-deleted. */
function deletedOrg(caps: Capabilities = UNION): LiveState {
  const all = live({
    pools: { p1: contract('p1') },
    clusters: { c1: { pool: 'p1' } },
    queues: { q1: { pool: 'p1', clusters: ['c1'] } },
  });
  const gone = (n: string) => n === 'p1' || n === 'c1' || n === 'q1';
  return {
    ...all,
    capabilities: caps,
    pools: all.pools.filter((p) => !gone(p.name)),
    clusters: [],
    queues: all.queues.filter((q) => !gone(q.name)),
    deleted_pools: all.pools.filter((p) => gone(p.name)),
    deleted_clusters: all.clusters.map((c) => ({ ...c, enabled: false })),
    deleted_queues: all.queues
      .filter((q) => gone(q.name))
      .map((q) => ({ ...q, state: 'drained' as const })),
  };
}

const labels = (plan: ReturnType<typeof computePlan>) =>
  plan.steps.map((s) => `${s.op} ${s.target}`);

describe('soft-deleted pools and clusters declared again', () => {
  it('all three come back by undelete, in order, and the co-named queue with its cluster', () => {
    const plan = computePlan(
      desired({
        pools: { p1: contract('p1') },
        clusters: { c1: { pool: 'p1' } },
        queues: { q1: { pool: 'p1', clusters: ['c1'] } },
      }),
      deletedOrg(),
    );
    expectWellFormed(plan);
    expect(plan.errors).toEqual([]);
    expect(labels(plan)).not.toContain('create_pool ClusterPool/p1');
    expect(labels(plan)).not.toContain('register_cluster Cluster/c1');
    expect(labels(plan).sort()).toEqual(
      [
        'undelete_pool ClusterPool/p1',
        'undelete_cluster Cluster/c1',
        'update_cluster Cluster/c1',
        'undelete_queue Queue/q1',
        'update_queue Queue/q1',
        'activate_queue Queue/q1',
      ].sort(),
    );
    expect(step(plan, 'update_cluster Cluster/c1').args).toEqual({ name: 'c1', enabled: true });
    // Undeleted drained: left so by a stop, the queue is no worse than deleted, so nothing here
    // completes a change.
    expect(plan.steps.filter((s) => s.completes_change)).toEqual([]);
    expectOrder(
      plan,
      'undelete_pool ClusterPool/p1',
      'undelete_cluster Cluster/c1',
      'update_cluster Cluster/c1',
    );
    expectOrder(plan, 'undelete_cluster Cluster/c1', 'undelete_queue Queue/q1');
    expect(changeDocument(change(plan, 'ClusterPool/p1'))).toMatchObject({
      action: 'create',
      note: expect.stringContaining('undeleted'),
    });
    expect(changeDocument(change(plan, 'Cluster/c1'))).toMatchObject({
      action: 'create',
      note: expect.stringContaining('DRAINED in pool "p1"'),
    });
    // The co-named queue has no step of its own: it comes back and is activated with c1.
    expect(change(plan, 'Queue/c1')).toMatchObject({
      action: 'create',
      caused_by: 'Cluster/c1',
    });
    expect(labels(plan).filter((l) => l.endsWith('Queue/c1'))).toEqual([]);
  });

  it('the text and markdown name every capability the plan JSON has on, soft_delete for an undelete', () => {
    const plan = computePlan(desired({ pools: { p1: contract('p1') } }), deletedOrg());
    expect(labels(plan)).toEqual(['undelete_pool ClusterPool/p1']);
    const all =
      'drain, queue_delete, cluster_move, pool_update, queue_move, soft_delete, default_delete, unpin_first';
    expect(renderText(plan, { color: false })).toContain(
      `Capability steps (the control plane supports ${all}), in order:`,
    );
    expect(renderMarkdown(plan)).toContain(`The control plane supports ${all};`);
  });

  it('a different contract is an undelete then an update in place (pool_update)', () => {
    const plan = computePlan(desired({ pools: { p1: contract('p1-new') } }), deletedOrg());
    expect(labels(plan)).toEqual(['undelete_pool ClusterPool/p1', 'update_pool ClusterPool/p1']);
    expect(change(plan, 'ClusterPool/p1').diff.length).toBeGreaterThan(0);
  });

  it('without pool_update a different contract is blocked with the reason', () => {
    const plan = computePlan(
      desired({ pools: { p1: contract('p1-new') } }),
      deletedOrg({ ...UNION, pool_update: false }),
    );
    expect(plan.steps).toEqual([]);
    expect(changeDocument(change(plan, 'ClusterPool/p1'))).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining('pool_update off'),
    });
  });

  it('what a pool left blocked would hold is blocked with it, never an unknown pool (C1, Q1, A1)', () => {
    const plan = computePlan(
      desired({
        pools: { p1: contract('p1-new') },
        clusters: { c2: { pool: 'p1' } },
        queues: { q2: { pool: 'p1', clusters: ['*'] } },
        assignments: [{ project: 'pr', domain: 'development', pool: 'p1' }],
      }),
      deletedOrg({ ...UNION, pool_update: false }),
    );
    expectWellFormed(plan);
    // Found by bench/property-outside.ts (REST, soft_delete): UNKNOWN_POOL said the repository
    // had no pool p1, and the plan showed c2's registration and its co-named queue as creates.
    expect(plan.errors).toEqual([]);
    expect(plan.steps).toEqual([]);
    for (const address of ['Cluster/c2', 'Queue/q2', 'PoolAssignment/pr/development'])
      expect(changeDocument(change(plan, address))).toMatchObject({
        action: 'blocked',
        reason:
          'its pool ClusterPool/p1 is blocked and will not exist (C1, Q1, A1; see that change)',
      });
    expect(plan.changes.find((c) => c.address === 'Queue/c2')).toBeUndefined();
  });

  it('a cluster whose pool stays deleted is blocked, naming the pool', () => {
    const plan = computePlan(desired({ clusters: { c1: { pool: 'default' } } }), deletedOrg());
    expect(plan.steps).toEqual([]);
    expect(changeDocument(change(plan, 'Cluster/c1'))).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining('declare ClusterPool/p1 so that it is undeleted first'),
    });
  });

  it('declared in another pool: undeleted in its old pool, moved, then activated', () => {
    const plan = computePlan(
      desired({
        pools: { p1: contract('p1'), p2: contract('p2') },
        clusters: { c1: { pool: 'p2' } },
      }),
      deletedOrg(),
    );
    expectWellFormed(plan);
    expectOrder(
      plan,
      'undelete_pool ClusterPool/p1',
      'undelete_cluster Cluster/c1',
      'move_cluster Cluster/c1',
      'update_cluster Cluster/c1',
    );
    expectOrder(plan, 'create_pool ClusterPool/p2', 'move_cluster Cluster/c1');
    expect(step(plan, 'move_cluster Cluster/c1').args).toEqual({ name: 'c1', pool: 'p2' });
  });

  it('without cluster_move, declared in another pool is blocked with the reason', () => {
    const plan = computePlan(
      desired({ pools: { p1: contract('p1') }, clusters: { c1: { pool: 'default' } } }),
      deletedOrg({ ...UNION, cluster_move: false }),
    );
    expect(changeDocument(change(plan, 'Cluster/c1'))).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining('cluster_move off'),
    });
  });

  it('declared disabled: undeleted and left drained (no activation)', () => {
    const plan = computePlan(
      desired({ pools: { p1: contract('p1') }, clusters: { c1: { pool: 'p1', enabled: false } } }),
      deletedOrg(),
    );
    expect(labels(plan)).toEqual(['undelete_pool ClusterPool/p1', 'undelete_cluster Cluster/c1']);
  });

  it('a queue whose pool stays deleted is blocked; prune deletes nothing that is deleted', () => {
    const d = desired({ queues: { q1: { pool: 'p1', clusters: ['c1'] } }, prune: true });
    const plan = computePlan(d, deletedOrg());
    expect(changeDocument(change(plan, 'Queue/q1'))).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining('pool "p1", which no longer exists'),
    });
    const empty = computePlan(desired({ prune: true }), deletedOrg());
    expect(empty.steps).toEqual([]);
    expect(empty.changes.filter((c) => c.action !== 'noop')).toEqual([]);
  });

  it('a cluster Union still reports DELETING is blocked until its deletion finishes', () => {
    const l = deletedOrg();
    l.deleted_clusters = l.deleted_clusters!.map((c) => ({ ...c, deleting: true as const }));
    const plan = computePlan(
      desired({ pools: { p1: contract('p1') }, clusters: { c1: { pool: 'p1' } } }),
      l,
    );
    expect(changeDocument(change(plan, 'Cluster/c1'))).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining('DELETING'),
    });
    expect(labels(plan)).toEqual(['undelete_pool ClusterPool/p1']);
  });

  it("the co-named queue of a cluster Union is deleting is said to be that cluster's, not one poolsync did not apply", () => {
    const l = deletedOrg();
    l.deleted_clusters = l.deleted_clusters!.map((c) => ({ ...c, deleting: true as const }));
    l.queues.push(liveQueue('c1', { pool: 'p1', clusters: ['c1'], cluster_managed: true }));
    l.inventory = ['Cluster/c1'];
    const plan = computePlan(desired({ prune: true, clusters: { c1: { pool: 'p1' } } }), l);
    expect(change(plan, 'Queue/c1')).toMatchObject({
      action: 'unmanaged',
      why: { code: 'CONAMED_OF_DELETING_CLUSTER' },
    });
    expect(renderText(plan, { color: false })).toContain(
      "  ? Queue/c1  (unmanaged)\n      # the co-named queue of Cluster/c1, which Union is deleting (DELETING): the control plane's own (C2), it goes with its cluster, or comes back with its undelete; reported, never touched\n",
    );
  });

  it('manage: [Queue] never deletes the co-named queue of a DELETING cluster, declared or not (C2, Q4)', () => {
    const l = deletedOrg();
    l.deleted_clusters = l.deleted_clusters!.map((c) => ({ ...c, deleting: true as const }));
    l.queues.push(liveQueue('c1', { pool: 'p1', clusters: ['c1'], cluster_managed: true }));
    l.inventory = [];
    for (const clusters of [{}, { c1: { pool: 'p1' } }] as Record<string, { pool: string }>[]) {
      const d = desired({ prune: true, clusters });
      d.config = { ...d.config, manage: ['Queue'] };
      const plan = computePlan(d, l);
      expect(change(plan, 'Queue/c1')).toMatchObject({
        action: 'unmanaged',
        why: { code: 'CONAMED_OF_DELETING_CLUSTER' },
      });
      expect(labels(plan).filter((s) => s.endsWith('Queue/c1'))).toEqual([]);
    }
  });

  it('without soft_delete the deleted lists are not read as reserved names', () => {
    const caps = { ...UNION, soft_delete: false };
    const plan = computePlan(
      desired({ pools: { p1: contract('p1') }, clusters: { c1: { pool: 'p1' } } }),
      deletedOrg(caps),
    );
    expect(labels(plan)).toContain('create_pool ClusterPool/p1');
    expect(labels(plan)).toContain('register_cluster Cluster/c1');
  });
});
