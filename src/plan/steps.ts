/**
 * The step graph of a plan (plan.md, "Steps and order"), built from the per-object decisions:
 *  1. pools are created before anything that lives in them;
 *  2. clusters are registered after their pool exists, a replaced one after its old record is deleted;
 *  3. queues are created or updated after their pool and every cluster of their new selector exist;
 *  4. before a cluster delete: the queue updates that touch it, then wait_idle (Q7, C9);
 *  5. pools are deleted after their clusters; assignments naming a pool are removed before it
 *     is deleted and set after it is created (A3).
 */
import { address, type QueueSpec } from '../model/common.js';
import type { Step } from '../model/plan.js';
import type { AssignmentDecision, PlanContext, QueueDecision } from './context.js';
import { key, type StepBuild } from './step-keys.js';
import { splitWaits, waitSets } from './drain.js';
import { StepGraph } from './graph.js';
import { addDefaultQueueSteps } from './default-queues.js';
import { addLabelSteps, labelStepKey } from './cluster-labels.js';
import { addCascadeOrder } from './cascade.js';
import {
  orderAssignments,
  orderClusters,
  orderLeaving,
  orderMovedClusters,
  orderPools,
  orderQueueCalls,
  orderPins,
  orderQueueLifecycle,
} from './step-order.js';

export function buildSteps(ctx: PlanContext): Step[] {
  const g = new StepGraph();
  // Most objects of a big organisation have no step: every pass below visits the others only.
  const queues: [string, QueueDecision][] = [];
  ctx.queues.forEach((q, name) => {
    if (q.call || q.deletes || q.activates || q.moves || q.undeletes) queues.push([name, q]);
  });
  const assignments: [string, AssignmentDecision][] = [];
  ctx.assignments.forEach((a, k) => {
    if (a.set || a.remove) assignments.push([k, a]);
  });
  const replaced = (c: string) => {
    const d = ctx.clusters.get(c);
    return d !== undefined && d.registers && d.deletes;
  };

  const b: StepBuild = {
    g,
    ctx,
    queues,
    assignments,
    replaced,
    removalStep: new Map<string, string>(),
    waitFor: waitSets(ctx, ctx),
    leave: (c) => (ctx.movedClusters.has(c) ? key.move(c) : key.deleteCluster(c)),
  };
  // Nodes, in the order a reader expects when nothing forces another.
  addPoolNodes(b);
  addClusterNodes(b);
  addQueueCallNodes(b);
  addLeavingNodes(b);
  addQueueLifecycleNodes(b);
  addAssignmentNodes(b);
  addLabelSteps(g, ctx);
  addPoolDeletes(b);
  // Edges.
  orderPools(b);
  orderMovedClusters(b);
  orderClusters(b);
  orderQueueCalls(b);
  const drainedBy = orderLeaving(b);
  orderQueueLifecycle(b, drainedBy);
  orderPins(b);
  orderAssignments(b);
  addCascadeOrder(g, ctx, {
    set: (v) =>
      v.kind === 'PoolAssignment' ? key.setAssignment(v.name) : labelStepKey.set(v.name),
    remove: (v) =>
      v.kind === 'PoolAssignment' ? key.deleteAssignment(v.name) : labelStepKey.remove(v.name),
  });
  addDefaultQueueSteps(ctx, g, {
    queue: key.queue,
    register: key.register,
    deleteQueue: key.deleteQueue,
    deleteCluster: key.deleteCluster,
  });
  return g.finalize();
}

/** Pools: undelete, create, update. */
function addPoolNodes(b: StepBuild): void {
  const { g, ctx } = b;
  for (const [name, d] of ctx.pools) {
    // soft_delete: an undelete takes the place of the create (its key), so every step that
    // waits for the pool to exist waits for it.
    if (d.undeletes)
      g.add(
        key.createPool(name),
        { op: 'undelete_pool', args: { name } },
        address('ClusterPool', name),
      );
    if (d.creates)
      g.add(
        key.createPool(name),
        { op: 'create_pool', args: { name, contract: d.finalContract! } },
        address('ClusterPool', name),
      );
    if (d.updates)
      g.add(
        key.updatePool(name),
        { op: 'update_pool', args: { name, contract: d.finalContract! } },
        address('ClusterPool', name),
      );
  }
}

/** Clusters: undelete, register (then disable), move, update. */
function addClusterNodes(b: StepBuild): void {
  const { g, ctx } = b;
  for (const [name, d] of ctx.clusters) {
    const dc = ctx.dClusters.get(name);
    if (d.undeletes && dc) {
      addClusterUndelete(g, name, dc.pool, dc.enabled, d.moves === true);
    } else if (d.registers && dc) {
      const args = { name, pool: dc.pool, ...(dc.data_plane ? { data_plane: dc.data_plane } : {}) };
      g.add(key.register(name), { op: 'register_cluster', args }, address('Cluster', name));
      // C6: a registration enables the cluster; disabling is a second call.
      if (!dc.enabled)
        g.add(
          key.updateCluster(name),
          { op: 'update_cluster', args: { name, enabled: false } },
          address('Cluster', name),
        );
    } else if (d.moves && dc) {
      g.add(
        key.move(name),
        { op: 'move_cluster', args: { name, pool: dc.pool } },
        address('Cluster', name),
      );
      if (dc.enabled !== ctx.lClusters.get(name)?.enabled)
        g.add(
          key.updateCluster(name),
          { op: 'update_cluster', args: { name, enabled: dc.enabled } },
          address('Cluster', name),
        );
    } else if (d.change.action === 'update' && dc) {
      g.add(
        key.updateCluster(name),
        { op: 'update_cluster', args: { name, enabled: dc.enabled } },
        address('Cluster', name),
      );
    }
  }
}

/** Queues: undelete, then the call (in two when a repointing must come first). */
function addQueueCallNodes(b: StepBuild): void {
  const { g, ctx, queues, replaced, removalStep } = b;
  for (const [name, q] of queues) {
    if (!q.undeletes) continue;
    g.add(key.undelete(name), { op: 'undelete_queue', args: { name } }, address('Queue', name));
    // Its pool and clusters back first, when this plan undeletes them (queue-undelete.ts).
    const deleted = ctx.lDeletedQueues.get(name);
    if (!deleted) continue;
    g.order(key.createPool(deleted.pool), key.undelete(name));
    for (const c of deleted.clusters) g.order(key.register(c), key.undelete(name));
  }
  for (const [name, q] of queues) {
    if (!q.call) continue;
    const target = address('Queue', name);
    const spec = q.call.spec;
    const k = g.add(key.queue(name), { op: q.call.op, args: { name, ...spec } }, target);
    removalStep.set(name, k);
    // A moved queue (queue_move) is drained first: it needs no repointing before a delete.
    const removes =
      !q.deletes &&
      !q.moves &&
      q.live !== null &&
      q.live.clusters.some((c) => ctx.deletedClusters.has(c));
    if (removes && spec.clusters.some(replaced)) {
      // The new selector names a cluster that is re-registered only after some delete, while
      // the old one names a cluster to delete: repoint in two calls so neither waits on the other.
      const first: QueueSpec = { ...spec, clusters: spec.clusters.filter((c) => !replaced(c)) };
      removalStep.set(
        name,
        g.add(key.queueFirst(name), { op: 'update_queue', args: { name, ...first } }, target),
      );
    }
  }
}

/** Each leaving cluster: wait_idle, drains and wait_drained, then its delete. */
function addLeavingNodes(b: StepBuild): void {
  const { g, ctx, waitFor } = b;
  const leaving = [...ctx.deletedClusters, ...ctx.movedClusters].sort();
  for (const name of leaving) {
    // With `drain`, queues are drained and waited for until DRAINED; the others (never
    // drained: `default`, default-queue settings) are watched on their metrics (C9).
    const { drain, idle } = splitWaits(ctx, waitFor.get(name) ?? []);
    if (idle.length > 0) {
      g.add(
        key.wait(name),
        { op: 'wait_idle', args: { queues: idle, cluster: name } },
        address('Cluster', name),
      );
    }
    for (const q of drain)
      g.add(key.drain(q), { op: 'drain_queue', args: { name: q } }, address('Queue', q));
    if (drain.length > 0)
      g.add(
        key.waitDrained(name),
        { op: 'wait_drained', args: { queues: drain } },
        address('Cluster', name),
      );
    if (ctx.deletedClusters.has(name))
      g.add(
        key.deleteCluster(name),
        { op: 'delete_cluster', args: { name } },
        address('Cluster', name),
      );
  }
}

/** Queue moves and deletes (drain, wait, delete) and activations. */
function addQueueLifecycleNodes(b: StepBuild): void {
  const { g, queues } = b;
  for (const [name, q] of queues) {
    if (!q.moves) continue;
    const target = address('Queue', name);
    g.add(key.drain(name), { op: 'drain_queue', args: { name } }, target);
    g.add(key.waitQueueDrained(name), { op: 'wait_drained', args: { queues: [name] } }, target);
  }
  for (const [name, q] of queues) {
    if (!q.deletes) continue;
    const target = address('Queue', name);
    g.add(key.drain(name), { op: 'drain_queue', args: { name } }, target);
    g.add(key.waitQueueDrained(name), { op: 'wait_drained', args: { queues: [name] } }, target);
    g.add(key.deleteQueue(name), { op: 'delete_queue', args: { name } }, target);
  }
  for (const [name, q] of queues) {
    if (q.activates)
      g.add(key.activate(name), { op: 'activate_queue', args: { name } }, address('Queue', name));
  }
}

/** Assignments removed and set. */
function addAssignmentNodes(b: StepBuild): void {
  const { g, ctx, assignments } = b;
  for (const [k, a] of assignments) {
    const l = ctx.lAssignments.get(k);
    const d = ctx.dAssignments.get(k);
    const id = (l ?? d)!;
    const akey = { project: id.project, domain: id.domain, workflow: id.workflow };
    if (a.remove)
      g.add(
        key.deleteAssignment(k),
        { op: 'delete_assignment', args: akey },
        address('PoolAssignment', k),
      );
    if (a.set)
      g.add(
        key.setAssignment(k),
        { op: 'set_assignment', args: { ...akey, pool: a.finalPool! } },
        address('PoolAssignment', k),
      );
  }
}

/** Pool deletes, last. */
function addPoolDeletes(b: StepBuild): void {
  const { g, ctx } = b;
  for (const [name, d] of ctx.pools) {
    if (d.deletes)
      g.add(
        key.deletePool(name),
        { op: 'delete_pool', args: { name } },
        address('ClusterPool', name),
      );
  }
}

/**
 * soft_delete (cluster-undelete.ts): the undelete takes the registration's key, so every step
 * that waits for the cluster to exist waits for it; it comes back DRAINED in its old pool, is
 * moved (cluster_move) when declared elsewhere, and activated when declared enabled.
 */
function addClusterUndelete(
  g: StepGraph,
  name: string,
  pool: string,
  enabled: boolean,
  moves: boolean,
): void {
  const target = address('Cluster', name);
  g.add(key.register(name), { op: 'undelete_cluster', args: { name } }, target);
  if (moves) g.add(key.move(name), { op: 'move_cluster', args: { name, pool } }, target);
  if (enabled)
    g.add(key.updateCluster(name), { op: 'update_cluster', args: { name, enabled: true } }, target);
}
