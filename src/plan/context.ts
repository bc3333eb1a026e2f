/**
 * The planner's working set: the two states indexed by name once (so every pass is linear,
 * quality.md), and the decisions each pass records for the passes after it.
 */
import {
  DEFAULT_QUEUE,
  WILDCARD,
  address,
  assignmentKeyString,
  type Capabilities,
  type PoolContract,
  type QueueSpec,
} from '../model/common.js';
import {
  PREVENT_DESTROY_ANNOTATION,
  type DesiredAssignment,
  type DesiredCluster,
  type DesiredPool,
  type DesiredQueue,
  type DesiredState,
  type SourceLocation,
} from '../model/desired.js';
import type { LiveAssignment, LiveCluster, LivePool, LiveQueue, LiveState } from '../model/live.js';
import type { Change, PlanError, PlanWarning, PruneScope, Reason } from '../model/plan.js';
import type { ObjectKind } from '../model/common.js';
import { prunes, scopeWithInventory, unmanagedReason } from './prune-scope.js';
import type { DefaultQueueDecision, LabelDecision } from './decisions.js';
import { conamedCascades, undrainableReason } from './queue-frame.js';

export interface PoolDecision {
  change: Change;
  /** create or replace: a create_pool step exists. */
  creates: boolean;
  /** delete or replace: a delete_pool step exists. */
  deletes: boolean;
  /** The contract the pool has once the plan is applied (null: the pool is gone). */
  finalContract: PoolContract | null;
  /** Capability `pool_update`: an update_pool step exists. */
  updates?: boolean;
  /** false: `finalContract` is the control plane's placeholder, known to no one (knownContract). */
  contractKnown?: false;
  /** Soft deletes: an undelete_pool step brings back the deleted pool of its name (pool-undelete.ts). */
  undeletes?: boolean;
}

export interface ClusterDecision {
  change: Change;
  /** create or replace: a register_cluster step exists. */
  registers: boolean;
  /** delete or replace: a delete_cluster step exists (C8 then applies). */
  deletes: boolean;
  /** Where the cluster is once the plan is applied; null when it will not exist. */
  final: { pool: string; enabled: boolean; health: LiveCluster['health'] } | null;
  /** Capability `cluster_move`: a move_cluster step exists (pool changes in place). */
  moves?: boolean;
  /**
   * Soft deletes: an undelete_cluster step brings back the deleted cluster of its name, DRAINED
   * in this pool (cluster-undelete.ts); `moves` then moves it to its final pool.
   */
  undeletes?: { pool: string };
}

export interface QueueDecision {
  change: Change;
  /** The create_queue / update_queue (move_queue: queue_move) call, or null when nothing is sent. */
  call: { op: 'create_queue' | 'update_queue' | 'move_queue'; spec: QueueSpec } | null;
  /** Set when the queue is created (or changed) by another object's step: C2, C3, C8. */
  createdBy: 'register' | 'C3' | null;
  /** The queue once the plan is applied (null when it will not exist). */
  final: QueueSpec | null;
  live: LiveQueue | null;
  /** Explicitly declared by a Queue document. */
  declared: boolean;
  /** Capability `queue_delete`: a delete_queue step exists (delete, or the first half of a replace). */
  deletes?: boolean;
  /** Capability `drain`: an activate_queue step exists (left drained, or drained by this plan). */
  activates?: boolean;
  /** Capability `queue_move`: drained, then moved to another pool by its call (move_queue). */
  moves?: boolean;
  /** Capability `soft_delete`: an undelete_queue step brings back the deleted queue of its name. */
  undeletes?: boolean;
}

export interface AssignmentDecision {
  change: Change;
  set: boolean;
  /** delete_assignment step (prune, or removed around a pool replacement, A3). */
  remove: boolean;
  livePool: string | null;
  finalPool: string | null;
}

export class PlanContext {
  /** What prune may delete (prune-scope.ts); undefined when prune is off. */
  readonly pruneScope: PruneScope | undefined;
  /** The inventory's addresses (what poolsync applied), or null when none was read or recorded. */
  readonly inventory: ReadonlySet<string> | null;
  readonly dPools: Map<string, DesiredPool>;
  readonly lPools: Map<string, LivePool>;
  readonly dClusters: Map<string, DesiredCluster>;
  readonly lClusters: Map<string, LiveCluster>;
  readonly dQueues: Map<string, DesiredQueue>;
  readonly lQueues: Map<string, LiveQueue>;
  /** Soft-deleted queues (capability `soft_delete`): their names stay reserved. */
  readonly lDeletedQueues: Map<string, LiveQueue>;
  /** Soft-deleted pools and clusters (Union): their names stay reserved until undeleted. */
  readonly lDeletedPools: Map<string, LivePool>;
  readonly lDeletedClusters: Map<string, LiveCluster>;
  readonly dAssignments: Map<string, DesiredAssignment>;
  readonly lAssignments: Map<string, LiveAssignment>;
  /** Live references (P5, A3), by pool name. */
  readonly lClustersByPool = new Map<string, string[]>();
  readonly lQueuesByPool = new Map<string, string[]>();
  readonly lAssignmentsByPool = new Map<string, string[]>();
  /** Live queues whose selector names a cluster explicitly, by cluster (C8). */
  readonly lQueuesByCluster = new Map<string, string[]>();
  /** Live `*` queues, by pool. */
  readonly lWildcardQueuesByPool = new Map<string, string[]>();

  readonly pools = new Map<string, PoolDecision>();
  readonly clusters = new Map<string, ClusterDecision>();
  readonly queues = new Map<string, QueueDecision>();
  readonly assignments = new Map<string, AssignmentDecision>();
  /** Union v2 default-queue settings, by `project/domain` (default-queues.ts). */
  readonly defaultQueues = new Map<string, DefaultQueueDecision>();
  /** Execution cluster labels by key string (cluster-labels.ts). */
  readonly labels = new Map<string, LabelDecision>();
  /**
   * flyteadmin rows at levels poolsync never writes (project-wide, launch plan), by address:
   * unmanaged, or deleted along with a broader row (flyteadmin.ts, cascade.ts).
   */
  readonly otherRows = new Map<string, Change>();
  /** Clusters whose record is deleted by the plan (delete or replace): C8 removes them from selectors. */
  readonly deletedClusters = new Set<string>();
  /**
   * Clusters the pool pass may assume gone (P5: a pool is deletable once its clusters are
   * deleted first, rule 5). The cluster pass decides for real; computePlan re-runs both
   * passes when the two disagree.
   */
  assumedDeletedClusters = new Set<string>();
  readonly warnings: PlanWarning[] = [];
  readonly errors: PlanError[] = [];
  /** domain.md, Capabilities: what the planner may use beyond the baseline rules. */
  readonly caps: Capabilities;
  /** Clusters moved to another pool in place by this plan (capability `cluster_move`). */
  readonly movedClusters = new Set<string>();
  /**
   * Live queues this plan deletes outright (capabilities `queue_delete` + `drain`, prune on):
   * known before the pool pass, so that a pool whose queues all go can be deleted (P5).
   */
  readonly deletedQueues = new Set<string>();
  /** deletedQueues plus the queues replaced in another pool: their live record goes (P5). */
  readonly leavingQueues = new Set<string>();
  /** Queues named by a default-queue setting (Union `run.default_queue`): never drained or deleted. */
  readonly settingQueues: Map<string, string[]>;
  /** poolsync.yaml `absent: [Queue/default]`: the repository wants the `default` queue deleted. */
  readonly absentDefault: boolean;

  constructor(
    readonly desired: DesiredState,
    readonly live: LiveState,
    /** `--replace ADDRESS`: objects to delete and create again though nothing differs. */
    readonly forceReplace: ReadonlySet<string> = new Set(),
  ) {
    this.pruneScope = scopeWithInventory(desired.config, live.inventory);
    this.inventory = live.inventory ? new Set(live.inventory) : null;
    this.dPools = byName(desired.pools);
    this.lPools = byName(live.pools);
    this.dClusters = byName(desired.clusters);
    this.lClusters = byName(live.clusters);
    this.dQueues = byName(desired.queues);
    this.lQueues = byName(live.queues);
    this.lDeletedQueues = byName(live.deleted_queues ?? []);
    this.lDeletedPools = byName(live.deleted_pools ?? []);
    this.lDeletedClusters = byName(live.deleted_clusters ?? []);
    this.absentDefault = desired.config.absent?.includes(address('Queue', DEFAULT_QUEUE)) ?? false;
    this.dAssignments = new Map(desired.assignments.map((a) => [assignmentKeyString(a), a]));
    this.lAssignments = new Map(live.assignments.map((a) => [assignmentKeyString(a), a]));
    for (const c of live.clusters) push(this.lClustersByPool, c.pool, c.name);
    for (const q of live.queues) {
      push(this.lQueuesByPool, q.pool, q.name);
      if (isWildcard(q.clusters)) push(this.lWildcardQueuesByPool, q.pool, q.name);
      else for (const c of q.clusters) push(this.lQueuesByCluster, c, q.name);
    }
    for (const [key, a] of this.lAssignments) push(this.lAssignmentsByPool, a.pool, key);
    this.caps = live.capabilities;
    this.settingQueues = new Map();
    // Broadest scope first: the organisation, then domains, then project/domains.
    for (const s of live.default_queue_scopes ?? [])
      push(
        this.settingQueues,
        s.queue,
        s.domain === undefined ? 'the organisation' : `domain ${s.domain}`,
      );
    for (const s of live.default_queues ?? [])
      push(this.settingQueues, s.queue, `${s.project}/${s.domain}`);
    this.decideLeavingQueues();
  }

  /** The live queues the plan deletes (queue_delete) or moves out of their pool: deletedQueues, leavingQueues. */
  private decideLeavingQueues(): void {
    const live = this.live;
    if ((this.caps.queue_delete || this.caps.queue_move) && this.caps.drain) {
      for (const q of live.queues) {
        if (!this.drainable(q.name)) continue;
        if (q.name === DEFAULT_QUEUE) {
          // Only when the repository says so (absent), and the control plane allows it.
          if (this.absentDefault && this.caps.queue_delete) {
            this.deletedQueues.add(q.name);
            this.leavingQueues.add(q.name);
          }
          continue;
        }
        const d = this.dQueues.get(q.name);
        // A queue moving pool is moved (queue_move) or replaced: it leaves its live pool.
        if (d && !q.cluster_managed && d.spec.pool !== q.pool) this.leavingQueues.add(q.name);
        if (d || !this.prunes('Queue', q.name) || !this.caps.queue_delete) continue;
        // A co-named queue whose cluster stays (or is registered again) follows it (Q4); one
        // whose cluster is deleted goes with it (conamedCascades), without a step of its own.
        if (q.cluster_managed && (this.dClusters.has(q.name) || this.conamedCascades(q.name)))
          continue;
        this.deletedQueues.add(q.name);
        this.leavingQueues.add(q.name);
      }
    }
  }

  /** This live object, absent from the repository, is deleted (prune on, in scope: prune-scope.ts). */
  prunes(kind: ObjectKind, name: string): boolean {
    return prunes(this.pruneScope, this.inventory, kind, name);
  }

  /** Why a live object of this kind absent from the repository is left alone. */
  unmanagedReason(kind: ObjectKind): Reason {
    return unmanagedReason(this.pruneScope, kind);
  }

  /** Why a queue can never be drained or deleted (Q5, default-queue settings), or null. */
  undrainableReason(queue: string): string | null {
    return undrainableReason(this, queue);
  }

  drainable(queue: string): boolean {
    return this.undrainableReason(queue) === null;
  }

  /**
   * With `queue_delete`, deleting a cluster also deletes its co-named queue (Union today;
   * conamed-cascade.ts): true for the live co-named queue of a live cluster.
   */
  conamedCascades(queue: string): boolean {
    return conamedCascades(this.caps, this.lClusters, this.lQueues.get(queue));
  }

  /** Clusters leaving their live pool: deleted (or replaced) or moved in place. */
  leaves(cluster: string): boolean {
    return this.deletedClusters.has(cluster) || this.movedClusters.has(cluster);
  }

  /** Forgets the pool and cluster decisions (and their warnings) before another round. */
  resetPoolsAndClusters(): void {
    this.pools.clear();
    this.clusters.clear();
    this.deletedClusters.clear();
    this.movedClusters.clear();
    this.warnings.length = 0;
  }

  /** Every pool, cluster or queue name of both states, sorted. */
  static union(a: Iterable<string>, b: Iterable<string>): string[] {
    return [...new Set([...a, ...b])].sort(compare);
  }
}

/**
 * The contract a pool has once the plan is applied, when anyone knows it: null when the pool
 * will not exist, or when neither the repository nor the control plane knows its contract
 * (marked unknown, on Union). Use this, not `finalContract`, to compare a data plane with it.
 */
export function knownContract(ctx: PlanContext, pool: string): PoolContract | null {
  const d = ctx.pools.get(pool);
  return d && d.contractKnown !== false ? d.finalContract : null;
}

export function isWildcard(selector: readonly string[]): boolean {
  return selector.length === 1 && selector[0] === WILDCARD;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName<T extends { name: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((i) => [i.name, i]));
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function preventsDestroy(obj: { annotations: Record<string, string> } | undefined): boolean {
  return obj?.annotations[PREVENT_DESTROY_ANNOTATION] === 'true';
}

export function locationOf(source: SourceLocation | undefined): string | null {
  return source ? `${source.file}:${source.line}:${source.column}` : null;
}
