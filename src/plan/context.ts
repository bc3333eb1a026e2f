/**
 * The decisions of the planner's passes, and PlanContext: the index every pass read
 * (plan-index.ts) with the decisions computePlan assembled from what the passes returned.
 */
import type { LiveCluster, LiveQueue } from '../model/live.js';
import type { PoolContract, QueueSpec } from '../model/common.js';
import { PREVENT_DESTROY_ANNOTATION, type SourceLocation } from '../model/desired.js';
import type { Change } from '../model/plan.js';
import type { DefaultQueueDecision, LabelDecision } from './decisions.js';
import { PlanIndex } from './plan-index.js';

export { compare, isWildcard } from './plan-index.js';

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

/** The live clusters that leave their pool: the cluster pass's (ClusterPass) sets. */
export interface Leaving {
  /** Deleted (delete or replace): C8 removes them from selectors. */
  readonly deletedClusters: ReadonlySet<string>;
  /** Moved to another pool in place (capability `cluster_move`). */
  readonly movedClusters: ReadonlySet<string>;
}

/** The pool and cluster decisions, as the passes after them read them. */
export interface PoolsAndClusters extends Leaving {
  readonly pools: ReadonlyMap<string, PoolDecision>;
  readonly clusters: ReadonlyMap<string, ClusterDecision>;
}

/**
 * The planner's working set once the passes have decided: the index every pass read
 * (plan-index.ts) and the decisions computePlan assembled from what each pass returned, for
 * the steps, causes and warnings that read them all. No pass writes it.
 */
export class PlanContext extends PlanIndex {
  /** Pool decisions (pools.ts, finalised by pool-final.ts). */
  pools: ReadonlyMap<string, PoolDecision> = new Map();
  /** Cluster decisions (clusters.ts). */
  clusters: ReadonlyMap<string, ClusterDecision> = new Map();
  /** Clusters whose record is deleted by the plan (delete or replace): C8 removes them from selectors. */
  deletedClusters: ReadonlySet<string> = new Set();
  /** Clusters moved to another pool in place by this plan (capability `cluster_move`). */
  movedClusters: ReadonlySet<string> = new Set();
  /** Queue decisions (queues.ts). */
  queues: ReadonlyMap<string, QueueDecision> = new Map();
  /** Pool assignments by key string (assignments.ts, then flyteadmin.ts). */
  assignments: ReadonlyMap<string, AssignmentDecision> = new Map();
  /** Union v2 default-queue settings, by `project/domain` (default-queues.ts). */
  defaultQueues: ReadonlyMap<string, DefaultQueueDecision> = new Map();
  /** Execution cluster labels by key string (cluster-labels.ts, then flyteadmin.ts). */
  labels: ReadonlyMap<string, LabelDecision> = new Map();
  /**
   * flyteadmin rows at levels poolsync never writes (project-wide, launch plan), by address:
   * unmanaged, or deleted along with a broader row (flyteadmin.ts, cascade.ts).
   */
  otherRows: ReadonlyMap<string, Change> = new Map();

  /** Clusters leaving their live pool: deleted (or replaced) or moved in place. */
  leaves(cluster: string): boolean {
    return this.deletedClusters.has(cluster) || this.movedClusters.has(cluster);
  }
}

/**
 * The contract a pool has once the plan is applied, when anyone knows it: null when the pool
 * will not exist, or when neither the repository nor the control plane knows its contract
 * (marked unknown, on Union). Use this, not `finalContract`, to compare a data plane with it.
 */
export function knownContract(
  pools: ReadonlyMap<string, PoolDecision>,
  pool: string,
): PoolContract | null {
  const d = pools.get(pool);
  return d && d.contractKnown !== false ? d.finalContract : null;
}

export function preventsDestroy(obj: { annotations: Record<string, string> } | undefined): boolean {
  return obj?.annotations[PREVENT_DESTROY_ANNOTATION] === 'true';
}

export function locationOf(source: SourceLocation | undefined): string | null {
  return source ? `${source.file}:${source.line}:${source.column}` : null;
}
