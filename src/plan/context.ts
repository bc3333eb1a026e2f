/**
 * The decisions of the planner's passes, the index every pass reads (PlanIndex), and
 * PlanContext: the index with the decisions computePlan assembled from what the passes returned.
 */
import type { LiveCluster, LiveQueue, LiveAssignment, LivePool, LiveState } from '../model/live.js';
import {
  type PoolContract,
  type ClusterDataPlane,
  type QueueSpec,
  DEFAULT_QUEUE,
  WILDCARD,
  address,
  assignmentKeyString,
  defaultQueueKeyString,
  type Capabilities,
  type ObjectKind,
} from '../model/common.js';
import {
  PREVENT_DESTROY_ANNOTATION,
  type SourceLocation,
  type DesiredAssignment,
  type DesiredCluster,
  type DesiredPool,
  type DesiredQueue,
  type DesiredState,
} from '../model/desired.js';
import type { Change, PruneScope, Reason } from '../model/plan.js';
import type { ExecutionClusterLabel } from '../model/flyte.js';
import { makeChange, diffForms, type Form } from './forms.js';
import { reportedDataPlane } from '../model/capabilities.js';
import {
  ownership,
  prunes,
  scopeWithInventory,
  unmanagedReason,
  type Ownership,
} from './prune-scope.js';
import { sortedUnion } from '../util/sorted.js';

/** Each flag: that step exists (a replace both creates and deletes; `updates`: pool_update). */
export interface PoolDecision {
  change: Change;
  creates?: boolean;
  deletes?: boolean;
  /** Null: the pool is gone once the plan is applied. */
  finalContract: PoolContract | null;
  updates?: boolean;
  /** false: `finalContract` is the control plane's placeholder, known to no one (knownContract). */
  contractKnown?: boolean;
  /** soft_delete: the deleted pool of its name comes back. */
  undeletes?: boolean;
}

export interface ClusterDecision {
  change: Change;
  registers?: boolean;
  /** C8 then applies. */
  deletes?: boolean;
  /** Null when it will not exist once the plan is applied. */
  final: { pool: string; enabled: boolean; health: LiveCluster['health'] } | null;
  /** Capability `cluster_move`: the pool changes in place. */
  moves?: boolean;
  /** soft_delete: the deleted cluster comes back, DRAINED in this pool (then `moves`, if set). */
  undeletes?: { pool: string };
}

export interface QueueDecision {
  change: Change;
  /** Null when nothing is sent (move_queue: capability queue_move). */
  call: { op: 'create_queue' | 'update_queue' | 'move_queue'; spec: QueueSpec } | null;
  /** The cluster whose registration or undelete creates the queue (C2: its co-named queue; C3: `default`). */
  createdBy: string | null;
  /** Null when it will not exist once the plan is applied. */
  final: QueueSpec | null;
  live: LiveQueue | null;
  /** By a Queue document. */
  declared: boolean;
  /** Capability `queue_delete`: delete, or the first half of a replace. */
  deletes?: boolean;
  /** Capability `drain`: left drained, or drained by this plan. */
  activates?: boolean;
  /** Capability `queue_move`: drained, then moved by its call. */
  moves?: boolean;
  /** Capability `soft_delete`. */
  undeletes?: boolean;
}

/** An object set by an upsert (assignment, setting, label): whether its set/delete steps exist. */
interface Upserted {
  change: Change;
  set: boolean;
  /** Deleted: by prune, or (an assignment) around the replacement of its pool (A3). */
  remove: boolean;
}

export interface AssignmentDecision extends Upserted {
  livePool: string | null;
  finalPool: string | null;
}

/** The live clusters that leave their pool: the cluster pass's sets. */
export interface Leaving {
  /** Deleted or replaced: C8 removes them from selectors. */
  readonly deletedClusters: ReadonlySet<string>;
  /** Capability `cluster_move`. */
  readonly movedClusters: ReadonlySet<string>;
}

export function leaves(gone: Leaving, cluster: string): boolean {
  return gone.deletedClusters.has(cluster) || gone.movedClusters.has(cluster);
}

export interface PoolsAndClusters extends Leaving {
  readonly pools: ReadonlyMap<string, PoolDecision>;
  readonly clusters: ReadonlyMap<string, ClusterDecision>;
}

/**
 * A pool's final contract, or null when it will not exist or nobody knows it (marked unknown,
 * on Union). Use this, not `finalContract`, to compare a data plane with it.
 */
export function knownContract(pools: ReadonlyMap<string, PoolDecision>, pool: string) {
  const d = pools.get(pool);
  return d && d.contractKnown !== false ? d.finalContract : null;
}

export function preventsDestroy(obj: { annotations: Record<string, string> } | undefined): boolean {
  return obj?.annotations[PREVENT_DESTROY_ANNOTATION] === 'true';
}

export function locationOf(source: SourceLocation | undefined): string | null {
  return source ? `${source.file}:${source.line}:${source.column}` : null;
}

export interface DefaultQueueDecision extends Upserted {
  /** Null when the setting is deleted. */
  finalQueue: string | null;
}

export interface LabelDecision extends Upserted {
  key: ExecutionClusterLabel;
}

/**
 * The live state indexed by name once: what the passes read of it, and what `apply PLANFILE`
 * reads to make a saved plan's waits again (steps.ts unplannedStep).
 */
export class LiveIndex {
  readonly lPools: ReadonlyMap<string, LivePool>;
  readonly lClusters: ReadonlyMap<string, LiveCluster>;
  readonly lQueues: ReadonlyMap<string, LiveQueue>;
  readonly lAssignments: ReadonlyMap<string, LiveAssignment>;
  /** Live references (P5, A3), by pool name. */
  readonly lClustersByPool: ReadonlyMap<string, readonly string[]>;
  readonly lQueuesByPool: ReadonlyMap<string, readonly string[]>;
  readonly lAssignmentsByPool: ReadonlyMap<string, readonly string[]>;
  /** Live queues whose selector names a cluster explicitly, by cluster (C8). */
  readonly lQueuesByCluster: ReadonlyMap<string, readonly string[]>;
  readonly lWildcardQueuesByPool: ReadonlyMap<string, readonly string[]>;
  /** domain.md, Capabilities. */
  readonly caps: Capabilities;

  constructor(readonly live: LiveState) {
    const name = (o: { name: string }) => o.name;
    this.lPools = indexBy(live.pools, name);
    this.lClusters = indexBy(live.clusters, name);
    this.lQueues = indexBy(live.queues, name);
    this.lAssignments = indexBy(live.assignments, assignmentKeyString);
    // One pass over the live queues, no key array an item: the 100,000-object plan's peak RSS.
    const clustersByPool = new Map<string, string[]>();
    const queuesByPool = new Map<string, string[]>();
    const queuesByCluster = new Map<string, string[]>();
    const wildcardQueuesByPool = new Map<string, string[]>();
    const assignmentsByPool = new Map<string, string[]>();
    // forEach, not for-of: no iterator result (nor [key, value] entry) a live object.
    live.clusters.forEach((c) => push(clustersByPool, c.pool, c.name));
    live.queues.forEach((q) => {
      push(queuesByPool, q.pool, q.name);
      if (isWildcard(q.clusters)) push(wildcardQueuesByPool, q.pool, q.name);
      else q.clusters.forEach((c) => push(queuesByCluster, c, q.name));
    });
    this.lAssignments.forEach((a, key) => push(assignmentsByPool, a.pool, key));
    this.lClustersByPool = clustersByPool;
    this.lQueuesByPool = queuesByPool;
    this.lQueuesByCluster = queuesByCluster;
    this.lWildcardQueuesByPool = wildcardQueuesByPool;
    this.lAssignmentsByPool = assignmentsByPool;
    this.caps = live.capabilities;
  }
}

/**
 * What every pass reads, read-only: both states indexed by name once (so every pass is linear,
 * quality.md) and the facts known before any pass; a pass returns only its own decisions.
 */
export class PlanIndex extends LiveIndex {
  /** Undefined when prune is off. */
  readonly pruneScope: PruneScope | undefined;
  /** This repository's addresses in the inventory (what it applied), or null when none was read or recorded. */
  readonly inventory: ReadonlySet<string> | null;
  /** Who applied the inventory's other addresses (prune-scope.ts). */
  readonly owners: Ownership;
  readonly dPools: ReadonlyMap<string, DesiredPool>;
  readonly dClusters: ReadonlyMap<string, DesiredCluster>;
  /**
   * Built when first asked (capabilities, unpin_first, names out of order): the queue pass walks
   * the sorted lists (queues.ts eachQueueName), so a plan of 100,000 creates never builds this
   * map of ~70,000 names.
   */
  get dQueues(): ReadonlyMap<string, DesiredQueue> {
    return (this.dQueuesMap ??= indexBy(this.desired.queues, (q) => q.name));
  }
  private dQueuesMap: Map<string, DesiredQueue> | undefined = undefined;
  /** Soft-deleted (capability `soft_delete`): their names stay reserved until undeleted. */
  readonly lDeletedQueues: ReadonlyMap<string, LiveQueue>;
  readonly lDeletedPools: ReadonlyMap<string, LivePool>;
  readonly lDeletedClusters: ReadonlyMap<string, LiveCluster>;
  readonly dAssignments: ReadonlyMap<string, DesiredAssignment>;
  /** Deleted outright (queue_delete + drain): known before the pool pass, for P5. */
  readonly deletedQueues: ReadonlySet<string>;
  /** deletedQueues plus the queues replaced in another pool: their live record goes (P5). */
  readonly leavingQueues: ReadonlySet<string>;
  /** Queues a setting names, with its scopes: never deleted (remote/_queue.py:1011-1012). */
  readonly settingQueues: ReadonlyMap<string, readonly string[]>;
  /** poolsync.yaml `absent: [Queue/default]`. */
  readonly absentDefault: boolean;

  constructor(
    readonly desired: DesiredState,
    live: LiveState,
    /** `--replace ADDRESS`: objects to delete and create again though nothing differs. */
    readonly forceReplace: ReadonlySet<string> = new Set(),
    /** DefaultQueue keys whose declared setting is blocked: the live one stays (index.ts). */
    readonly keptSettings: ReadonlySet<string> = new Set(),
    /** The repository planned (index.ts, repositoryOfPlan); null: none named. */
    repository: string | null = null,
  ) {
    super(live);
    this.owners = ownership(live, repository);
    const { own } = this.owners;
    this.pruneScope = scopeWithInventory(desired.config, own, live.forgotten);
    this.inventory = own ? setOf(own) : null;
    const name = (o: { name: string }) => o.name;
    this.dPools = indexBy(desired.pools, name);
    this.dClusters = indexBy(desired.clusters, name);
    this.lDeletedQueues = indexBy(live.deleted_queues, name);
    this.lDeletedPools = indexBy(live.deleted_pools, name);
    this.lDeletedClusters = indexBy(live.deleted_clusters, name);
    this.absentDefault = desired.config.absent?.includes(address('Queue', DEFAULT_QUEUE)) ?? false;
    this.dAssignments = indexBy(desired.assignments, assignmentKeyString);
    this.settingQueues = this.finalSettings();
    const { deleted, leaving } = this.leavingLiveQueues();
    this.deletedQueues = deleted;
    this.leavingQueues = leaving;
  }

  /**
   * The settings as the plan leaves them, by the queue they name, broadest scope first: the
   * organisation's and domains' as they are (never written), a project/domain's as declared, else
   * as it is unless pruned.
   */
  private finalSettings(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const s of this.live.default_queue_scopes ?? []) {
      if (s.unreadable) continue;
      const scope =
        s.project !== undefined
          ? `${s.project}/${s.domain ?? ''} (an archived project)`
          : s.domain === undefined
            ? 'the organisation'
            : `domain ${s.domain}`;
      push(out, s.queue, scope);
    }
    const declared = new Map(
      (this.desired.default_queues ?? [])
        .map((d) => [defaultQueueKeyString(d), d] as const)
        .filter(([key]) => !this.keptSettings.has(key)),
    );
    for (const s of this.live.default_queues ?? []) {
      const key = defaultQueueKeyString(s);
      if (this.keptSettings.has(key) || (!declared.has(key) && !this.prunes('DefaultQueue', key)))
        push(out, s.queue, key);
    }
    for (const [key, d] of declared) push(out, d.queue, `${key} (declared in this repository)`);
    return out;
  }

  private leavingLiveQueues(): { deleted: Set<string>; leaving: Set<string> } {
    const deleted = new Set<string>();
    const leaving = new Set<string>();
    if (!((this.caps.queue_delete || this.caps.queue_move) && this.caps.drain))
      return { deleted, leaving };
    const unreadable = this.unreadableSettings().length;
    // forEach, not for-of: no iterator result a live queue.
    this.live.queues.forEach((q) => {
      // Being deleted already (Union's DELETING): nothing this plan sends (issue 73 item 1).
      if (q.state === 'deleting' || !this.drainable(q.name)) return;
      const deletable = this.undeletableSettings(q.name) === null && unreadable === 0;
      if (q.name === DEFAULT_QUEUE) {
        // Only when the repository says so (absent), and the control plane allows it.
        if (this.absentDefault && this.caps.queue_delete && deletable) deleted.add(q.name);
        return;
      }
      const d = this.dQueues.get(q.name);
      // Moved (queue_move) or replaced (not with soft deletes: the name stays reserved).
      const replaced = deletable && !this.caps.soft_delete && this.caps.queue_delete;
      if (d && !q.cluster_managed && d.spec.pool !== q.pool && (this.caps.queue_move || replaced))
        leaving.add(q.name);
      if (d || !deletable || !this.prunes('Queue', q.name) || !this.caps.queue_delete) return;
      // A co-named queue follows its cluster (Q4), goes with its delete (conamedCascades), or
      // with the delete Union is finishing (C2): never deleted on its own, whatever `manage:`.
      if (
        q.cluster_managed &&
        (this.dClusters.has(q.name) ||
          this.conamedCascades(q.name) ||
          this.conamedOfDeleting(q.name))
      )
        return;
      deleted.add(q.name);
    });
    for (const q of deleted) leaving.add(q);
    return { deleted, leaving };
  }

  /**
   * unpin_first (Union: remote/_cluster.py:330-331, 363-365, 450-451): the live queues still
   * pinning `cluster` when its drain, move or delete runs: all naming it but those deleted or
   * repointed first (steps.ts orderPins) and not `stuck`.
   */
  pinsLeft(cluster: string, stuck: ReadonlySet<string> = new Set()): string[] {
    if (!this.caps.unpin_first) return [];
    return (this.lQueuesByCluster.get(cluster) ?? []).filter((q) => {
      if (q === cluster) return false;
      if (this.deletedQueues.has(q)) return this.deleteWaitsFor(q, cluster);
      const d = this.dQueues.get(q);
      return d === undefined || stuck.has(q) || d.spec.clusters.includes(cluster);
    });
  }

  /**
   * A deleted queue goes only once the settings naming it name another queue
   * (remote/_queue.py:1011-1012); when that one waits for `cluster`'s step, which waits for this
   * queue's unpinning, the delete cannot come first, so it still pins.
   */
  private deleteWaitsFor(queue: string, cluster: string): boolean {
    const declared = new Map(
      (this.desired.default_queues ?? []).map((d) => [defaultQueueKeyString(d), d.queue]),
    );
    return (this.live.default_queues ?? []).some((s) => {
      const next = s.queue === queue ? declared.get(defaultQueueKeyString(s)) : undefined;
      return next !== undefined && this.queueWaitsFor(next, cluster);
    });
  }

  /**
   * The declared queue's call comes after `cluster`'s step (steps.ts orderQueueCalls, orderPins):
   * it selects the cluster, which this plan registers or moves into its pool, or which it pins
   * anew while the plan disables it. A cluster only drained in place keeps a live queue waiting
   * for nothing.
   */
  private queueWaitsFor(queue: string, cluster: string): boolean {
    const spec = this.dQueues.get(queue)?.spec;
    if (!spec?.clusters.includes(cluster)) return false;
    if (this.forceReplace.has(address('Cluster', cluster))) return true;
    const live = this.lQueues.get(queue);
    const livePool = this.lClusters.get(cluster)?.pool;
    if (livePool !== spec.pool) {
      // cluster_move: a moved cluster's co-named queue moves with it (queues.ts liveView) and
      // takes the setting as it is (default-queues.ts).
      return !(
        this.caps.cluster_move &&
        livePool !== undefined &&
        queue === cluster &&
        live?.cluster_managed
      );
    }
    const pinned = live?.clusters.includes(cluster) ?? false;
    return !pinned && this.dClusters.get(cluster)?.enabled === false;
  }

  /** poolsync.yaml `absent:` lists this system object. */
  absent(addr: string): boolean {
    return this.desired.config.absent?.includes(addr) ?? false;
  }

  /** This undeclared live object is deleted (prune on, in scope). */
  prunes(kind: ObjectKind, name: string): boolean {
    return prunes(this.pruneScope, this.inventory, kind, name, this.owners);
  }

  /** Why this undeclared live object is left alone. */
  unmanagedWhy(kind: ObjectKind, name: string): Reason {
    return unmanagedReason(this.pruneScope, kind, name, this.owners, this.live.made_again);
  }

  unmanagedChange(kind: ObjectKind, name: string, before: Form | null): Change {
    return makeChange(kind, name, 'unmanaged', before, before, [], {
      why: this.unmanagedWhy(kind, name),
    });
  }

  undeclaredChange(kind: ObjectKind, name: string, before: Form | null): Change {
    return this.prunes(kind, name)
      ? makeChange(kind, name, 'delete', before, null, diffForms(before, null))
      : this.unmanagedChange(kind, name, before);
  }

  /** Any live queue can be drained (remote/_queue.py:934-939) but `default` without default_delete (Q5). */
  drainable(queue: string): boolean {
    return queue !== DEFAULT_QUEUE || this.caps.default_delete === true;
  }

  /**
   * Why a queue cannot be deleted: [] for "default" (Q5), else the scopes whose
   * run.default_queue names it (remote/_queue.py:1011-1012; a drain is allowed, :934-937).
   */
  undeletableSettings(queue: string): string[] | null {
    if (!this.drainable(queue)) return [];
    const settings = this.settingQueues.get(queue);
    return settings ? [...settings] : null;
  }

  /**
   * The settings levels Union would not show (issue 73 item 7): while one is unreadable, any
   * queue might be its default, so none is deleted. Empty nearly always.
   */
  unreadableSettings(): string[] {
    const out: string[] = [];
    for (const s of this.live.default_queue_scopes ?? [])
      if (s.unreadable) out.push(s.project ? `${s.project}/${s.domain ?? ''}` : (s.domain ?? ''));
    return out;
  }

  /** A live co-named queue whose cluster Union lists as DELETING (CONAMED_OF_DELETING_CLUSTER). */
  conamedOfDeleting(queue: string): boolean {
    return (
      this.lQueues.get(queue)?.cluster_managed === true &&
      this.lDeletedClusters.get(queue)?.deleting === true
    );
  }

  /** With `queue_delete`, a live cluster's delete takes its live co-named queue along. */
  conamedCascades(queue: string): boolean {
    const l = this.lQueues.get(queue);
    return this.caps.queue_delete && l?.cluster_managed === true && this.lClusters.has(l.name);
  }

  /** C5: what the live cluster reported, or null when nothing was (or nothing can be rebuilt). */
  reported(cluster: string): ClusterDataPlane | null {
    const l = this.lClusters.get(cluster);
    const pool = l && this.lPools.get(l.pool);
    // Drift is relative to the live contract: an unknown one rebuilds nothing.
    return pool && pool.contract_known !== false ? reportedDataPlane(pool.contract, l) : null;
  }

  static union(a: Iterable<string>, b: Iterable<string>): string[] {
    return sortedUnion([...a], [...b]);
  }
}

export function isWildcard(selector: readonly string[]): boolean {
  return selector.length === 1 && selector[0] === WILDCARD;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The planner's order of kinds (index.ts computePlan): changes sort by kind, then name. */
export const KIND_ORDER: Readonly<Record<string, number>> = {
  ClusterPool: 0,
  Cluster: 1,
  Queue: 2,
  PoolAssignment: 3,
  DefaultQueue: 4,
  ExecutionClusterLabel: 5,
};

export function compareChanges(a: Change, b: Change): number {
  return KIND_ORDER[a.kind]! - KIND_ORDER[b.kind]! || compare(a.name, b.name);
}

/** Each key of both maps, sorted, with the desired and the live object of that key. */
export function* keyed<D, L>(
  desired: ReadonlyMap<string, D>,
  live: ReadonlyMap<string, L>,
): Generator<[string, D | undefined, L | undefined]> {
  for (const key of PlanIndex.union(desired.keys(), live.keys()))
    yield [key, desired.get(key), live.get(key)];
}

export function upsertChange(kind: ObjectKind, key: string, before: Form | null, after: Form) {
  if (!before) return makeChange(kind, key, 'create', before, after, null);
  const diff = diffForms(before, after);
  return makeChange(kind, key, diff.length ? 'update' : 'noop', before, after, diff);
}

export function indexBy<T>(items: readonly T[] | undefined, key: (i: T) => string): Map<string, T> {
  // Not new Map(items.map(…)): no [key, item] pair per item (100,000 at 100k objects); not
  // for-of: no iterator result per item either.
  const map = new Map<string, T>();
  items?.forEach((i) => map.set(key(i), i));
  return map;
}

/** new Set(list) without its iterator results (one an address of a 100,000-object inventory). */
function setOf(list: readonly string[]): Set<string> {
  const set = new Set<string>();
  list.forEach((a) => set.add(a));
  return set;
}

export function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** For the steps, causes and warnings, which read every decision; no pass writes it. */
export class PlanContext extends PlanIndex implements PoolsAndClusters {
  pools: ReadonlyMap<string, PoolDecision> = new Map();
  clusters: ReadonlyMap<string, ClusterDecision> = new Map();
  deletedClusters: ReadonlySet<string> = new Set();
  movedClusters: ReadonlySet<string> = new Set();
  queues: ReadonlyMap<string, QueueDecision> = new Map();
  /** By key string (index.ts, then flyteadmin.ts). */
  assignments: ReadonlyMap<string, AssignmentDecision> = new Map();
  /** Union v2 default-queue settings, by `project/domain`. */
  defaultQueues: ReadonlyMap<string, DefaultQueueDecision> = new Map();
  /** By key string (cluster-labels.ts, then flyteadmin.ts). */
  labels: ReadonlyMap<string, LabelDecision> = new Map();
  /** flyteadmin rows at levels poolsync never writes (project-wide, launch plan), by address. */
  otherRows: ReadonlyMap<string, Change> = new Map();
}
