/** One table entry (at least) per rule of plan.md; rule ids in the names. */
import { errorText } from '../../src/render/reasons.js';
import { warningText, whyText } from '../../src/render/common.js';
import { describe, expect, it } from 'vitest';
import { QUEUE_DEFAULTS } from '../../src/model/common.js';
import type { Plan } from '../../src/model/plan.js';
import { computePlan } from '../../src/plan/index.js';
import { countPlan } from '../../src/plan/counts.js';
import { contract, desired, live, type DesiredInput, type LiveInput } from './build.js';
import {
  actions,
  argsOf,
  change,
  expectOrder,
  expectWellFormed,
  hasStep,
  step,
  warningCodes,
} from './helpers.js';

interface Case {
  name: string;
  desired: DesiredInput;
  live: LiveInput;
  check: (plan: Plan) => void;
}

const prod = contract('prod');
const gpu = contract('gpu');

const cases: Case[] = [
  {
    name: 'create: pool before cluster before queue; C2 co-named queue predicted; assignment after its pool (rules 1-3, 5)',
    desired: {
      pools: { prod },
      clusters: { a: { pool: 'prod' } },
      queues: { q: { pool: 'prod', clusters: ['a'] } },
      assignments: [{ project: 'p', domain: 'd', pool: 'prod' }],
    },
    live: {},
    check: (plan) => {
      expect(actions(plan)).toEqual({
        'ClusterPool/prod': 'create',
        'Cluster/a': 'create',
        'Queue/a': 'create',
        'Queue/q': 'create',
        'PoolAssignment/p/d': 'create',
      });
      expect(change(plan, 'Queue/a').caused_by).toBe('Cluster/a');
      expect(change(plan, 'Queue/a').after).toMatchObject({
        pool: 'prod',
        clusters: ['a'],
        ...QUEUE_DEFAULTS,
      });
      expect(hasStep(plan, 'create_queue Queue/a')).toBe(false);
      expectOrder(
        plan,
        'create_pool ClusterPool/prod',
        'register_cluster Cluster/a',
        'create_queue Queue/q',
      );
      expectOrder(plan, 'create_pool ClusterPool/prod', 'set_assignment PoolAssignment/p/d');
      expect(step(plan, 'register_cluster Cluster/a').args).toEqual({ name: 'a', pool: 'prod' });
    },
  },
  {
    name: 'C6: enabled differs → update_cluster; data_plane is not sent',
    desired: { clusters: { a: { enabled: false } } },
    live: { clusters: { a: {} } },
    check: (plan) => {
      expect(actions(plan)).toEqual({ 'Cluster/a': 'update' });
      expect(change(plan, 'Cluster/a').diff).toEqual([
        { path: 'enabled', before: true, after: false, forces_replacement: false },
      ]);
      expect(step(plan, 'update_cluster Cluster/a').args).toEqual({ name: 'a', enabled: false });
      // A change of its own, not the end of a registration: a stopping apply does not start it.
      expect(step(plan, 'update_cluster Cluster/a').completes_change).toBeUndefined();
    },
  },
  {
    name: 'C1/C6: a new disabled cluster is registered, then disabled, the disable completing the registration',
    desired: { clusters: { a: { enabled: false } } },
    live: {},
    check: (plan) => {
      expectOrder(plan, 'register_cluster Cluster/a', 'update_cluster Cluster/a');
      expect(step(plan, 'update_cluster Cluster/a').completes_change).toBe(true);
      expect(step(plan, 'register_cluster Cluster/a').completes_change).toBeUndefined();
    },
  },
  {
    name: 'C7: cluster pool differs → replace with forces_replacement, CONAMED_QUEUE_ORPHANED, safe order',
    desired: { pools: { prod, gpu }, clusters: { a: { pool: 'gpu' } } },
    live: { pools: { prod }, clusters: { a: { pool: 'prod' } } },
    check: (plan) => {
      const c = change(plan, 'Cluster/a');
      expect(c.action).toBe('replace');
      expect(c.destructive).toBe(true);
      expect(c.diff).toEqual([
        { path: 'pool', before: 'prod', after: 'gpu', forces_replacement: true },
      ]);
      expect(warningCodes(plan)).toContain('CONAMED_QUEUE_ORPHANED Cluster/a');
      // The co-named queue stays in the old pool with an empty selector (C7, C8).
      const q = change(plan, 'Queue/a');
      expect(q.action).toBe('blocked');
      expect(q.after).toMatchObject({ pool: 'prod', clusters: [] });
      expect(whyText(q)).toMatch(/new cluster name/);
      // Told once, by CONAMED_QUEUE_ORPHANED (one voice): not again as a queue warning.
      expect(warningCodes(plan)).not.toContain('QUEUE_ROUTES_NOWHERE Queue/a');
      expect(q.cause?.code).toBe('CONAMED_LEFT_BEHIND');
      expect(step(plan, 'wait_idle Cluster/a').args).toEqual({
        queues: ['a'],
        cluster: 'a',
        why: { a: 'only_leaving' },
      });
      expectOrder(
        plan,
        'wait_idle Cluster/a',
        'delete_cluster Cluster/a',
        'register_cluster Cluster/a',
      );
      expectOrder(plan, 'create_pool ClusterPool/gpu', 'register_cluster Cluster/a');
    },
  },
  {
    name: 'C7/C9: rename-and-move is delete + create; repoint before wait_idle before delete',
    desired: {
      prune: true,
      pools: { prod, gpu },
      clusters: { b: { pool: 'gpu' }, x: { pool: 'prod' } },
      queues: { q: { pool: 'gpu', clusters: ['b'] }, old: { pool: 'prod', clusters: ['x'] } },
    },
    live: {
      pools: { prod, gpu },
      clusters: { a: { pool: 'prod' }, x: { pool: 'prod' } },
      queues: { q: { pool: 'gpu', clusters: [] }, old: { pool: 'prod', clusters: ['a', 'x'] } },
    },
    check: (plan) => {
      expect(plan.errors).toEqual([]);
      expect(change(plan, 'Cluster/a').action).toBe('delete');
      expect(change(plan, 'Cluster/b').action).toBe('create');
      expectOrder(plan, 'register_cluster Cluster/b', 'update_queue Queue/q');
      // `old` drops a (rule 4) before a's wait and delete; it keeps x, so it is not waited on.
      expect(argsOf(plan, 'update_queue Queue/old').clusters).toEqual(['x']);
      expectOrder(
        plan,
        'update_queue Queue/old',
        'wait_idle Cluster/a',
        'delete_cluster Cluster/a',
      );
      expect(argsOf(plan, 'wait_idle Cluster/a').queues).toEqual(['a']);
      // a's co-named queue is emptied by C8: predicted, with no step of its own.
      expect(change(plan, 'Queue/a')).toMatchObject({
        action: 'update',
        caused_by: 'Cluster/a',
        after: { clusters: [] },
      });
    },
  },
  {
    name: 'C8/C9: wait_idle covers `*` queues of a pool whose every cluster is deleted, and queues routing only to deleted clusters',
    desired: { prune: true, pools: { prod }, queues: { w: { pool: 'prod', clusters: ['*'] } } },
    live: {
      pools: { prod },
      clusters: { a: { pool: 'prod' }, b: { pool: 'prod' } },
      queues: {
        w: { pool: 'prod', clusters: ['*'] },
        both: { pool: 'prod', clusters: ['a', 'b'] },
      },
    },
    check: (plan) => {
      expect(argsOf(plan, 'wait_idle Cluster/a').queues).toEqual(['a', 'both', 'w']);
      expect(argsOf(plan, 'wait_idle Cluster/b').queues).toEqual(['b', 'both', 'w']);
      // Each said why: routing only to clusters the plan takes away, or `*` of a pool it empties.
      expect(argsOf(plan, 'wait_idle Cluster/a').why).toEqual({
        a: 'only_leaving',
        both: 'only_leaving',
        w: 'wildcard',
      });
      // `both` is not in the repository (prune on): C8 empties it, which retires it.
      expect(change(plan, 'Queue/both')).toMatchObject({
        action: 'update',
        after: { clusters: [] },
      });
      expect(warningCodes(plan)).toContain('QUEUE_ROUTES_NOWHERE Queue/both');
    },
  },
  {
    name: 'P4/P5: pool contract change with references → blocked naming them',
    desired: { pools: { prod: contract('prod-v2') }, clusters: { a: { pool: 'prod' } } },
    live: { pools: { prod }, clusters: { a: { pool: 'prod' } } },
    check: (plan) => {
      const c = change(plan, 'ClusterPool/prod');
      expect(c.action).toBe('blocked');
      expect(whyText(c)).toMatch(/P5/);
      expect(whyText(c)).toContain('Cluster/a');
      expect(whyText(c)).toContain('Queue/a');
      expect(c.diff[0]).toMatchObject({
        path: 'contract.object_store_ref.uri',
        forces_replacement: true,
      });
      expect(plan.steps).toEqual([]);
    },
  },
  {
    name: 'P4/A3: pool contract change without references → replace; assignments removed before, set after',
    desired: {
      pools: { prod: contract('prod-v2') },
      assignments: [{ project: 'p', domain: 'd', pool: 'prod' }],
    },
    live: { pools: { prod }, assignments: [{ project: 'p', domain: 'd', pool: 'prod' }] },
    check: (plan) => {
      expect(change(plan, 'ClusterPool/prod').action).toBe('replace');
      expect(change(plan, 'PoolAssignment/p/d')).toMatchObject({
        action: 'replace',
        caused_by: 'ClusterPool/prod',
      });
      expectOrder(
        plan,
        'delete_assignment PoolAssignment/p/d',
        'delete_pool ClusterPool/prod',
        'create_pool ClusterPool/prod',
        'set_assignment PoolAssignment/p/d',
      );
    },
  },
  {
    name: 'P4/A3: a pool replace that would touch an unmanaged assignment is blocked',
    desired: { pools: { prod: contract('prod-v2') } },
    live: { pools: { prod }, assignments: [{ project: 'p', domain: 'd', pool: 'prod' }] },
    check: (plan) => {
      expect(change(plan, 'ClusterPool/prod').action).toBe('blocked');
      expect(whyText(change(plan, 'ClusterPool/prod'))).toContain('PoolAssignment/p/d');
    },
  },
  {
    name: 'P1/P5: the default pool contract can never change',
    desired: { pools: { default: contract('other') } },
    live: {},
    check: (plan) => {
      expect(change(plan, 'ClusterPool/default').action).toBe('blocked');
      expect(whyText(change(plan, 'ClusterPool/default'))).toMatch(/P1/);
    },
  },
  {
    name: 'Q3/Q6: queue pool differs → blocked, suggesting a new queue in the destination pool',
    desired: { pools: { prod, gpu }, queues: { q: { pool: 'gpu' } } },
    live: { pools: { prod, gpu }, queues: { q: { pool: 'prod' } } },
    check: (plan) => {
      const c = change(plan, 'Queue/q');
      expect(c.action).toBe('blocked');
      expect(whyText(c)).toMatch(/new queue.*pool "gpu"/);
      expect(c.diff).toContainEqual({
        path: 'pool',
        before: 'prod',
        after: 'gpu',
        forces_replacement: true,
      });
      expect(plan.steps).toEqual([]);
    },
  },
  {
    name: 'Q6: queue absent with prune → blocked suggesting `clusters: []`; a retired one is left alone',
    desired: { prune: true },
    live: { queues: { busy: { clusters: ['*'] }, retired: { clusters: [] } } },
    check: (plan) => {
      expect(change(plan, 'Queue/busy').action).toBe('blocked');
      expect(whyText(change(plan, 'Queue/busy'))).toContain('clusters: []');
      expect(change(plan, 'Queue/retired').action).toBe('noop');
    },
  },
  {
    name: 'P5 prune: an unreferenced pool is deleted after its assignments; a referenced one is blocked',
    desired: { prune: true },
    live: {
      pools: { empty: contract('empty'), used: contract('used') },
      queues: { q: { pool: 'used', clusters: [] } },
      assignments: [{ project: 'p', domain: 'd', pool: 'empty' }],
    },
    check: (plan) => {
      expect(change(plan, 'ClusterPool/empty').action).toBe('delete');
      expectOrder(plan, 'delete_assignment PoolAssignment/p/d', 'delete_pool ClusterPool/empty');
      expect(change(plan, 'ClusterPool/used').action).toBe('blocked');
      expect(whyText(change(plan, 'ClusterPool/used'))).toContain('Queue/q');
    },
  },
  {
    name: 'prune off: live objects absent from the repo are unmanaged; system objects are not reported',
    desired: { prune: false },
    live: {
      pools: { legacy: contract('legacy') },
      clusters: { old: { pool: 'legacy' } },
      queues: { q: { pool: 'legacy', clusters: ['old'] } },
      assignments: [{ project: 'p', domain: 'd', pool: 'legacy' }],
    },
    check: (plan) => {
      expect(actions(plan)).toEqual({
        'ClusterPool/legacy': 'unmanaged',
        'Cluster/old': 'unmanaged',
        'Queue/q': 'unmanaged',
        'PoolAssignment/p/d': 'unmanaged',
      });
      // ClusterPool/default, Queue/default and the co-named Queue/old follow their owners.
      expect(change(plan, 'ClusterPool/default').action).toBe('noop');
      expect(change(plan, 'Queue/default').action).toBe('noop');
      expect(change(plan, 'Queue/old').action).toBe('noop');
      expect(plan.steps).toEqual([]);
    },
  },
  {
    name: 'prevent-destroy: a replace of an annotated cluster is a plan error with its location',
    desired: {
      pools: { prod, gpu },
      clusters: { a: { pool: 'gpu', annotations: { 'poolsync/prevent-destroy': 'true' } } },
    },
    live: { pools: { prod, gpu }, clusters: { a: { pool: 'prod' } } },
    check: (plan) => {
      expect(plan.errors).toHaveLength(1);
      expect(plan.errors[0]).toMatchObject({
        code: 'PREVENT_DESTROY',
        address: 'Cluster/a',
        location: 'clusters.yaml:1:1',
      });
      expect(errorText(plan.errors[0]!)).toContain('pool: "prod" → "gpu"');
    },
  },
  {
    name: 'prevent-destroy: a replace of an annotated pool is a plan error; "false" does not protect',
    desired: {
      pools: {
        prod: {
          contract: contract('prod-v2'),
          annotations: { 'poolsync/prevent-destroy': 'true' },
        },
        gpu: { contract: contract('gpu-v2'), annotations: { 'poolsync/prevent-destroy': 'false' } },
      },
    },
    live: { pools: { prod, gpu } },
    check: (plan) => expect(plan.errors.map((e) => e.address)).toEqual(['ClusterPool/prod']),
  },
  {
    name: "C8 with prune off: a queue outside the prune scope that names a deleted cluster is changed all the same: a counted side effect, not said retired (it is not poolsync's)",
    desired: { pools: { prod, gpu }, clusters: { a: { pool: 'gpu' } } },
    live: {
      pools: { prod, gpu },
      clusters: { a: { pool: 'prod' } },
      queues: { u: { pool: 'prod', clusters: ['a'] } },
    },
    check: (plan) => {
      const u = change(plan, 'Queue/u');
      expect(u).toMatchObject({
        action: 'update',
        caused_by: 'Cluster/a',
        cause: { code: 'CLUSTER_DELETED' },
        after: { clusters: [] },
      });
      expect(countPlan(plan)).toMatchObject({ replace: 1, side_effects: 1 });
      expect(warningCodes(plan)).toContain('QUEUE_ROUTES_NOWHERE Queue/u');
      expect(argsOf(plan, 'wait_idle Cluster/a').queues).toEqual(['a', 'u']);
    },
  },
  {
    name: 'QUEUE_NO_HEALTHY_CLUSTER: every selected cluster disabled or unhealthy; never-reported clusters do not count',
    desired: {
      clusters: { off: { enabled: false }, sick: {}, fresh: {} },
      queues: { bad: { clusters: ['off', 'sick'] }, ok: { clusters: ['fresh'] } },
    },
    live: {
      clusters: { off: {}, sick: { health: 'unhealthy' } },
      queues: { bad: { clusters: ['off', 'sick'] }, ok: { clusters: [] } },
    },
    check: (plan) => {
      expect(warningCodes(plan)).toEqual(['QUEUE_NO_HEALTHY_CLUSTER Queue/bad']);
      expect(warningText(plan.warnings[0]!)).toMatch(
        /Cluster\/off is disabled.*Cluster\/sick is unhealthy/,
      );
    },
  },
  {
    name: 'QUEUE_ROUTES_NOWHERE: a * queue in a pool no cluster is registered in routes nowhere',
    desired: { pools: { gpu }, queues: { batch: { pool: 'gpu', clusters: ['*'] } } },
    live: {},
    check: (plan) => {
      expect(warningCodes(plan)).toEqual(['QUEUE_ROUTES_NOWHERE Queue/batch']);
      expect(warningText(plan.warnings[0]!)).toMatch(
        /pool "gpu" has no cluster \(register one in it\)/,
      );
    },
  },
  {
    name: 'QUEUE_ROUTES_NOWHERE: a queue the repo retires now is warned once; already retired is quiet',
    desired: { clusters: { a: {} }, queues: { now: { clusters: [] }, before: { clusters: [] } } },
    live: { clusters: { a: {} }, queues: { now: { clusters: ['a'] }, before: { clusters: [] } } },
    check: (plan) => expect(warningCodes(plan)).toEqual(['QUEUE_ROUTES_NOWHERE Queue/now']),
  },
  {
    name: 'C2: a co-named queue without a Queue document is expected at default settings (prune on)',
    desired: { prune: true, clusters: { a: {} } },
    live: {
      clusters: { a: {} },
      queues: { a: { clusters: ['a'], run_concurrency: 7, cluster_managed: true } },
    },
    check: (plan) => {
      expect(change(plan, 'Queue/a').action).toBe('update');
      expect(step(plan, 'update_queue Queue/a').args).toMatchObject({
        clusters: ['a'],
        run_concurrency: 0,
      });
    },
  },
  {
    name: 'C2: with prune off a co-named queue without a document keeps its live settings',
    desired: { prune: false, clusters: { a: {} } },
    live: {
      clusters: { a: {} },
      queues: { a: { clusters: ['a'], run_concurrency: 7, cluster_managed: true } },
    },
    check: (plan) => expect(actions(plan)).toEqual({}),
  },
  {
    name: "C2/Q4: a Queue document for a new cluster's co-named queue updates it after the registration",
    desired: {
      pools: { prod },
      clusters: { a: { pool: 'prod' } },
      queues: { a: { pool: 'prod', clusters: ['a'], run_concurrency: 5 } },
    },
    live: {},
    check: (plan) => {
      expect(change(plan, 'Queue/a')).toMatchObject({ action: 'create', caused_by: 'Cluster/a' });
      expectOrder(plan, 'register_cluster Cluster/a', 'update_queue Queue/a');
    },
  },
  {
    name: 'Q4/C8: a co-named queue of a cluster being deleted is updated (selector unchanged) before the delete',
    desired: { prune: true, queues: { a: { clusters: [], run_concurrency: 3 } } },
    live: { clusters: { a: {} } },
    check: (plan) => {
      expect(argsOf(plan, 'update_queue Queue/a').clusters).toEqual(['a']);
      expectOrder(plan, 'update_queue Queue/a', 'wait_idle Cluster/a', 'delete_cluster Cluster/a');
      expect(change(plan, 'Queue/a').after).toMatchObject({ clusters: [], run_concurrency: 3 });
    },
  },
  {
    name: 'Q5: the default queue settings are editable; its selector is not',
    desired: { queues: { default: { clusters: ['*'], run_concurrency: 99 } } },
    live: {},
    check: (plan) => {
      expect(change(plan, 'Queue/default').action).toBe('update');
      expect(step(plan, 'update_queue Queue/default').args).toMatchObject({
        pool: 'default',
        clusters: ['*'],
        run_concurrency: 99,
      });
    },
  },
  {
    name: 'C3: a missing default queue is predicted back by the first registration',
    desired: { clusters: { a: {} } },
    live: { noDefaultQueue: true },
    check: (plan) => {
      expect(change(plan, 'Queue/default')).toMatchObject({
        action: 'create',
        caused_by: 'Cluster/a',
      });
      expect(hasStep(plan, 'create_queue Queue/default')).toBe(false);
    },
  },
  {
    name: 'C3/Q2: a missing default queue with nothing to register is blocked',
    desired: { queues: { default: { clusters: ['*'] } } },
    live: { noDefaultQueue: true },
    check: (plan) => expect(whyText(change(plan, 'Queue/default'))).toMatch(/C3/),
  },
  {
    name: 'N2: a new cluster whose name a queue holds is blocked, and so is a queue that selects it',
    desired: { clusters: { taken: {} }, queues: { q: { clusters: ['taken'] } } },
    live: { queues: { taken: {}, q: { clusters: [] } } },
    check: (plan) => {
      expect(change(plan, 'Cluster/taken').action).toBe('blocked');
      expect(whyText(change(plan, 'Cluster/taken'))).toMatch(/N2/);
      expect(change(plan, 'Queue/q').action).toBe('blocked');
      expect(plan.steps).toEqual([]);
    },
  },
  {
    name: 'C7 trap: re-registering a deleted name finds its orphaned co-named queue',
    desired: { clusters: { a: {} } },
    live: { queues: { a: { clusters: [], cluster_managed: true } } },
    check: (plan) => {
      expect(change(plan, 'Cluster/a').action).toBe('create');
      expect(warningCodes(plan)).toContain('CONAMED_QUEUE_ORPHANED Cluster/a');
      expect(change(plan, 'Queue/a').action).toBe('blocked');
      expect(whyText(change(plan, 'Queue/a'))).toMatch(/C7/);
    },
  },
  {
    name: 'A1: an assignment that changes pool is set again after the new pool exists',
    desired: {
      pools: { gpu },
      assignments: [{ project: 'p', domain: 'd', workflow: 'wf', pool: 'gpu' }],
    },
    live: { assignments: [{ project: 'p', domain: 'd', workflow: 'wf', pool: 'default' }] },
    check: (plan) => {
      expect(change(plan, 'PoolAssignment/p/d/wf').diff).toEqual([
        { path: 'pool', before: 'default', after: 'gpu', forces_replacement: false },
      ]);
      expectOrder(plan, 'create_pool ClusterPool/gpu', 'set_assignment PoolAssignment/p/d/wf');
    },
  },
  {
    name: 'C7/C8: crossing moves (x: A→B, y: B→A) split the repointing update so the graph has no cycle',
    desired: {
      pools: { pa: contract('pa'), pb: contract('pb') },
      clusters: { x: { pool: 'pb' }, y: { pool: 'pa' } },
      queues: { qa: { pool: 'pa', clusters: ['y'] }, qb: { pool: 'pb', clusters: ['x'] } },
    },
    live: {
      pools: { pa: contract('pa'), pb: contract('pb') },
      clusters: { x: { pool: 'pa' }, y: { pool: 'pb' } },
      queues: { qa: { pool: 'pa', clusters: ['x'] }, qb: { pool: 'pb', clusters: ['y'] } },
    },
    check: (plan) => {
      expect(plan.steps.filter((s) => s.target === 'Queue/qa')).toHaveLength(2);
      expectOrder(plan, 'delete_cluster Cluster/y', 'register_cluster Cluster/y');
    },
  },
];

describe('computePlan rules (plan.md)', () => {
  it.each(cases)('$name', ({ desired: d, live: l, check }) => {
    const plan = computePlan(desired(d), live(l));
    expectWellFormed(plan);
    check(plan);
  });
});

describe('Q6: an undeclared queue with an empty selector', () => {
  // Prune by inventory: `mine` was applied by poolsync; `hand3` and `hand4` were made by hand.
  const plan = (d: DesiredInput) =>
    computePlan(desired(d), {
      ...live({
        queues: {
          mine: { clusters: [] },
          hand3: { clusters: ['g1'] },
          hand4: { clusters: [] },
          gone: { clusters: [], cluster_managed: true },
        },
      }),
      inventory: ['Queue/mine'],
    });

  it.each([true, false])('is retired only when poolsync manages it (prune: %s)', (prune) => {
    const p = plan({ prune });
    expectWellFormed(p);
    expect(change(p, 'Queue/hand4')).toMatchObject({
      action: 'unmanaged',
      why: { code: prune ? 'NOT_IN_INVENTORY' : 'PRUNE_OFF' },
    });
    expect(change(p, 'Queue/hand3').action).toBe('unmanaged');
    // A deleted cluster's co-named queue follows its cluster (Q4): retired with it.
    expect(change(p, 'Queue/gone').action).toBe('noop');
    expect(change(p, 'Queue/mine').action).toBe(prune ? 'noop' : 'unmanaged');
  });
});

describe('computePlan properties', () => {
  const d = desired({
    pools: { prod },
    clusters: { a: { pool: 'prod' } },
    queues: { q: { pool: 'prod' } },
  });
  const l = live({ clusters: { z: {} } });

  it('is deterministic: same inputs, same JSON', () => {
    expect(JSON.stringify(computePlan(d, l))).toBe(
      JSON.stringify(computePlan(structuredClone(d), structuredClone(l))),
    );
  });

  it('sorts changes by kind (pool, cluster, queue, assignment) then name', () => {
    const kinds = ['ClusterPool', 'Cluster', 'Queue', 'PoolAssignment'];
    const keys = computePlan(d, l).changes.map((c) => [kinds.indexOf(c.kind), c.name] as const);
    const sorted = [...keys].sort(
      (a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0),
    );
    expect(keys).toEqual(sorted);
  });

  it('fingerprints: sha256, the commit and content count, source locations and health do not', () => {
    const p = computePlan(d, l);
    expect(p.desired_fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(computePlan(d, l, { commit: 'abc' }).desired_fingerprint).not.toBe(
      p.desired_fingerprint,
    );
    const moved = structuredClone(d);
    moved.clusters[0]!.source = { file: 'elsewhere.yaml', line: 9, column: 3 };
    expect(computePlan(moved, l).desired_fingerprint).toBe(p.desired_fingerprint);
    const edited = structuredClone(d);
    edited.queues[0]!.spec.run_concurrency += 1;
    expect(computePlan(edited, l).desired_fingerprint).not.toBe(p.desired_fingerprint);
    const sick = structuredClone(l);
    sick.clusters[0]!.health = 'unhealthy';
    expect(computePlan(d, sick).live_fingerprint).toBe(p.live_fingerprint);
    const disabled = structuredClone(l);
    disabled.clusters[0]!.enabled = false;
    expect(computePlan(d, disabled).live_fingerprint).not.toBe(p.live_fingerprint);
  });

  it('does not mutate its inputs', () => {
    const dc = structuredClone(d);
    const lc = structuredClone(l);
    computePlan(dc, lc);
    expect(dc).toEqual(d);
    expect(lc).toEqual(l);
  });
});
