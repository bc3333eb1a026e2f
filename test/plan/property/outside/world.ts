/**
 * What the outside-observer property generates (outside.ts): a repository to seed the control
 * plane with, out-of-band edits through the control plane's own API, and the repository under
 * test, within one backend and one capability set; then (issue 73 item 10) edits another client
 * makes between `plan --out` and `apply` (transitional states: a drain left DRAINING by work in
 * flight, a delete left DELETING, soft deletes) and the step boundary the apply is killed at. Everything is indices into small name lists,
 * so fast-check shrinks a counterexample to few, short names.
 */
import fc from 'fast-check';
import { CAPABILITY_NAMES } from '../../../../src/model/capabilities.js';

export type BackendName = 'file' | 'rest' | 'union' | 'flyteadmin';
export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

export const POOLS = ['pa', 'pb'];
export const CLUSTERS = ['c0', 'c1', 'c2'];
export const QUEUES = ['q0', 'q1', 'q2'];
export const PROJECTS = ['ml', 'ops'];
export const DOMAINS = ['development', 'production'];
export const WORKFLOW = 'wf.main';
export const LABELS = ['gpu', 'cpu'];
export const ACCELERATORS = [
  'nvidia_gpu',
  'nvidia_gpu/t4',
  'nvidia_gpu/nvidia-h100',
  'google_tpu/v5e',
];
/** Pool index 0 is `default`, then POOLS. */
export const poolName = (i: number) => ['default', ...POOLS][i % (POOLS.length + 1)]!;

export interface QueueDoc {
  name: number;
  pool: number;
  /** `["*"]`, else the picked members of the pool (indices into its declared clusters). */
  wildcard: boolean;
  pick: number[];
  run: number;
  priority: number;
  fairness: number;
  depth: boolean;
  /** Union only. */
  caps: { accelerators: number[]; cpu: boolean; scheduling: number } | null;
  guard: boolean;
}

export interface RepoSpec {
  prune: boolean;
  /** Kinds prune may delete, beside the inventory (null: the kinds declared). */
  manage: number[] | null;
  /** Which of ABSENT the repository wants gone. */
  absent: number[];
  pools: { name: number; version: number; guard: boolean }[];
  clusters: { name: number; pool: number; enabled: boolean; guard: boolean }[];
  queues: QueueDoc[];
  /** Settings of a declared cluster's co-named queue. */
  conamed: { cluster: number; run: number }[];
  /** The `default` queue's settings. */
  defaultQueue: { run: number } | null;
  assignments: { project: number; domain: number; workflow: boolean; pool: number }[];
  /** DefaultQueue documents: the queue is an index into the declared queues (co-named and default included). */
  settings: { project: number; domain: number; queue: number }[];
  /** flyteadmin's ExecutionClusterLabel rows; domain DOMAINS.length: project-wide (no workflow). */
  labels: { project: number; domain: number; workflow: boolean; label: number }[];
  /** `--target` one of the repository's addresses (an index), or the whole repository. */
  target: number | null;
  /** flyteadmin: `acceptCascade` every delete (rows poolsync does not manage may go along). */
  accept: boolean;
}

export const MANAGE = ['ClusterPool', 'Cluster', 'Queue', 'PoolAssignment', 'DefaultQueue'];
export const ABSENT = ['Queue/default', 'ClusterPool/default'];

/** One call of the control plane's own API, as someone else makes it; a refused call is skipped. */
export type Edit =
  | { op: 'create_pool'; pool: number; version: number }
  | { op: 'update_pool'; pool: number; version: number }
  | { op: 'delete_pool'; pool: number }
  | { op: 'undelete_pool'; pool: number }
  | { op: 'register'; cluster: number; pool: number }
  | { op: 'enable'; cluster: number; enabled: boolean }
  | { op: 'move'; cluster: number; pool: number }
  | { op: 'delete_cluster'; cluster: number }
  | { op: 'undelete_cluster'; cluster: number }
  | {
      op: 'create_queue';
      queue: number;
      pool: number;
      wildcard: boolean;
      pick: number[];
      run: number;
    }
  /** A queue of QUEUE_TARGETS: its settings (and with `pool`, a move). */
  | {
      op: 'update_queue';
      queue: number;
      run: number;
      priority: number;
      fairness: number;
      depth: boolean;
      /** A new selector: the picked members of its pool (or `*`), or the one it has. */
      selector: { wildcard: boolean; pick: number[] } | null;
      /** Another pool (a move), or its own. */
      pool: number | null;
      /** Union: an accelerator cap (an index into ACCELERATORS) and a scheduling policy, or none. */
      caps: { accelerator: number; scheduling: number } | null;
    }
  | { op: 'drain'; queue: number }
  /**
   * Work in flight on a queue, as its clusters report it (`/v1/sim/queues/NAME/activity`, the
   * stand-ins' simulation): a drain then leaves it DRAINING, and Union a delete DELETING
   * (remote/_queue.py:990-996) until the work is done: `done`, which the property sends itself
   * once the apply it cut short waited for it (outside.ts), never generated.
   */
  | { op: 'work'; queue: number; done?: boolean }
  /**
   * A queue put into a transitional state by the calls another client makes (expandEdits):
   * DRAINING (work, drain), DELETING (work, drain, delete: Union; elsewhere the delete is
   * refused while work is in flight) or soft-deleted (drain, delete).
   */
  | { op: 'transition'; queue: number; to: 'draining' | 'deleting' | 'deleted' }
  | { op: 'activate'; queue: number }
  | { op: 'delete_queue'; queue: number }
  | { op: 'undelete_queue'; queue: number }
  | { op: 'assign'; project: number; domain: number; workflow: boolean; pool: number }
  | { op: 'unassign'; project: number; domain: number; workflow: boolean }
  /** run.default_queue at a scope (null: none), with a service account beside it (Union). */
  | {
      op: 'setting';
      scope: 'org' | 'domain' | 'project';
      project: number;
      domain: number;
      queue: number | null;
      account: boolean;
    }
  | { op: 'label'; project: number; domain: number; workflow: boolean; label: number | null }
  /** flyteadmin: a project-wide row (a level poolsync never writes). */
  | { op: 'project_row'; project: number; label: boolean };

/** An edit as the calls another client makes, in order (a transition is several). */
export function expandEdits(edits: readonly Edit[]): Edit[] {
  return edits.flatMap((e): Edit[] => {
    if (e.op !== 'transition') return [e];
    const { queue } = e;
    const work: Edit[] = e.to === 'deleted' ? [] : [{ op: 'work', queue }];
    const drain: Edit = { op: 'drain', queue };
    return e.to === 'draining' ? [...work, drain] : [...work, drain, { op: 'delete_queue', queue }];
  });
}

/** The queues an edit names: the generated ones, the clusters' co-named ones, and `default`. */
export const QUEUE_TARGETS = [...QUEUES, ...CLUSTERS, 'default'];

export interface Case {
  caps: CapabilityName[];
  seed: RepoSpec;
  edits: Edit[];
  repo: RepoSpec;
  /** Edits another client makes after `plan --out`, before `apply FILE` (absent: none). */
  between?: Edit[];
  /**
   * The apply killed at a step boundary: the control plane takes its writes before the `at`-th
   * (1-based) and none from it on; `landed`: the `at`-th reached it, its answer did not come
   * back. Nothing the apply would record after is kept (a kill -9). Absent or null: no kill.
   */
  cut?: { at: number; landed: boolean } | null;
  /**
   * The order the apply takes the steps in: the plan's own (absent), or the latest ready step
   * first, one at a time (the saved plan's steps so renumbered: another order their dependencies
   * allow, as a parallel apply may take).
   */
  order?: 'latest-first';
}

/** What a backend manages, so the generators write what it takes. */
export interface Shape {
  /** The control plane's own kinds: pools, clusters, queues. */
  org: boolean;
  assignments: boolean;
  settings: boolean;
  labels: boolean;
  caps: boolean;
  /** Capability sets to pick from (all subsets of CAPABILITY_NAMES), or the one fixed set. */
  capabilities: CapabilityName[] | null;
  edits: Edit['op'][];
  /** Applies can be killed at a step boundary (a control plane behind HTTP: outside.ts). */
  cuts: boolean;
}

const n = (max: number) => fc.nat(max);
/** True one time in four: a `poolsync/prevent-destroy` annotation. */
const sometimes = fc.constantFrom(false, false, false, true);

function queueArb(shape: Shape): fc.Arbitrary<QueueDoc> {
  return fc.record({
    name: n(QUEUES.length - 1),
    pool: n(POOLS.length),
    wildcard: fc.boolean(),
    pick: fc.array(n(2), { maxLength: 2 }),
    run: n(2),
    priority: n(2),
    fairness: n(1),
    depth: fc.boolean(),
    caps: shape.caps
      ? fc.option(
          fc.record({
            accelerators: fc.uniqueArray(n(ACCELERATORS.length - 1), { maxLength: 2 }),
            cpu: fc.boolean(),
            scheduling: n(1),
          }),
          { freq: 3 },
        )
      : fc.constant(null),
    guard: sometimes,
  });
}

export function repoArb(shape: Shape): fc.Arbitrary<RepoSpec> {
  const org = shape.org;
  const key = { project: n(1), domain: n(1) };
  return fc.record({
    prune: fc.boolean(),
    manage: fc.option(fc.uniqueArray(n(MANAGE.length - 1), { maxLength: 2 }), { freq: 4 }),
    absent: org
      ? fc.oneof(
          { weight: 3, arbitrary: fc.constant<number[]>([]) },
          { weight: 1, arbitrary: fc.uniqueArray(n(1), { minLength: 1, maxLength: 2 }) },
        )
      : fc.constant([]),
    pools:
      org || shape.assignments
        ? fc.uniqueArray(
            fc.record({
              name: n(POOLS.length - 1),
              version: fc.constantFrom(1, 1, 2),
              guard: sometimes,
            }),
            { selector: (p) => p.name, maxLength: 2 },
          )
        : fc.constant([]),
    clusters: org
      ? fc.uniqueArray(
          fc.record({
            name: n(CLUSTERS.length - 1),
            pool: n(POOLS.length),
            enabled: fc.boolean(),
            guard: sometimes,
          }),
          { selector: (c) => c.name, maxLength: 3 },
        )
      : fc.constant([]),
    queues: org
      ? fc.uniqueArray(queueArb(shape), { selector: (q) => q.name, maxLength: 3 })
      : fc.constant([]),
    conamed: org
      ? fc.uniqueArray(fc.record({ cluster: n(CLUSTERS.length - 1), run: n(2) }), {
          selector: (c) => c.cluster,
          maxLength: 2,
        })
      : fc.constant([]),
    defaultQueue: org ? fc.option(fc.record({ run: n(2) })) : fc.constant(null),
    assignments: shape.assignments
      ? fc.uniqueArray(fc.record({ ...key, workflow: fc.boolean(), pool: n(POOLS.length) }), {
          selector: (a) => `${a.project}/${a.domain}/${a.workflow}`,
          maxLength: 3,
        })
      : fc.constant([]),
    settings: shape.settings
      ? fc.uniqueArray(fc.record({ ...key, queue: n(5) }), {
          selector: (s) => `${s.project}/${s.domain}`,
          maxLength: 3,
        })
      : fc.constant([]),
    labels: shape.labels
      ? fc.uniqueArray(
          fc.record({
            project: n(1),
            domain: n(DOMAINS.length),
            workflow: fc.boolean(),
            label: n(LABELS.length - 1),
          }),
          {
            selector: (l) => `${l.project}/${l.domain}/${l.workflow && l.domain < DOMAINS.length}`,
            maxLength: 3,
          },
        )
      : fc.constant([]),
    target: fc.option(n(7), { freq: 5 }),
    accept: shape.labels ? fc.boolean() : fc.constant(false),
  });
}

function editArb(shape: Shape): fc.Arbitrary<Edit> {
  const pool = n(POOLS.length);
  const queue = n(QUEUE_TARGETS.length - 1);
  const cluster = n(CLUSTERS.length - 1);
  const key = { project: n(1), domain: n(1) };
  const all: Record<Edit['op'], fc.Arbitrary<Edit>> = {
    create_pool: fc.record({
      op: fc.constant('create_pool'),
      pool: n(POOLS.length - 1),
      version: fc.constantFrom(1, 2, 3),
    }),
    update_pool: fc.record({
      op: fc.constant('update_pool'),
      pool,
      version: fc.constantFrom(2, 3),
    }),
    delete_pool: fc.record({ op: fc.constant('delete_pool'), pool }),
    undelete_pool: fc.record({ op: fc.constant('undelete_pool'), pool }),
    register: fc.record({ op: fc.constant('register'), cluster, pool }),
    enable: fc.record({ op: fc.constant('enable'), cluster, enabled: fc.boolean() }),
    move: fc.record({ op: fc.constant('move'), cluster, pool }),
    delete_cluster: fc.record({ op: fc.constant('delete_cluster'), cluster }),
    undelete_cluster: fc.record({ op: fc.constant('undelete_cluster'), cluster }),
    create_queue: fc.record({
      op: fc.constant('create_queue'),
      queue: n(QUEUES.length - 1),
      pool,
      wildcard: fc.boolean(),
      pick: fc.array(n(2), { maxLength: 2 }),
      run: n(3),
    }),
    update_queue: fc.record({
      op: fc.constant('update_queue'),
      queue,
      run: n(3),
      priority: n(2),
      fairness: n(1),
      depth: fc.boolean(),
      selector: fc.option<{ wildcard: boolean; pick: number[] }>(
        fc.record({ wildcard: fc.boolean(), pick: fc.array(n(2), { maxLength: 2 }) }),
        {
          freq: 3,
        },
      ),
      pool: fc.option<number>(pool, { freq: 4 }),
      caps: shape.caps
        ? fc.option<{ accelerator: number; scheduling: number }>(
            fc.record({ accelerator: n(ACCELERATORS.length - 1), scheduling: n(1) }),
            {
              freq: 2,
            },
          )
        : fc.constant(null),
    }),
    drain: fc.record({ op: fc.constant('drain'), queue }),
    work: fc.record({ op: fc.constant('work'), queue }),
    transition: fc.record({
      op: fc.constant('transition'),
      queue,
      to: fc.constantFrom('draining' as const, 'deleting' as const, 'deleted' as const),
    }),
    activate: fc.record({ op: fc.constant('activate'), queue }),
    delete_queue: fc.record({ op: fc.constant('delete_queue'), queue }),
    undelete_queue: fc.record({ op: fc.constant('undelete_queue'), queue }),
    assign: fc.record({ op: fc.constant('assign'), ...key, workflow: fc.boolean(), pool }),
    unassign: fc.record({ op: fc.constant('unassign'), ...key, workflow: fc.boolean() }),
    setting: fc.record({
      op: fc.constant('setting'),
      scope: fc.constantFrom(
        'org' as const,
        'domain' as const,
        'project' as const,
        'project' as const,
      ),
      ...key,
      queue: fc.option<number>(queue, { freq: 5 }),
      account: fc.boolean(),
    }),
    project_row: fc.record({ op: fc.constant('project_row'), project: n(1), label: fc.boolean() }),
    label: fc.record({
      op: fc.constant('label'),
      ...key,
      workflow: fc.boolean(),
      label: fc.option<number>(n(LABELS.length - 1), { freq: 4 }),
    }),
  };
  return fc.oneof(...shape.edits.map((op) => all[op]));
}

export function caseArb(shape: Shape): fc.Arbitrary<Case> {
  return fc.record({
    caps: shape.capabilities ? fc.constant(shape.capabilities) : fc.subarray([...CAPABILITY_NAMES]),
    seed: repoArb(shape).map((r) => ({ ...r, target: null })),
    edits: fc.array(editArb(shape), { maxLength: 8 }),
    repo: repoArb(shape),
    // Between plan and apply: mostly none, so the plain property keeps most of the runs; else
    // transitions first (where the backend has them), or any edit.
    between: fc.oneof(
      { weight: 3, arbitrary: fc.constant<Edit[]>([]) },
      ...(shape.edits.includes('transition')
        ? [
            {
              weight: 2,
              arbitrary: fc.array(editArb({ ...shape, edits: ['transition'] }), {
                minLength: 1,
                maxLength: 2,
              }),
            },
          ]
        : []),
      { weight: 1, arbitrary: fc.array(editArb(shape), { minLength: 1, maxLength: 3 }) },
    ),
    cut: shape.cuts
      ? fc.option(fc.record({ at: fc.integer({ min: 1, max: 8 }), landed: fc.boolean() }), {
          freq: 2,
        })
      : fc.constant(null),
    order: fc.constantFrom(undefined, 'latest-first' as const),
  });
}
