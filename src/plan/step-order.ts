/**
 * The edges of the step graph (steps.ts, plan.md "Steps and order"): what must run before what.
 */
import { dataPlaneMismatches, type PoolContract } from '../model/common.js';
import { reportedDataPlane } from '../model/capabilities.js';
import type { PlanContext } from './context.js';
import { splitWaits } from './drain.js';
import { key, type StepBuild } from './step-keys.js';

/** C4/C5: the cluster's reported data plane (if any) matches this contract. */
function matchesContract(ctx: PlanContext, cluster: string, contract: PoolContract): boolean {
  const l = ctx.lClusters.get(cluster);
  const pool = l ? ctx.lPools.get(l.pool) : undefined;
  const reported = l && pool ? reportedDataPlane(pool.contract, l) : null;
  return reported === null || dataPlaneMismatches(contract, reported).length === 0;
}

/** Pool edges: deletes after their members leave, updates after mismatching members leave (C4), A3. */
export function orderPools(b: StepBuild): void {
  const { g, ctx, leave } = b;
  for (const [name, d] of ctx.pools) {
    g.order(key.deletePool(name), key.createPool(name));
    // An undeleted pool (its step under the create's key) is updated once back.
    if (d.undeletes) g.order(key.createPool(name), key.updatePool(name));
    for (const c of ctx.lClustersByPool.get(name) ?? []) {
      if (d.deletes) g.order(leave(c), key.deletePool(name));
      // pool_update checks the members present (C4): one that would not match leaves first.
      if (ctx.leaves(c) && d.updates && !matchesContract(ctx, c, d.finalContract!))
        g.order(leave(c), key.updatePool(name));
    }
    if (d.deletes) {
      for (const q of ctx.lQueuesByPool.get(name) ?? []) {
        g.order(key.deleteQueue(q), key.deletePool(name));
        // A co-named queue leaves with its cluster's move (cluster_move); a moved queue
        // (queue_move) with its own move step.
        g.order(key.move(q), key.deletePool(name));
        if (ctx.queues.get(q)?.moves) g.order(key.queue(q), key.deletePool(name));
      }
    }
  }
}

/** cluster_move: after the target pool exists (and matches, C4), before the cluster update. */
export function orderMovedClusters(b: StepBuild): void {
  const { g, ctx } = b;
  for (const c of ctx.movedClusters) {
    const pool = ctx.clusters.get(c)!.final!.pool;
    g.order(key.createPool(pool), key.move(c));
    // The move is checked against the pool's contract at that moment (C4).
    const current = ctx.lPools.get(pool)?.contract;
    if (!current || !matchesContract(ctx, c, current)) g.order(key.updatePool(pool), key.move(c));
    g.order(key.move(c), key.updateCluster(c));
  }
}

/** Registrations and undeletes after their pool, a replacement after its delete. */
export function orderClusters(b: StepBuild): void {
  const { g, ctx } = b;
  for (const [name, d] of ctx.clusters) {
    const dc = ctx.dClusters.get(name);
    if (d.undeletes && dc) {
      // Back in its old pool (undeleted first), moved, then activated.
      g.order(key.createPool(d.undeletes.pool), key.register(name));
      g.order(key.createPool(dc.pool), key.move(name));
      g.order(key.updatePool(dc.pool), key.move(name));
      g.order(key.register(name), key.move(name));
      g.order(key.move(name), key.updateCluster(name));
      g.order(key.register(name), key.updateCluster(name));
      continue;
    }
    if (!d.registers || !dc) continue;
    g.order(key.createPool(dc.pool), key.register(name));
    // C4 checks a declared data plane against the contract at registration.
    if (dc.data_plane) g.order(key.updatePool(dc.pool), key.register(name));
    g.order(key.deleteCluster(name), key.register(name));
    g.order(key.register(name), key.updateCluster(name));
  }
}

/** Queue calls after their pool and clusters, repointing before a leave (rule 4). */
export function orderQueueCalls(b: StepBuild): void {
  const { g, ctx, queues, replaced, removalStep, leave } = b;
  const firstRegistration = [...ctx.clusters.entries()].find(([, d]) => d.registers)?.[0];
  for (const [name, q] of queues) {
    if (!q.call) continue;
    const k = key.queue(name);
    const spec = q.call.spec;
    g.order(key.createPool(spec.pool), k);
    for (const c of spec.clusters) {
      g.order(key.register(c), k);
      g.order(key.move(c), k);
    }
    // replace (drain, queue_delete): the old queue is deleted before the new one is created.
    g.order(key.deleteQueue(name), k);
    // soft_delete: the reserved name's queue comes back before its update.
    g.order(key.undelete(name), k);
    if (q.createdBy === 'register') g.order(key.register(name), k);
    if (q.createdBy === 'C3' && firstRegistration) g.order(key.register(firstRegistration), k);
    const removal = removalStep.get(name)!;
    if (removal !== k) {
      g.order(removal, k);
      for (const c of spec.clusters) if (!replaced(c)) g.order(key.register(c), removal);
    }
    // queue_move: drained and waited for until DRAINED before the move; the move itself takes
    // it out of its old pool's selectors, so it needs no repointing there.
    if (q.moves) {
      g.order(key.drain(name), key.waitQueueDrained(name));
      g.order(key.waitQueueDrained(name), k);
      continue;
    }
    // A deleted queue needs no repointing; a moved cluster's co-named queue moves with it.
    const movesAlong = q.live?.cluster_managed === true && ctx.movedClusters.has(name);
    if (q.deletes || movesAlong) continue;
    for (const c of q.live?.clusters ?? []) {
      if (!ctx.leaves(c)) continue;
      g.order(removal, key.drain(name));
      const first = [key.wait(c), key.waitDrained(c)].filter((w) => g.has(w));
      for (const w of first.length > 0 ? first : [leave(c)]) g.order(removal, w);
    }
  }
}

/** Waits before a leave; each queue drained for a leaving cluster, with those clusters. */
export function orderLeaving(b: StepBuild): Map<string, string[]> {
  const { g, ctx, waitFor, leave } = b;
  const drainedBy = new Map<string, string[]>();
  for (const c of [...ctx.deletedClusters, ...ctx.movedClusters]) {
    g.order(key.wait(c), leave(c));
    g.order(key.waitDrained(c), leave(c));
    for (const q of splitWaits(ctx, waitFor.get(c) ?? []).drain) {
      g.order(key.drain(q), key.waitDrained(c));
      const list = drainedBy.get(q);
      if (list) list.push(c);
      else drainedBy.set(q, [c]);
    }
  }
  return drainedBy;
}

/** Queue deletes after their drain (and their cluster, Q4); activations last. */
export function orderQueueLifecycle(b: StepBuild, drainedBy: ReadonlyMap<string, string[]>): void {
  const { g, queues, leave } = b;
  for (const [name, q] of queues) {
    if (q.deletes) {
      g.order(key.drain(name), key.waitQueueDrained(name));
      g.order(key.waitQueueDrained(name), key.deleteQueue(name));
      // Q4: a co-named queue goes once its cluster is deleted.
      g.order(key.deleteCluster(name), key.deleteQueue(name));
      // A live queue naming a cluster blocks that cluster's delete (Union: remote/_cluster.py),
      // so a queue that goes too goes first (it needs no repointing).
      for (const c of q.live?.clusters ?? [])
        if (c !== name) g.order(key.deleteQueue(name), key.deleteCluster(c));
      // A queue drained for a leaving cluster too: its wait comes first there.
      for (const c of drainedBy.get(name) ?? []) g.order(key.waitDrained(c), key.deleteQueue(name));
    }
    if (q.activates) {
      const k = key.activate(name);
      g.order(key.queue(name), k);
      g.order(key.undelete(name), k);
      for (const c of drainedBy.get(name) ?? []) g.order(leave(c), k);
      for (const c of q.final?.clusters ?? []) {
        g.order(key.register(c), k);
        g.order(key.move(c), k);
      }
      // Drained while a cluster it routes to leaves: only after that leave.
      g.order(key.drain(name), k);
    }
  }
}

/**
 * unpin_first (remote/_cluster.py:330-331, 363-365, 450-451): a cluster is drained, moved or
 * deleted only once the queues this plan unpins from it are repointed (or deleted), and a pin
 * this plan adds to a cluster it drains comes after the drain.
 */
export function orderPins(b: StepBuild): void {
  const { g, ctx, queues, removalStep } = b;
  if (!ctx.caps.unpin_first) return;
  for (const [name, q] of queues) {
    const final = new Set(q.final?.clusters ?? []);
    const unpin = q.deletes ? key.deleteQueue(name) : removalStep.get(name);
    // An undeleted queue comes back with the clusters it had (remote/_queue.py:1040-1046).
    const was = q.live?.clusters ?? (q.undeletes ? ctx.lDeletedQueues.get(name)?.clusters : []);
    for (const c of was ?? []) {
      if (c === name || (final.has(c) && !q.deletes)) continue;
      for (const step of [key.updateCluster(c), key.move(c), key.deleteCluster(c)])
        g.order(unpin, step);
    }
    const call = removalStep.get(name);
    const live = new Set(q.live?.clusters ?? []);
    for (const c of final)
      if (!live.has(c) && ctx.dClusters.get(c)?.enabled === false) {
        g.order(key.updateCluster(c), call === undefined ? undefined : key.queue(name));
        g.order(key.updateCluster(c), key.undelete(name));
      }
  }
}

/** A3: assignments around their pools. */
export function orderAssignments(b: StepBuild): void {
  const { g, ctx, assignments } = b;
  for (const [k, a] of assignments) {
    g.order(key.deleteAssignment(k), key.setAssignment(k));
    if (a.finalPool) g.order(key.createPool(a.finalPool), key.setAssignment(k));
    if (a.livePool && ctx.pools.get(a.livePool)?.deletes) {
      g.order(key.deleteAssignment(k), key.deletePool(a.livePool));
      if (a.finalPool !== a.livePool) g.order(key.setAssignment(k), key.deletePool(a.livePool));
    }
  }
}
