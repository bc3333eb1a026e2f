/**
 * Shrunk counterexamples of the plan-equals-apply property (test/plan/plan-equals-apply.test.ts,
 * bench/plan-equals-apply.ts), each kept as a named case once its cause was fixed.
 */
import { describe, expect, it } from 'vitest';
import { runCase, type Backend, type Case } from './property/plan-equals-apply.js';

interface Regression {
  name: string;
  backend: Backend;
  case: Case;
  fixed: string;
}

/** The case on the embedded plane with Union's capabilities and on the Union stand-in. */
const onUnion = (r: Omit<Regression, 'backend'>): Regression[] =>
  (['union-embedded', 'union'] as const).map((backend) => ({ ...r, backend }));

/** A cluster, a queue pinning it, and the setting `ml/production` naming that queue. */
const pinnedBySetting = (cluster: string, queue: string): Case['history'] => [
  { op: 'cluster', name: cluster, pool: 0 },
  { op: 'queue', name: queue, pool: 0, pick: [0], wildcard: false, run: 0 },
  { op: 'setting', key: 'ml/production', queue },
];

/** A declared queue of pool 0 with the first settings the generator gives; `pick`: its clusters. */
const declaredQueue = (name: string, pick: number[] = []): Case['repo']['queues'][number] => ({
  name,
  pool: 0,
  wildcard: false,
  pick,
  run: 0,
  priority: 0,
  fairness: 0,
  caps: null,
});

/** Cluster c1 registered, then deleted (soft on Union: its co-named queue too). */
const C1_DELETED: Case['history'] = [
  { op: 'cluster', name: 'c1', pool: 0 },
  { op: 'delete_cluster', name: 'c1' },
];

/** c1 declared again (disabled) with its co-named queue, which the setting ml/production names. */
const c1DeclaredAgain = (absentDefault: boolean): Case['repo'] => ({
  prune: false,
  pools: [],
  clusters: [{ name: 'c1', pool: 0, enabled: false }],
  queues: [],
  conamed: [{ cluster: 'c1', run: 0 }],
  defaultQueue: null,
  settings: [{ key: 'ml/production', queue: 0 }],
  absentDefault,
});

const REGRESSIONS: Regression[] = [
  ...onUnion({
    name: "a soft-deleted cluster declared again with its co-named queue's settings: the queue's diff starts from what the undelete brings back",
    fixed:
      "src/plan/steps.ts misshownDiff: a change made by another object's step (caused_by) has no form of its start in the plan",
    case: {
      history: C1_DELETED,
      repo: { ...c1DeclaredAgain(false), settings: [], conamed: [{ cluster: 'c1', run: 1 }] },
    },
  }),
  {
    name: 'a pruned active cluster settled by two calls at once on the Union stand-in',
    backend: 'union',
    fixed:
      'standins/union/cluster-service.ts settle(): each DELETING cluster is claimed before it is finished, so the second call no longer fails NOT_FOUND',
    case: {
      history: [{ op: 'cluster', name: 'c0', pool: 0 }],
      repo: {
        prune: true,
        pools: [],
        clusters: [{ name: 'c3', pool: 0, enabled: false }],
        queues: [],
        conamed: [],
        defaultQueue: { run: 1 },
        settings: [],
        absentDefault: false,
      },
    },
  },
  {
    name: 'a setting moved off the default queue that a cluster move drains, onto the moved cluster’s co-named queue',
    backend: 'union-embedded',
    fixed:
      'plan/default-queues.ts: a setting moves off a queue before its delete only, not its drain (Union drains a queue a setting names): the step graph had a cycle',
    case: {
      history: [
        { op: 'cluster', name: 'c1', pool: 0 },
        { op: 'setting', key: 'ml/production', queue: 'default' },
      ],
      repo: {
        prune: false,
        pools: [{ name: 'pa', version: 1 }],
        clusters: [{ name: 'c1', pool: 1, enabled: false }],
        queues: [],
        conamed: [{ cluster: 'c1', run: 1 }],
        defaultQueue: null,
        settings: [{ key: 'ml/production', queue: 0 }],
        absentDefault: false,
      },
    },
  },
  {
    name: 'a soft-deleted queue that pinned a cluster the plan drains, undeleted and unpinned',
    backend: 'union',
    fixed:
      'plan/steps.ts orderPins: an undeleted queue comes back with its old clusters, so its unpinning goes before the drain, and a pin it keeps after it',
    case: {
      history: [
        { op: 'cluster', name: 'c0', pool: 0 },
        { op: 'queue', name: 'q1', pool: 0, pick: [0], wildcard: false, run: 0 },
        { op: 'drain', name: 'q1' },
        { op: 'delete_queue', name: 'q1' },
      ],
      repo: {
        prune: false,
        pools: [],
        clusters: [{ name: 'c0', pool: 0, enabled: false }],
        queues: [declaredQueue('q1')],
        conamed: [],
        defaultQueue: null,
        settings: [],
        absentDefault: false,
      },
    },
  },
  {
    name: 'a cluster drained while a declared queue pins it whose repointing is blocked',
    backend: 'union-embedded',
    fixed:
      'plan/index.ts stuckPins: a pin the cluster pass took as removed, whose queue the queue pass blocked, is kept and the drain planned blocked (CLUSTER_PINNED)',
    case: {
      history: [
        { op: 'cluster', name: 'c0', pool: 0 },
        { op: 'delete_cluster', name: 'c0' },
        { op: 'cluster', name: 'c2', pool: 0 },
        { op: 'queue', name: 'q0', pool: 0, pick: [0], wildcard: false, run: 0 },
      ],
      repo: {
        prune: false,
        pools: [],
        clusters: [
          { name: 'c0', pool: 0, enabled: false },
          { name: 'c2', pool: 0, enabled: false },
        ],
        queues: [declaredQueue('q0', [0])],
        conamed: [],
        defaultQueue: null,
        settings: [],
        absentDefault: false,
      },
    },
  },
  {
    name: 'absent default whose setting the repository moves onto a queue that will not exist',
    backend: 'union-embedded',
    fixed:
      'plan/index.ts keptSettings: a declared setting planned blocked leaves the live one in place, so the default queue it names is not deleted (DEFAULT_QUEUE_ABSENT_UNDELETABLE)',
    case: {
      history: [...C1_DELETED, { op: 'setting', key: 'ml/production', queue: 'default' }],
      repo: c1DeclaredAgain(true),
    },
  },
  ...onUnion({
    name: 'a pruned queue pinning a cluster the plan drains in place, its setting moved to the cluster’s co-named queue: deleted first, then the drain (one apply)',
    fixed:
      'plan/context.ts queueWaitsFor (27 Nov, seed 2711265): the setting’s next queue waits for a cluster only registered or moved into its pool, or pinned anew while disabled, so the deleted queue no longer pins a cluster drained in place (CLUSTER_PINNED, then a second apply)',
    case: {
      history: pinnedBySetting('c3', 'q1'),
      repo: {
        prune: true,
        pools: [],
        clusters: [
          { name: 'c0', pool: 0, enabled: false },
          { name: 'c3', pool: 0, enabled: false },
        ],
        queues: [declaredQueue('q0')],
        conamed: [
          { cluster: 'c0', run: 0 },
          { cluster: 'c3', run: 0 },
        ],
        defaultQueue: null,
        settings: [{ key: 'ml/production', queue: 2 }],
        absentDefault: false,
      },
    },
  }),
  ...[0, 1].flatMap((run) =>
    onUnion({
      name: `a pruned queue pinning a cluster the plan moves, its setting moved to the cluster’s co-named queue (run ${run}), which moves along: the setting, the delete, then the move (one apply)`,
      fixed:
        'plan/context.ts queueWaitsFor, plan/default-queues.ts (27 Nov, seed 2711266): a moved cluster’s co-named queue moves with it and exists throughout, so the setting waits for none of its steps and the deleted queue no longer pins the cluster (CLUSTER_PINNED, then a second apply)',
      case: {
        history: pinnedBySetting('c0', 'q0'),
        repo: {
          prune: true,
          pools: [{ name: 'pa', version: 1 }],
          clusters: [{ name: 'c0', pool: 1, enabled: false }],
          queues: [],
          conamed: [{ cluster: 'c0', run }],
          defaultQueue: null,
          settings: [{ key: 'ml/production', queue: 0 }],
          absentDefault: false,
        },
      },
    }),
  ),
  ...onUnion({
    name: 'a setting naming the co-named queue of a soft-deleted cluster the repository declares again, steps latest first: the setting after the undelete that brings the queue back',
    fixed:
      'plan/queues.ts planConamedUndelete (27 Nov, seed 2711275, the latest-first order): the undeleted co-named queue is created by its cluster’s undelete (createdBy), so the setting waits for it; it was set first and refused (queue "c1" does not exist)',
    case: {
      history: C1_DELETED,
      repo: c1DeclaredAgain(false),
      order: 'latest-first',
    },
  }),
  ...(['embedded', 'union-embedded'] as const).map((backend): Regression => ({
    name: 'a `*` queue narrowed to none while a cluster of its pool is deleted, steps latest first: the delete runs before the update, the queue still routing there as the plan showed',
    backend,
    fixed:
      'apply/steps.ts checkedWrites (29 Nov, seed -786815318): a queue counts as shown routing to the cluster by its before until the step setting its selector is done; counting only its after, the delete was refused (CONFLICT: Queue/q0 routes to it now) whenever the update was not ordered before it',
    case: {
      history: [
        { op: 'cluster', name: 'c3', pool: 0 },
        { op: 'queue', name: 'q0', pool: 0, pick: [], wildcard: true, run: 0 },
        { op: 'cluster', name: 'c0', pool: 0 },
      ],
      repo: {
        prune: true,
        pools: [],
        clusters: [{ name: 'c0', pool: 0, enabled: false }],
        queues: [declaredQueue('q0')],
        conamed: [],
        defaultQueue: null,
        settings: [],
        absentDefault: false,
      },
      order: 'latest-first',
    },
  })),
  ...onUnion({
    name: 'a `*` queue created in a pool whose one cluster the plan deletes: the delete goes ahead, the queue routing nowhere as the plan showed',
    fixed:
      'apply/steps.ts checkedWrites (29 Nov, seed -499550873): a `*` queue is judged by its pool’s clusters at the delete only where the plan keeps one of them; judged by them alone, the delete was refused (CONFLICT: Queue/q0 routes to it now)',
    case: {
      history: [{ op: 'cluster', name: 'c0', pool: 0 }],
      repo: {
        prune: true,
        pools: [],
        clusters: [],
        queues: [{ ...declaredQueue('q0'), wildcard: true }],
        conamed: [],
        defaultQueue: null,
        settings: [],
        absentDefault: false,
      },
    },
  }),
];

describe('plan equals apply: shrunk counterexamples', () => {
  for (const r of REGRESSIONS)
    it(`${r.name} (${r.backend})`, async () => {
      expect((await runCase(r.backend, r.case)).wrong).toEqual([]);
    });
});
