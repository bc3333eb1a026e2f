/**
 * The queue pass's typed input (queue-frame.ts) read from the planner's indexes and the
 * decisions of the pool and cluster passes before it.
 */
import type { ClusterDecision, PoolsAndClusters } from './context.js';
import type { PlanIndex } from './plan-index.js';
import type { ClusterOutcome, QueueFrame, QueueOwn } from './queue-frame.js';

/** The frame of the queue pass, read from the decisions of the passes before it. */
export function queueFrame(
  ctx: PlanIndex,
  pc: PoolsAndClusters,
  drainedBy: ReadonlyMap<string, readonly string[]>,
  firstRegistration: string | null,
): QueueFrame {
  const finalPools = new Set<string>();
  const undeletedPools = new Set<string>();
  for (const [name, d] of pc.pools) {
    if (d.finalContract) finalPools.add(name);
    if (d.undeletes) undeletedPools.add(name);
  }
  const clusters = new Map<string, ClusterOutcome>();
  for (const [name, d] of pc.clusters) clusters.set(name, clusterOutcome(d));
  const queueInventory =
    ctx.inventory === null ? null : new Set([...ctx.inventory].filter(isQueueAddress));
  return {
    caps: ctx.caps,
    pruneScope: ctx.pruneScope,
    queueInventory,
    absentDefault: ctx.absentDefault,
    settingQueues: ctx.settingQueues,
    finalPools,
    livePools: new Set(ctx.lPools.keys()),
    undeletedPools,
    clusters,
    desiredClusterPools: new Map([...ctx.dClusters].map(([n, c]) => [n, c.pool])),
    liveClusterPools: new Map([...ctx.lClusters].map(([n, c]) => [n, c.pool])),
    deletedClusters: pc.deletedClusters,
    movedClusters: pc.movedClusters,
    deletedQueues: ctx.deletedQueues,
    drainedBy,
    firstRegistration,
  };
}

/** A queue's own objects, from the planner's indexes. */
export function queueOwn(ctx: PlanIndex, name: string): QueueOwn {
  return {
    name,
    desired: ctx.dQueues.get(name),
    live: ctx.lQueues.get(name),
    deleted: ctx.lDeletedQueues.get(name),
  };
}

function clusterOutcome(d: ClusterDecision): ClusterOutcome {
  return {
    action: d.change.action,
    registers: d.registers,
    deletes: d.deletes,
    moves: d.moves ?? false,
    activates: d.change.before?.['enabled'] === false && d.final?.enabled === true,
    undeletes: d.undeletes ?? null,
    final: d.final,
  };
}

function isQueueAddress(a: string): boolean {
  return a.startsWith('Queue/');
}
