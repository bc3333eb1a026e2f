/**
 * The queue pass's input (queues.ts): `QueueFrame`, the planner's index with the decisions of
 * the pool and cluster passes before it, and `QueueOwn`, a queue's own objects (its Queue
 * document, its live record, the soft-deleted queue of its name).
 */
import type { DesiredQueue } from '../model/desired.js';
import type { LiveQueue } from '../model/live.js';
import type { ClusterDecision, PoolsAndClusters } from './context.js';
import type { PlanIndex } from './plan-index.js';

export interface QueueFrame {
  readonly ix: PlanIndex;
  readonly pc: PoolsAndClusters;
  /** Queues this plan drains while clusters they route to leave, with those clusters (drain.ts). */
  readonly drainedBy: ReadonlyMap<string, readonly string[]>;
  /** The first cluster this plan registers (C3 recreates `default` with it), or null. */
  readonly firstRegistration: string | null;
}

/** A queue's own objects. */
export interface QueueOwn {
  readonly name: string;
  readonly desired: DesiredQueue | undefined;
  readonly live: LiveQueue | undefined;
  /** The soft-deleted queue of this name (capability `soft_delete`). */
  readonly deleted: LiveQueue | undefined;
}

/** A queue's own objects, from the planner's index. */
export function queueOwn(ix: PlanIndex, name: string): QueueOwn {
  return {
    name,
    desired: ix.dQueues.get(name),
    live: ix.lQueues.get(name),
    deleted: ix.lDeletedQueues.get(name),
  };
}

/** Clusters leaving their live pool: deleted (or replaced) or moved in place. */
export function leaves(f: QueueFrame, cluster: string): boolean {
  return f.pc.deletedClusters.has(cluster) || f.pc.movedClusters.has(cluster);
}

/** Drained live, enabled by the plan: the cluster's activation activates its co-named queue. */
export function activates(d: ClusterDecision | undefined): boolean {
  return d?.change.before?.['enabled'] === false && d.final?.enabled === true;
}
