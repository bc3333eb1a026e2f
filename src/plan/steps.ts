/**
 * The step graph of a plan (plan.md, "Steps and order"), built from the per-object decisions:
 *  1. pools are created before anything that lives in them;
 *  2. clusters are registered after their pool exists, a replaced one after its old record is deleted;
 *  3. queues are created or updated after their pool and every cluster of their new selector exist;
 *  4. before a cluster delete: the queue updates that touch it, then wait_idle (Q7, C9);
 *  5. pools are deleted after their clusters; assignments naming a pool are removed before it
 *     is deleted and set after it is created (A3).
 */
import {
  address,
  type QueueSpec,
  dataPlaneMismatches,
  type PoolContract,
} from '../model/common.js';
import type { Step, ManualInstruction, Plan, StepKind } from '../model/plan.js';
import { leaves, type PlanContext, type QueueDecision } from './context.js';
import { drainedWithCluster, waitSets } from './queues.js';
import {
  AFTER_UNDELETE,
  StepGraph,
  STEP_OPS,
  argsAddress,
  sameKey,
  stepKey as key,
  type StepKey,
} from './graph.js';
import { addDefaultQueueSteps } from './default-queues.js';
import { addLabelSteps } from './cluster-labels.js';
import { addCascadeOrder } from './flyteadmin.js';

export function buildSteps(ctx: PlanContext): Step[] {
  const b = stepBuild(ctx);
  // Nodes, in the order a reader expects when nothing forces another.
  addPoolNodes(b);
  addClusterNodes(b);
  addQueueCallNodes(b);
  addLeavingNodes(b);
  addQueueLifecycleNodes(b);
  addAssignmentNodes(b);
  addLabelSteps(b.g, ctx);
  addPoolDeletes(b);
  orderPools(b);
  orderMovedClusters(b);
  orderClusters(b);
  orderQueueCalls(b);
  orderLeaving(b);
  orderQueueLifecycle(b);
  orderPins(b);
  orderAssignments(b);
  addCascadeOrder(b.g, ctx);
  addDefaultQueueSteps(ctx, b.g);
  return b.g.finalize();
}

function stepBuild(ctx: PlanContext) {
  const waitFor = waitSets(ctx, ctx);
  const graph = new StepGraph();
  return {
    g: graph,
    ctx,
    // Only those with a step (most objects of a big organisation have none).
    queues: filtered(
      ctx.queues,
      (q) => q.call || q.deletes || q.activates || q.moves || q.undeletes,
    ),
    assignments: filtered(ctx.assignments, (a) => a.set || a.remove),
    replaced: (c: string) => {
      const d = ctx.clusters.get(c);
      return d?.registers === true && d.deletes === true;
    },
    /** The call taking leaving clusters out of its selector (rule 4): the first, if split. */
    removalStep: (name: string, q: QueueDecision): StepKey | undefined => {
      if (!q.call) return undefined;
      const first = key.queueFirst(name);
      return graph.has(first) ? first : key.queue(name);
    },
    waitFor,
    drainedWith: (c: string) => drainedWithCluster(ctx, ctx, c),
    leave: (c: string) => (ctx.movedClusters.has(c) ? key.move(c) : key.deleteCluster(c)),
  };
}

type StepBuild = ReturnType<typeof stepBuild>;

function addPoolNodes(b: StepBuild): void {
  const { g, ctx } = b;
  for (const [name, d] of ctx.pools) {
    const contract = d.finalContract!;
    // soft_delete: an undelete takes the create's key: what waits for the pool waits for it.
    if (d.undeletes) g.add(key.createPool(name), 'undelete_pool', { name });
    const at = d.change.address;
    if (d.creates) g.add(key.createPool(name), 'create_pool', { name, contract }, at);
    if (d.updates) g.add(key.updatePool(name), 'update_pool', { name, contract }, at);
  }
}

function addClusterNodes(b: StepBuild): void {
  const { g, ctx } = b;
  ctx.clusters.forEach((d, name) => {
    const dc = ctx.dClusters.get(name);
    if (!dc) return;
    const { pool, enabled } = dc;
    if (d.undeletes) {
      // soft_delete: the undelete takes the registration's key (what waits for the cluster
      // waits for it); back DRAINED in its old pool, then moved and activated as declared.
      g.add(key.register(name), 'undelete_cluster', { name });
      if (d.moves) g.add(key.move(name), 'move_cluster', { name, pool });
      if (enabled) g.add(key.updateCluster(name), 'update_cluster', { name, enabled: true });
    } else if (d.registers) {
      const args = { name, pool, ...(dc.data_plane ? { data_plane: dc.data_plane } : {}) };
      const at = d.change.address;
      g.add(key.register(name), 'register_cluster', args, at);
      // C6: a registration enables the cluster; disabling is a second call.
      if (!enabled) g.add(key.updateCluster(name), 'update_cluster', { name, enabled: false }, at);
    } else if (d.moves) {
      g.add(key.move(name), 'move_cluster', { name, pool });
      if (enabled !== ctx.lClusters.get(name)?.enabled)
        g.add(key.updateCluster(name), 'update_cluster', { name, enabled });
    } else if (d.change.action === 'update') {
      g.add(key.updateCluster(name), 'update_cluster', { name, enabled });
    }
  });
}

/** Queues: undelete, then the call (in two when a repointing must come first). */
function addQueueCallNodes(b: StepBuild): void {
  const { g, ctx, queues, replaced } = b;
  queues.forEach((q, name) => {
    if (!q.undeletes) return;
    g.add(key.undelete(name), 'undelete_queue', { name });
    const deleted = ctx.lDeletedQueues.get(name);
    if (!deleted) return;
    g.order(key.createPool(deleted.pool), key.undelete(name));
    for (const c of deleted.clusters) g.order(key.register(c), key.undelete(name));
  });
  queues.forEach((q, name) => {
    if (!q.call) return;
    const spec = q.call.spec;
    g.add(key.queue(name), q.call.op, { name, ...spec }, q.change.address);
    // A moved queue (queue_move) is drained first: it needs no repointing before a delete.
    const removes =
      !q.deletes &&
      !q.moves &&
      q.live !== null &&
      q.live.clusters.some((c) => ctx.deletedClusters.has(c));
    if (removes && spec.clusters.some(replaced)) {
      // New selector names a re-registered cluster, old one a deleted one: two calls, no cycle.
      const first: QueueSpec = { ...spec, clusters: spec.clusters.filter((c) => !replaced(c)) };
      g.add(key.queueFirst(name), 'update_queue', { name, ...first }, q.change.address);
    }
  });
}

/**
 * Each leaving cluster: wait_idle on the queues routing only to it (C9: watched, never
 * changed); a moved one's co-named queue drained until DRAINED (U23); then its delete.
 */
function addLeavingNodes(b: StepBuild): void {
  const { g, ctx, waitFor, drainedWith } = b;
  const leaving = [...ctx.deletedClusters, ...ctx.movedClusters].sort();
  for (const name of leaving) {
    const drained = drainedWith(name);
    const idle = (waitFor.get(name) ?? []).filter((q) => !drained || q !== name);
    if (idle.length > 0) g.add(key.wait(name), 'wait_idle', { queues: idle, cluster: name });
    if (drained) {
      g.add(key.drain(name), 'drain_queue', { name });
      g.add(key.waitDrained(name), 'wait_drained', { queues: [name] }, address('Cluster', name));
    }
    if (ctx.deletedClusters.has(name)) g.add(key.deleteCluster(name), 'delete_cluster', { name });
  }
}

function addQueueLifecycleNodes(b: StepBuild): void {
  const { g, queues } = b;
  const drain = (name: string) => {
    g.add(key.drain(name), 'drain_queue', { name });
    const target = address('Queue', name);
    g.add(key.waitQueueDrained(name), 'wait_drained', { queues: [name] }, target);
  };
  queues.forEach((q, name) => {
    if (q.moves) drain(name);
  });
  queues.forEach((q, name) => {
    if (!q.deletes) return;
    drain(name);
    g.add(key.deleteQueue(name), 'delete_queue', { name });
  });
  queues.forEach((q, name) => {
    if (q.activates) g.add(key.activate(name), 'activate_queue', { name });
  });
}

function addAssignmentNodes(b: StepBuild): void {
  const { g, ctx, assignments } = b;
  assignments.forEach((a, k) => {
    const { project, domain, workflow } = (ctx.lAssignments.get(k) ?? ctx.dAssignments.get(k))!;
    const akey = { project, domain, workflow };
    if (a.remove) g.add(key.deleteAssignment(k), 'delete_assignment', akey);
    const at = a.change.address;
    if (a.set) g.add(key.setAssignment(k), 'set_assignment', { ...akey, pool: a.finalPool! }, at);
  });
}

function addPoolDeletes(b: StepBuild): void {
  for (const [name, d] of b.ctx.pools)
    if (d.deletes) b.g.add(key.deletePool(name), 'delete_pool', { name });
}

/** C4/C5: the cluster's reported data plane (if any) matches this contract. */
function matchesContract(ctx: PlanContext, cluster: string, contract: PoolContract): boolean {
  const reported = ctx.reported(cluster);
  return reported === null || dataPlaneMismatches(contract, reported).length === 0;
}

/** Pool deletes after their members leave; updates after mismatching members leave (C4). */
function orderPools(b: StepBuild): void {
  const { g, ctx, leave } = b;
  for (const [name, d] of ctx.pools) {
    g.order(key.deletePool(name), key.createPool(name));
    // An undeleted pool (its step under the create's key) is updated once back.
    if (d.undeletes) g.order(key.createPool(name), key.updatePool(name));
    for (const c of ctx.lClustersByPool.get(name) ?? []) {
      if (d.deletes) g.order(leave(c), key.deletePool(name));
      // pool_update checks the members present (C4): one that would not match leaves first.
      if (leaves(ctx, c) && d.updates && !matchesContract(ctx, c, d.finalContract!))
        g.order(leave(c), key.updatePool(name));
    }
    if (d.deletes) {
      for (const q of ctx.lQueuesByPool.get(name) ?? []) {
        g.order(key.deleteQueue(q), key.deletePool(name));
        // A co-named queue leaves with its cluster's move; a moved queue with its own.
        g.order(key.move(q), key.deletePool(name));
        if (ctx.queues.get(q)?.moves) g.order(key.queue(q), key.deletePool(name));
      }
    }
  }
}

/** cluster_move: after the target pool exists (and matches, C4), before the cluster update. */
function orderMovedClusters(b: StepBuild): void {
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
function orderClusters(b: StepBuild): void {
  const { g, ctx } = b;
  ctx.clusters.forEach((d, name) => {
    const dc = ctx.dClusters.get(name);
    if (d.undeletes && dc) {
      g.order(key.createPool(d.undeletes.pool), key.register(name));
      g.order(key.createPool(dc.pool), key.move(name));
      g.order(key.updatePool(dc.pool), key.move(name));
      g.order(key.register(name), key.move(name));
      g.order(key.move(name), key.updateCluster(name));
      g.order(key.register(name), key.updateCluster(name));
      return;
    }
    if (!d.registers || !dc) return;
    g.order(key.createPool(dc.pool), key.register(name));
    // C4 checks a declared data plane against the contract at registration.
    if (dc.data_plane) g.order(key.updatePool(dc.pool), key.register(name));
    g.order(key.deleteCluster(name), key.register(name));
    g.order(key.register(name), key.updateCluster(name));
  });
}

/** Queue calls after their pool and clusters, repointing before a leave (rule 4). */
function orderQueueCalls(b: StepBuild): void {
  const { g, ctx, queues, replaced, removalStep, leave } = b;
  queues.forEach((q, name) => {
    if (!q.call) return;
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
    if (q.createdBy) g.order(key.register(q.createdBy), k);
    const removal = removalStep(name, q)!;
    if (!sameKey(removal, k)) {
      g.order(removal, k);
      for (const c of spec.clusters) if (!replaced(c)) g.order(key.register(c), removal);
    }
    // queue_move: DRAINED before the move, which needs no repointing in its old pool.
    if (q.moves) {
      g.order(key.drain(name), key.waitQueueDrained(name));
      g.order(key.waitQueueDrained(name), k);
      return;
    }
    // A deleted queue needs no repointing; a moved cluster's co-named queue moves with it.
    const movesAlong = q.live?.cluster_managed === true && ctx.movedClusters.has(name);
    if (q.deletes || movesAlong || !q.live) return;
    for (const c of q.live.clusters) {
      if (!leaves(ctx, c)) continue;
      g.order(removal, key.drain(name));
      const first = [key.wait(c), key.waitDrained(c)].filter((w) => g.has(w));
      for (const w of first.length > 0 ? first : [leave(c)]) g.order(removal, w);
    }
  });
}

/** Waits before a leave; a moved cluster's co-named queue drained before that cluster's wait. */
function orderLeaving(b: StepBuild): void {
  const { g, ctx, leave } = b;
  for (const c of [...ctx.deletedClusters, ...ctx.movedClusters]) {
    g.order(key.wait(c), leave(c));
    g.order(key.drain(c), key.waitDrained(c));
    g.order(key.waitDrained(c), leave(c));
  }
}

/** Queue deletes after their drain (and their cluster, Q4); activations last. */
function orderQueueLifecycle(b: StepBuild): void {
  const { g, queues, leave, drainedWith } = b;
  queues.forEach((q, name) => {
    if (q.deletes) {
      g.order(key.drain(name), key.waitQueueDrained(name));
      g.order(key.waitQueueDrained(name), key.deleteQueue(name));
      // Q4: a co-named queue goes once its cluster is deleted.
      g.order(key.deleteCluster(name), key.deleteQueue(name));
      // A queue naming a cluster blocks its delete (remote/_cluster.py): this one goes first.
      for (const c of q.live?.clusters ?? [])
        if (c !== name) g.order(key.deleteQueue(name), key.deleteCluster(c));
    }
    if (q.activates) {
      const k = key.activate(name);
      g.order(key.queue(name), k);
      g.order(key.undelete(name), k);
      if (drainedWith(name)) g.order(leave(name), k);
      for (const c of q.final?.clusters ?? []) {
        g.order(key.register(c), k);
        g.order(key.move(c), k);
      }
      // Drained while a cluster it routes to leaves: only after that leave.
      g.order(key.drain(name), k);
    }
  });
}

/**
 * unpin_first (remote/_cluster.py:330-331, 363-365, 450-451): a cluster is drained, moved or
 * deleted only once the queues this plan unpins from it are repointed (or deleted), and a pin
 * this plan adds to a cluster it drains comes after the drain.
 */
export function orderPins(b: StepBuild): void {
  const { g, ctx, queues, removalStep } = b;
  if (!ctx.caps.unpin_first) return;
  queues.forEach((q, name) => {
    const final = new Set(q.final?.clusters ?? []);
    const unpin = q.deletes ? key.deleteQueue(name) : removalStep(name, q);
    // An undeleted queue comes back with the clusters it had (remote/_queue.py:1040-1046).
    const was = q.live?.clusters ?? (q.undeletes ? ctx.lDeletedQueues.get(name)?.clusters : []);
    for (const c of was ?? []) {
      if (c === name || (final.has(c) && !q.deletes)) continue;
      for (const step of [key.updateCluster(c), key.move(c), key.deleteCluster(c)])
        g.order(unpin, step);
    }
    const call = removalStep(name, q);
    const live = new Set(q.live?.clusters ?? []);
    for (const c of final)
      if (!live.has(c) && ctx.dClusters.get(c)?.enabled === false) {
        g.order(key.updateCluster(c), call === undefined ? undefined : key.queue(name));
        g.order(key.updateCluster(c), key.undelete(name));
      }
  });
}

/** A3: assignments around their pools. */
function orderAssignments(b: StepBuild): void {
  const { g, ctx, assignments } = b;
  assignments.forEach((a, k) => {
    g.order(key.deleteAssignment(k), key.setAssignment(k));
    if (a.finalPool) g.order(key.createPool(a.finalPool), key.setAssignment(k));
    if (a.livePool && ctx.pools.get(a.livePool)?.deletes) {
      g.order(key.deleteAssignment(k), key.deletePool(a.livePool));
      if (a.finalPool !== a.livePool) g.order(key.setAssignment(k), key.deletePool(a.livePool));
    }
  });
}

/** Steps' `execution`: `manual` where the backend has no public API (plan.md, Manual steps). */
export function withExecution(
  plan: Plan,
  manualStep: ((step: Step) => ManualInstruction | null) | undefined,
): Plan {
  if (!manualStep) {
    if (plan.steps.every((s) => s.execution !== undefined)) return plan;
    return { ...plan, steps: plan.steps.map((s) => ({ ...s, execution: s.execution ?? 'api' })) };
  }
  return {
    ...plan,
    steps: plan.steps.map((s): Step => {
      const { manual: _drop, ...step } = s;
      const manual = manualStep(step);
      return manual ? { ...step, execution: 'manual', manual } : { ...step, execution: 'api' };
    }),
  };
}

export function isManual(step: Step): boolean {
  return step.execution === 'manual';
}

/** Each non-manual step's first manual ancestor (steps are in topological order: one pass). */
export function waitingOnManual(steps: readonly Step[]): Map<string, string> {
  const blockedBy = new Map<string, string>();
  const manual = new Set(steps.filter(isManual).map((s) => s.id));
  for (const s of steps) {
    for (const dep of s.depends_on) {
      const by = manual.has(dep) ? dep : blockedBy.get(dep);
      if (by !== undefined && !manual.has(s.id)) {
        blockedBy.set(s.id, by);
        break;
      }
    }
  }
  return blockedBy;
}

/**
 * Why a step is not accounted for by the plan's changes (docs/plan.md, Saved plans), or null: a
 * reviewer reads the changes, so such a step (a `delete_cluster` added by hand to a saved plan)
 * would run unseen. Checked when a plan is saved and read (src/render/plan-file.ts).
 */
export function unaccountedStep(plan: Pick<Plan, 'changes' | 'steps'>): string | null {
  const byAddress = new Map(plan.changes.map((c) => [c.address, c.action]));
  const undeleted = new Set(plan.steps.filter((s) => isUndelete(s.op)).map((s) => s.target));
  for (const step of plan.steps) {
    const what = `step ${step.id} (${step.op} ${step.target})`;
    const action = byAddress.get(step.target);
    if (action === undefined) return `${what} acts on an object the plan shows no change for`;
    const afterUndelete =
      action === 'create' && AFTER_UNDELETE.has(step.op) && undeleted.has(step.target);
    if (!STEP_OPS[step.op][0].has(action) && !afterUndelete)
      return `${what} does not realise the change the plan shows for it (${action})`;
    const named = argsAddress(step);
    if (named !== null && named !== step.target)
      return `${what} has arguments naming ${named}, not its target`;
    if (step.op === 'wait_drained' && !/^(Cluster|Queue)\//.test(step.target))
      return `${what} waits on something that is neither a cluster nor a queue`;
  }
  return null;
}

function isUndelete(op: StepKind): boolean {
  return op === 'undelete_pool' || op === 'undelete_cluster' || op === 'undelete_queue';
}

/**
 * The entries `keep` accepts, copying only those: spreading every entry first (and the live
 * indexes' key arrays, context.ts) cost the 100,000-object plan about 10 MB of peak RSS. Read
 * with forEach: a for-of loop over 70,000 entries, run once, allocated an iterator result and
 * an entry array each (~20 MB over the passes of a plan of 100,000 creates).
 */
function filtered<K, V>(map: ReadonlyMap<K, V>, keep: (v: V) => unknown): Map<K, V> {
  const out = new Map<K, V>();
  map.forEach((v, k) => {
    if (keep(v)) out.set(k, v);
  });
  return out;
}
