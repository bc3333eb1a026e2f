/**
 * Issue 46, the planner's side of Union's rules (docs/union.md, "Union's rules in the plan";
 * the end-to-end scenarios are test/controlplane/union/rules-table.e2e.test.ts): what a
 * half-done apply leaves is drift (item 1), the smaller items of 7, and a delete a setting of
 * this plan frees (item 4) against a live state as the union backend reads it.
 */
import { whyText, warningText } from '../../src/render/common.js';
import { describe, expect, it } from 'vitest';
import { UNION_CAPABILITIES } from '../../src/controlplane/union/union.js';
import type { Capabilities } from '../../src/model/common.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import { computePlan } from '../../src/plan/index.js';
import { targetPlan } from '../../src/plan/target.js';
import { contract, desired, live } from './build.js';
import { expectWellFormed } from './helpers.js';
import { desiredDefaultQueue } from '../support/builders.js';

const withCaps = (l: LiveState, caps: Capabilities): LiveState => ({ ...l, capabilities: caps });
const change = (plan: ReturnType<typeof computePlan>, address: string) =>
  plan.changes.find((c) => c.address === address);
const ops = (plan: ReturnType<typeof computePlan>) => plan.steps.map((s) => `${s.op} ${s.target}`);
const setting = (project: string, domain: string, queue: string) =>
  desiredDefaultQueue({ project, domain, queue });
const withSettings = (d: DesiredState, ...s: ReturnType<typeof setting>[]): DesiredState => ({
  ...d,
  default_queues: s,
});

describe('no half-done change left behind (item 1)', () => {
  it('a queue left drained is re-activated, moved or not, by a step that completes no change: a stop leaves it as it was', () => {
    const pb = live().pools[0]!.contract;
    const clusters = { c1: {}, c2: { pool: 'pb' } };
    const l = withCaps(live({ pools: { pb }, clusters, queues: { q: {} } }), UNION_CAPABILITIES);
    l.queues = l.queues.map((q) => (q.name === 'q' ? { ...q, state: 'drained' } : q));
    for (const pool of [undefined, 'pb']) {
      const q = pool ? { pool, clusters: ['c2'] } : {};
      const d = desired({ pools: { pb }, clusters, queues: { q } });
      const plan = computePlan(d, l);
      expectWellFormed(plan);
      expect(ops(plan), String(pool)).toContain('activate_queue Queue/q');
      expect(ops(plan).includes('move_queue Queue/q'), String(pool)).toBe(pool === 'pb');
      expect(plan.steps.filter((s) => s.completes_change)).toEqual([]);
    }
  });

  it('issue 73 item 4: the default queue listed absent and left drained is blocked, and nothing is sent for it', () => {
    const l = withCaps(live({ clusters: { c1: {} } }), UNION_CAPABILITIES);
    l.queues = l.queues.map((q) => (q.name === 'default' ? { ...q, state: 'drained' } : q));
    l.default_queue_scopes = [{ queue: 'default' }];
    const d = desired({ clusters: { c1: {} } });
    const plan = computePlan({ ...d, config: { ...d.config, absent: ['Queue/default'] } }, l);
    expect(change(plan, 'Queue/default')).toMatchObject({ action: 'blocked' });
    expect(change(plan, 'Queue/default')?.why?.code).toBe('DEFAULT_QUEUE_ABSENT_UNDELETABLE');
    // Wanted gone: drained is nearer that than active; no activate_queue (main sent one).
    expect(change(plan, 'Queue/default')?.diff).toEqual([]);
    expect(ops(plan)).toEqual([]);
    expectWellFormed(plan);
  });

  it('issue 73 item 4: a declared queue left drained whose change is blocked shows the state asked, and nothing is sent', () => {
    const pb = live().pools[0]!.contract;
    const l = withCaps(live({ pools: { pb }, clusters: { c1: {} }, queues: { q: {} } }), {
      ...UNION_CAPABILITIES,
      queue_move: false,
    });
    l.queues = l.queues.map((q) => (q.name === 'q' ? { ...q, state: 'drained' } : q));
    const d = desired({ pools: { pb }, clusters: { c1: {} }, queues: { q: { pool: 'pb' } } });
    const plan = computePlan(d, l);
    expect(change(plan, 'Queue/q')?.action).toBe('blocked');
    expect(change(plan, 'Queue/q')?.diff).toContainEqual({
      path: 'state',
      before: 'drained',
      after: 'active',
      forces_replacement: false,
    });
    expect(ops(plan)).toEqual([]);
    expectWellFormed(plan);
  });
});

describe('item 4: a delete the plan frees by moving a setting goes in one apply', () => {
  it('the setting moves first, then the queue is drained and deleted', () => {
    const l = withCaps(live({ queues: { old: {}, new: {} } }), UNION_CAPABILITIES);
    l.default_queues = [{ project: 'ml', domain: 'production', queue: 'old' }];
    const d = desired({ queues: { new: {} }, prune: true });
    const plan = computePlan(withSettings(d, setting('ml', 'production', 'new')), l);
    expect(change(plan, 'Queue/old')?.action).toBe('delete');
    const order = ops(plan);
    expect(order.indexOf('set_default_queue DefaultQueue/ml/production')).toBeLessThan(
      order.indexOf('delete_queue Queue/old'),
    );
  });
});

describe('item 7', () => {
  const softNoMove: Capabilities = {
    drain: true,
    queue_delete: true,
    pool_update: false,
    cluster_move: false,
    queue_move: false,
    soft_delete: true,
  };

  it('under soft_delete without queue_move, a pool change is blocked: the create would meet the reserved name', () => {
    const l = withCaps(
      live({ pools: { pb: live().pools[0]!.contract }, queues: { q: {} } }),
      softNoMove,
    );
    const plan = computePlan(
      desired({ pools: { pb: l.pools[0]!.contract }, queues: { q: { pool: 'pb' } } }),
      l,
    );
    expect(change(plan, 'Queue/q')?.why?.code).toBe('QUEUE_POOL_CHANGE_NAME_RESERVED');
    expect(plan.steps).toEqual([]);
  });

  it('a reused cluster name whose orphaned co-named queue a setting names: QUEUE_ROUTES_NOWHERE names the setting', () => {
    const l = withCaps(live({ pools: { pb: live().pools[0]!.contract }, clusters: { c1: {} } }), {
      ...softNoMove,
      soft_delete: false,
      queue_delete: false,
    });
    l.default_queues = [{ project: 'ml', domain: 'production', queue: 'c1' }];
    const d = desired({ pools: { pb: l.pools[0]!.contract }, clusters: { c1: { pool: 'pb' } } });
    const plan = computePlan(withSettings(d, setting('ml', 'production', 'c1')), l);
    const codes = plan.warnings.map((w) => `${w.code} ${w.address}`);
    expect(codes).toContain('CONAMED_QUEUE_ORPHANED Cluster/c1');
    const nowhere = plan.warnings.find((w) => w.code === 'QUEUE_ROUTES_NOWHERE');
    expect(nowhere?.address).toBe('Queue/c1');
    expect(warningText(nowhere!)).toContain('ml/production');
  });

  it('a cluster named like a live queue is blocked with the true reason under soft deletes (the name stays reserved)', () => {
    const l = withCaps(live({ queues: { busy: {} } }), UNION_CAPABILITIES);
    const plan = computePlan(desired({ clusters: { busy: {} } }), l);
    expect(change(plan, 'Cluster/busy')?.why?.code).toBe('CLUSTER_NAME_TAKEN');
    expect(whyText(change(plan, 'Cluster/busy')!)).toBe(
      'the name "busy" is taken by Queue/busy (pool "default"), and clusters and queues share one namespace ' +
        '(N2, remote/_cluster.py:289-291): register the cluster under another name, as even a deleted queue ' +
        'keeps its name reserved (soft delete)',
    );
  });
});

describe('a cluster whose co-named queue a setting names (queue_delete: it goes with the cluster)', () => {
  it('pruned while the setting stays: blocked, nothing sent; repointed by the plan: the setting first', () => {
    const l = withCaps(live({ clusters: { c1: {} }, queues: { other: {} } }), UNION_CAPABILITIES);
    l.default_queues = [{ project: 'ml', domain: 'production', queue: 'c1' }];
    const d = desired({ queues: { other: {} }, prune: true });
    const kept = computePlan(withSettings(d, setting('ml', 'production', 'c1')), l);
    expect(change(kept, 'Cluster/c1')?.why?.code).toBe('CLUSTER_CONAMED_UNDELETABLE');
    expect(kept.steps).toEqual([]);
    const moved = computePlan(withSettings(d, setting('ml', 'production', 'other')), l);
    const order = ops(moved);
    expect(order.indexOf('set_default_queue DefaultQueue/ml/production')).toBeLessThan(
      order.indexOf('delete_cluster Cluster/c1'),
    );
  });
});

describe('unpin_first: a pin whose delete waits for the cluster it pins', () => {
  it('a queue deleted only once a setting names a queue that needs the cluster moved first: the move is blocked, no cycle', () => {
    const pb = live().pools[0]!.contract;
    const l = withCaps(
      live({ pools: { pb }, clusters: { c: {} }, queues: { old: { clusters: ['c'] } } }),
      UNION_CAPABILITIES,
    );
    l.default_queues = [{ project: 'ml', domain: 'production', queue: 'old' }];
    // c moves to pb; `new` (in pb, selecting c) replaces `old` (pinning c) in the setting: old
    // goes only after the setting names new, new exists only after c's move, and Union moves c
    // only once old no longer pins it.
    const d = desired({
      pools: { pb },
      clusters: { c: { pool: 'pb' } },
      queues: { new: { pool: 'pb', clusters: ['c'] }, c: { pool: 'pb', clusters: ['c'] } },
      prune: true,
    });
    const plan = computePlan(withSettings(d, setting('ml', 'production', 'new')), l);
    expectWellFormed(plan);
    expect(change(plan, 'Cluster/c')?.why?.code).toBe('CLUSTER_PINNED');
    expect(change(plan, 'Cluster/c')?.why?.params).toMatchObject({ queues: ['Queue/old'] });
    expect(change(plan, 'Queue/old')?.action).toBe('blocked');
    expect(plan.steps).toEqual([]);
  });
});

describe('issue 58: the plan shows what happens', () => {
  it('an undeclared pool an unmanaged assignment names is kept (A3), not deleted', () => {
    const pa = contract('pa-bucket');
    const l = withCaps(
      live({ pools: { pa }, assignments: [{ project: 'ml', domain: 'production', pool: 'pa' }] }),
      UNION_CAPABILITIES,
    );
    // prune within what poolsync applied: the pool, not the assignment another team made.
    l.inventory = ['ClusterPool/pa'];
    const plan = computePlan(desired({ prune: true }), l);
    expect(change(plan, 'ClusterPool/pa')?.why?.code).toBe('POOL_DELETE_UNMANAGED_ASSIGNMENTS');
    expect(whyText(change(plan, 'ClusterPool/pa')!)).toContain('PoolAssignment/ml/production');
    expect(plan.steps).toEqual([]);
  });

  it('a drained queue replaced in another pool: the new one is active, and the diff says so', () => {
    const pb = contract('pb-bucket');
    const l = withCaps(live({ pools: { pb }, queues: { q: {} } }), {
      ...UNION_CAPABILITIES,
      soft_delete: false,
      queue_move: false,
    });
    l.queues = l.queues.map((q) => (q.name === 'q' ? { ...q, state: 'drained' } : q));
    const plan = computePlan(desired({ pools: { pb }, queues: { q: { pool: 'pb' } } }), l);
    expectWellFormed(plan);
    expect(change(plan, 'Queue/q')?.action).toBe('replace');
    expect(change(plan, 'Queue/q')?.diff).toContainEqual(
      expect.objectContaining({ path: 'state', before: 'drained', after: 'active' }),
    );
  });
});

describe('--target of a queue whose selector loses several clusters (C8)', () => {
  it('keeps the delete of every cluster it loses, not only the one its caused_by names', () => {
    const l = withCaps(
      live({ clusters: { c1: {}, c2: {} }, queues: { q: { clusters: ['c1', 'c2'] } } }),
      {
        ...UNION_CAPABILITIES,
        queue_delete: false,
        unpin_first: false,
      },
    );
    const plan = targetPlan(computePlan(desired({ prune: true }), l), ['Queue/q'], []);
    expectWellFormed(plan);
    expect(change(plan, 'Queue/q')?.diff).toContainEqual(
      expect.objectContaining({ path: 'clusters', before: ['c1', 'c2'], after: [] }),
    );
    expect(ops(plan)).toEqual(
      expect.arrayContaining(['delete_cluster Cluster/c1', 'delete_cluster Cluster/c2']),
    );
  });
});

describe('issue 73 item 1: a queue Union reports DELETING', () => {
  const deleting = (l: LiveState, name: string): LiveState => ({
    ...l,
    queues: l.queues.map((q) => (q.name === name ? { ...q, state: 'deleting' as const } : q)),
  });

  it('declared: blocked QUEUE_DELETING with the state asked, nothing sent', () => {
    const l = deleting(
      withCaps(live({ clusters: { c1: {} }, queues: { q: {} } }), UNION_CAPABILITIES),
      'q',
    );
    const plan = computePlan(desired({ clusters: { c1: {} }, queues: { q: {} } }), l);
    const c = change(plan, 'Queue/q');
    expect(c?.action).toBe('blocked');
    expect(c?.why).toEqual({ code: 'QUEUE_DELETING', params: { name: 'q' } });
    expect(whyText(c!)).toContain('plan again');
    expect(c?.diff).toContainEqual({
      path: 'state',
      before: 'deleting',
      after: 'active',
      forces_replacement: false,
    });
    expect(ops(plan)).toEqual([]);
    expectWellFormed(plan);
  });

  it('pruned: nothing to send (never drain → delete, which Union refuses)', () => {
    const l = deleting(
      withCaps(live({ clusters: { c1: {} }, queues: { q: {}, gone: {} } }), UNION_CAPABILITIES),
      'gone',
    );
    const plan = computePlan(desired({ clusters: { c1: {} }, queues: { q: {} }, prune: true }), l);
    expect(change(plan, 'Queue/gone')?.action ?? 'noop').toBe('noop');
    expect(ops(plan)).toEqual([]);
    expectWellFormed(plan);
  });

  it('not managed (prune off): unmanaged, as any other', () => {
    const l = deleting(
      withCaps(live({ clusters: { c1: {} }, queues: { q: {}, other: {} } }), UNION_CAPABILITIES),
      'other',
    );
    const plan = computePlan(desired({ clusters: { c1: {} }, queues: { q: {} } }), l);
    expect(change(plan, 'Queue/other')?.action).toBe('unmanaged');
    expect(ops(plan)).toEqual([]);
  });
});

describe('issue 73 item 5: --replace Cluster/x in its own pool', () => {
  const d = desired({ clusters: { c1: {} } });

  it('with soft_delete (Union): blocked REPLACE_IN_POOL_NAME_RESERVED, never a move to the same pool', () => {
    const l = withCaps(live({ clusters: { c1: {} } }), UNION_CAPABILITIES);
    const plan = computePlan(d, l, { replace: ['Cluster/c1'] });
    const c = change(plan, 'Cluster/c1');
    expect(c?.action).toBe('blocked');
    expect(c?.why?.code).toBe('REPLACE_IN_POOL_NAME_RESERVED');
    expect(ops(plan)).toEqual([]);
    expectWellFormed(plan);
  });

  it('with cluster_move but no soft_delete: a delete and a registration', () => {
    const l = withCaps(live({ clusters: { c1: {} } }), {
      ...UNION_CAPABILITIES,
      soft_delete: false,
    });
    const plan = computePlan(d, l, { replace: ['Cluster/c1'] });
    expect(change(plan, 'Cluster/c1')?.action).toBe('replace');
    expect(ops(plan)).toContain('register_cluster Cluster/c1');
    expect(ops(plan)).not.toContain('move_cluster Cluster/c1');
    expectWellFormed(plan);
  });
});
