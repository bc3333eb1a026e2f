/**
 * Which queues must be quiet before a cluster leaves its pool (deleted, replaced or moved):
 * plan.md rule 4 / C9 (wait on metrics), or with capability `drain` drained and waited for
 * until DRAINED. Shared by the queue pass (which queues are re-activated afterwards) and the
 * step graph.
 */
import { isWildcard, type Leaving } from './context.js';
import type { PlanIndex } from './plan-index.js';
import type { QueueSpec } from '../model/common.js';
import type { QueueFrame } from './queue-frame.js';

/**
 * Before cluster c leaves: every live queue whose work can only be running on clusters this
 * plan takes away (an explicit selector made only of leaving clusters that names c, or `*`
 * in c's pool when every member of that pool leaves).
 */
export function waitSets(ctx: PlanIndex, gone: Leaving): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const poolEmptied = new Map<string, boolean>();
  const leaves = (n: string) => gone.deletedClusters.has(n) || gone.movedClusters.has(n);
  for (const c of [...gone.deletedClusters, ...gone.movedClusters]) {
    const queues: string[] = [];
    for (const q of ctx.lQueuesByCluster.get(c) ?? []) {
      const live = ctx.lQueues.get(q)!;
      if (live.clusters.every((n) => leaves(n))) queues.push(q);
    }
    const pool = ctx.lClusters.get(c)?.pool;
    if (pool !== undefined) {
      let emptied = poolEmptied.get(pool);
      if (emptied === undefined) {
        emptied = (ctx.lClustersByPool.get(pool) ?? []).every((n) => leaves(n));
        poolEmptied.set(pool, emptied);
      }
      if (emptied) {
        for (const q of ctx.lWildcardQueuesByPool.get(pool) ?? []) {
          if (isWildcard(ctx.lQueues.get(q)!.clusters)) queues.push(q);
        }
      }
    }
    out.set(c, [...new Set(queues)].sort());
  }
  return out;
}

/** With `drain`: the queues a leaving cluster's wait drains (the rest are watched, wait_idle). */
export function splitWaits(
  ctx: PlanIndex,
  queues: readonly string[],
): { drain: string[]; idle: string[] } {
  if (!ctx.caps.drain) return { drain: [], idle: [...queues] };
  return {
    drain: queues.filter((q) => ctx.drainable(q)),
    idle: queues.filter((q) => !ctx.drainable(q)),
  };
}

/** Queues this plan drains because a cluster they route to leaves (capability `drain`). */
export function drainedForLeaving(ctx: PlanIndex, gone: Leaving): Map<string, string[]> {
  const byQueue = new Map<string, string[]>();
  for (const [cluster, queues] of waitSets(ctx, gone)) {
    for (const q of splitWaits(ctx, queues).drain) {
      const list = byQueue.get(q);
      if (list) list.push(cluster);
      else byQueue.set(q, [cluster]);
    }
  }
  return byQueue;
}

/** Whether a queue with this final spec will route anywhere (so a drained one is re-activated). */
export function routesSomewhere(f: QueueFrame, spec: QueueSpec): boolean {
  if (!isWildcard(spec.clusters)) return spec.clusters.length > 0;
  for (const d of f.pc.clusters.values()) if (d.final?.pool === spec.pool) return true;
  return false;
}
