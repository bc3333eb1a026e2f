/**
 * The queue pass's typed input (queues.ts). A queue's decision is a function of its own objects
 * (`QueueOwn`: its Queue document, its live record, the soft-deleted queue of its name) and of
 * `QueueFrame`: what the pool and cluster passes decided and the index facts the pass reads.
 */
import { DEFAULT_QUEUE, type Capabilities } from '../model/common.js';
import type { DesiredQueue } from '../model/desired.js';
import type { LiveCluster, LiveQueue } from '../model/live.js';
import type { Change, PruneScope, Reason } from '../model/plan.js';
import { prunes, unmanagedReason } from './prune-scope.js';

/** What the queue pass knows of a cluster's decision. */
export interface ClusterOutcome {
  readonly action: Change['action'];
  readonly registers: boolean;
  readonly deletes: boolean;
  readonly moves: boolean;
  /** Drained live, enabled by the plan: its activation activates its co-named queue. */
  readonly activates: boolean;
  /** Soft deletes: undeleted (cluster-undelete.ts), back in this pool first. */
  readonly undeletes: { pool: string } | null;
  readonly final: { pool: string; enabled: boolean; health: LiveCluster['health'] } | null;
}

export interface QueueFrame {
  readonly caps: Capabilities;
  /** What prune may delete (prune-scope.ts); undefined when prune is off. */
  readonly pruneScope: PruneScope | undefined;
  /** The Queue addresses of the inventory, or null when none was read or recorded. */
  readonly queueInventory: ReadonlySet<string> | null;
  /** poolsync.yaml `absent: [Queue/default]`. */
  readonly absentDefault: boolean;
  /**
   * Queues a run.default_queue setting names once the plan is applied (settings the plan moves
   * or removes no longer count, those it sets do), with the scopes that name them.
   */
  readonly settingQueues: ReadonlyMap<string, readonly string[]>;
  /** Pools that exist once the plan is applied. */
  readonly finalPools: ReadonlySet<string>;
  /** Pools of the live state. */
  readonly livePools: ReadonlySet<string>;
  /** Deleted pools this plan undeletes (pool-undelete.ts). */
  readonly undeletedPools: ReadonlySet<string>;
  readonly clusters: ReadonlyMap<string, ClusterOutcome>;
  /** Each desired cluster's pool. */
  readonly desiredClusterPools: ReadonlyMap<string, string>;
  /** Each live cluster's pool. */
  readonly liveClusterPools: ReadonlyMap<string, string>;
  readonly deletedClusters: ReadonlySet<string>;
  readonly movedClusters: ReadonlySet<string>;
  /** Live queues this plan deletes outright (PlanContext.deletedQueues). */
  readonly deletedQueues: ReadonlySet<string>;
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

/** This live queue, absent from the repository, is deleted (prune-scope.ts). */
export function prunesQueue(f: QueueFrame, name: string): boolean {
  return prunes(f.pruneScope, f.queueInventory, 'Queue', name);
}

/** Why a live queue absent from the repository is left alone. */
export function unmanagedQueueReason(f: QueueFrame, name: string): Reason {
  return unmanagedReason(f.pruneScope, 'Queue', name);
}

/** Clusters leaving their live pool: deleted (or replaced) or moved in place. */
export function leaves(f: QueueFrame, cluster: string): boolean {
  return f.deletedClusters.has(cluster) || f.movedClusters.has(cluster);
}

/** Q5: the "default" queue is never drained, unless the control plane lets it be (Union: default_delete). */
export function undrainable(f: Pick<QueueFrame, 'caps'>, queue: string): boolean {
  return queue === DEFAULT_QUEUE && !f.caps.default_delete;
}

/**
 * Why a queue cannot be deleted, as data: none for the "default" queue (Q5), else the scopes
 * whose run.default_queue names it once the plan is applied (Union refuses the delete,
 * remote/_queue.py:1011-1012; the drain it allows, :934-937); null when it can be.
 */
export function undeletableSettings(
  f: Pick<QueueFrame, 'caps' | 'settingQueues'>,
  queue: string,
): string[] | null {
  if (undrainable(f, queue)) return [];
  const settings = f.settingQueues.get(queue);
  return settings ? [...settings] : null;
}

/** With `queue_delete`, deleting a cluster deletes its co-named queue too (conamed-cascade.ts). */
export function conamedCascades(
  caps: Capabilities,
  liveClusters: { has(name: string): boolean },
  l: LiveQueue | undefined,
): boolean {
  return caps.queue_delete && l?.cluster_managed === true && liveClusters.has(l.name);
}
