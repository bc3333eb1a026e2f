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
  DEFAULT_QUEUE,
  WILDCARD,
  address,
  type QueueSpec,
  dataPlaneMismatches,
  fieldAt,
  type PoolContract,
} from '../model/common.js';
import {
  isActionable,
  type Change,
  type Step,
  type ManualInstruction,
  type Plan,
  type StepKind,
  type WaitWhy,
} from '../model/plan.js';
import type { LiveState } from '../model/live.js';
import { LiveIndex, leaves, push, type PlanContext, type QueueDecision } from './context.js';
import { drainedWithCluster, waitSets } from './queues.js';
import { createdFields, diffForms, queueArgs } from './forms.js';
import { isMap } from '../util/json-shape.js';
import {
  AFTER_UNDELETE,
  ARGS_FORM,
  StepGraph,
  STEP_OPS,
  argsAddress,
  type StepNode,
} from './graph.js';
import { sameJson } from '../util/same-json.js';
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
  const at = graph.at;
  // Only those with a step (most objects of a big organisation have none).
  const queues = filtered(
    ctx.queues,
    (q) => q.call || q.deletes || q.activates || q.moves || q.undeletes,
  );
  /**
   * By a queue's place in `queues`: its call's step (at.queue), kept as added, not looked up
   * again by name (at 100,000 creates ~140,000 lookups in a map of ~70,000 names).
   */
  const calls: (StepNode | undefined)[] = [];
  return {
    g: graph,
    at,
    ctx,
    queues,
    calls,
    assignments: filtered(ctx.assignments, (a) => a.set || a.remove),
    replaced: (c: string) => {
      const d = ctx.clusters.get(c);
      return d?.registers === true && d.deletes === true;
    },
    /** The call taking leaving clusters out of its selector (rule 4): the first, if split. */
    removalStep: (name: string, q: QueueDecision, i: number): StepNode | undefined =>
      q.call ? (at.queueFirst(name) ?? calls[i]) : undefined,
    waitFor,
    drainedWith: (c: string) => drainedWithCluster(ctx, ctx, c),
    leave: (c: string) => (ctx.movedClusters.has(c) ? at.move(c) : at.deleteCluster(c)),
  };
}

type StepBuild = ReturnType<typeof stepBuild>;

function addPoolNodes(b: StepBuild): void {
  const { g, ctx } = b;
  for (const [name, d] of ctx.pools) {
    const contract = d.finalContract!;
    // soft_delete: an undelete takes the create's key: what waits for the pool waits for it.
    if (d.undeletes) g.add('createPool', name, 'undelete_pool', { name });
    const where = d.change.address;
    if (d.creates) g.add('createPool', name, 'create_pool', { name, contract }, where);
    if (d.updates) g.add('updatePool', name, 'update_pool', { name, contract }, where);
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
      g.add('register', name, 'undelete_cluster', { name });
      if (d.moves) g.add('move', name, 'move_cluster', { name, pool });
      if (enabled) g.add('updateCluster', name, 'update_cluster', { name, enabled: true });
    } else if (d.registers) {
      // Two literals, not a spread of `{}` into one (V8's slow path: ~20,000 registrations).
      const args = dc.data_plane ? { name, pool, data_plane: dc.data_plane } : { name, pool };
      const where = d.change.address;
      g.add('register', name, 'register_cluster', args, where);
      // C6: a registration enables the cluster; disabling is a second call, which a stopping
      // apply still makes once the registration is done (a cluster declared disabled takes work).
      if (!enabled)
        g.completesChange(
          g.add('updateCluster', name, 'update_cluster', { name, enabled: false }, where),
        );
    } else if (d.moves) {
      g.add('move', name, 'move_cluster', { name, pool });
      if (enabled !== ctx.lClusters.get(name)?.enabled)
        g.add('updateCluster', name, 'update_cluster', { name, enabled });
    } else if (d.change.action === 'update') {
      g.add('updateCluster', name, 'update_cluster', { name, enabled });
    }
  });
}

/** Queues: undelete, then the call (in two when a repointing must come first). */
function addQueueCallNodes(b: StepBuild): void {
  const { g, at, ctx, queues, replaced, calls } = b;
  queues.forEach((q, name) => {
    if (!q.undeletes) return;
    g.add('undelete', name, 'undelete_queue', { name });
    const deleted = ctx.lDeletedQueues.get(name);
    if (!deleted) return;
    g.order(at.createPool(deleted.pool), at.undelete(name));
    for (const c of deleted.clusters) g.order(at.register(c), at.undelete(name));
  });
  queues.forEach((q, name, i) => {
    if (!q.call) return;
    const spec = q.call.spec;
    // Each queue once in the walk, and only this pass adds queue calls.
    calls[i] = g.addNew('queue', name, q.call.op, queueArgs(name, spec), q.change.address);
    // A moved queue (queue_move) is drained first: it needs no repointing before a delete.
    const removes =
      !q.deletes &&
      !q.moves &&
      q.live !== null &&
      q.live.clusters.some((c) => ctx.deletedClusters.has(c));
    if (removes && spec.clusters.some(replaced)) {
      // New selector names a re-registered cluster, old one a deleted one: two calls, no cycle.
      const first: QueueSpec = { ...spec, clusters: spec.clusters.filter((c) => !replaced(c)) };
      g.add('queueFirst', name, 'update_queue', { name, ...first }, q.change.address);
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
    const idle = waitIdleArgs(name, waitFor, drained);
    if (idle !== null) g.add('wait', name, 'wait_idle', idle);
    if (drained) {
      g.add('drain', name, 'drain_queue', { name });
      g.add('waitDrained', name, 'wait_drained', drainedArgs(name), address('Cluster', name));
    }
    if (ctx.deletedClusters.has(name)) g.add('deleteCluster', name, 'delete_cluster', { name });
  }
}

/** wait_idle before `cluster` leaves (C9): the queues watched, but the one drained for it (U23). */
function waitIdleArgs(
  cluster: string,
  waitFor: ReadonlyMap<string, ReadonlyMap<string, WaitWhy>>,
  drained: boolean,
): WaitIdleArgs | null {
  const watched = [...(waitFor.get(cluster) ?? [])].filter(([q]) => !drained || q !== cluster);
  if (watched.length === 0) return null;
  watched.sort(([a], [b]) => (a < b ? -1 : 1));
  return { queues: watched.map(([q]) => q), cluster, why: Object.fromEntries(watched) };
}

type WaitIdleArgs = Extract<Step, { op: 'wait_idle' }>['args'];

/** wait_drained of the one queue drained: a cluster's co-named one, or a queue moved or deleted. */
const drainedArgs = (name: string) => ({ queues: [name] });

function addQueueLifecycleNodes(b: StepBuild): void {
  const { g, queues, drainedWith } = b;
  const drain = (name: string) => {
    g.add('drain', name, 'drain_queue', { name });
    const target = address('Queue', name);
    g.add('waitQueueDrained', name, 'wait_drained', drainedArgs(name), target);
  };
  queues.forEach((q, name) => {
    if (q.moves) drain(name);
  });
  queues.forEach((q, name) => {
    if (!q.deletes) return;
    drain(name);
    g.add('deleteQueue', name, 'delete_queue', { name });
  });
  queues.forEach((q, name) => {
    if (!q.activates) return;
    const activate = g.add('activate', name, 'activate_queue', { name });
    // A queue this plan drains for a move (its own or its cluster's), active before and after:
    // a stopping apply still activates it once moved, or it is left drained in its new pool.
    if ((q.moves || drainedWith(name)) && (q.live?.state ?? 'active') === 'active')
      g.completesChange(activate);
  });
}

function addAssignmentNodes(b: StepBuild): void {
  const { g, ctx, assignments } = b;
  assignments.forEach((a, k) => {
    const { project, domain, workflow } = (ctx.lAssignments.get(k) ?? ctx.dAssignments.get(k))!;
    const akey = { project, domain, workflow };
    if (a.remove) g.add('deleteAssignment', k, 'delete_assignment', akey);
    const where = a.change.address;
    if (a.set) g.add('setAssignment', k, 'set_assignment', { ...akey, pool: a.finalPool! }, where);
  });
}

function addPoolDeletes(b: StepBuild): void {
  for (const [name, d] of b.ctx.pools)
    if (d.deletes) b.g.add('deletePool', name, 'delete_pool', { name });
}

/** C4/C5: the cluster's reported data plane (if any) matches this contract. */
function matchesContract(ctx: PlanContext, cluster: string, contract: PoolContract): boolean {
  const reported = ctx.reported(cluster);
  return reported === null || dataPlaneMismatches(contract, reported).length === 0;
}

/** Pool deletes after their members leave; updates after mismatching members leave (C4). */
function orderPools(b: StepBuild): void {
  const { g, at, ctx, leave } = b;
  for (const [name, d] of ctx.pools) {
    g.order(at.deletePool(name), at.createPool(name));
    // An undeleted pool (its step under the create's key) is updated once back.
    if (d.undeletes) g.order(at.createPool(name), at.updatePool(name));
    for (const c of ctx.lClustersByPool.get(name) ?? []) {
      if (d.deletes) g.order(leave(c), at.deletePool(name));
      // pool_update checks the members present (C4): one that would not match leaves first.
      if (leaves(ctx, c) && d.updates && !matchesContract(ctx, c, d.finalContract!))
        g.order(leave(c), at.updatePool(name));
    }
    if (d.deletes) {
      for (const q of ctx.lQueuesByPool.get(name) ?? []) {
        g.order(at.deleteQueue(q), at.deletePool(name));
        // A co-named queue leaves with its cluster's move; a moved queue with its own.
        g.order(at.move(q), at.deletePool(name));
        if (ctx.queues.get(q)?.moves) g.order(at.queue(q), at.deletePool(name));
      }
      // soft_delete: a queue undeleted comes back in this pool (U19: while it is live) and
      // leaves it by its own call; Union refuses the pool's delete until then (P5).
      ctx.lDeletedQueues.forEach((q, queue) => {
        if (q.pool !== name || !ctx.queues.get(queue)?.undeletes) return;
        g.order(at.undelete(queue), at.deletePool(name));
        g.order(at.queue(queue), at.deletePool(name));
      });
    }
  }
}

/** cluster_move: after the target pool exists (and matches, C4), before the cluster update. */
function orderMovedClusters(b: StepBuild): void {
  const { g, at, ctx } = b;
  for (const c of ctx.movedClusters) {
    const pool = ctx.clusters.get(c)!.final!.pool;
    g.order(at.createPool(pool), at.move(c));
    // The move is checked against the pool's contract at that moment (C4).
    const current = ctx.lPools.get(pool)?.contract;
    if (!current || !matchesContract(ctx, c, current)) g.order(at.updatePool(pool), at.move(c));
    g.order(at.move(c), at.updateCluster(c));
  }
}

/** Registrations and undeletes after their pool, a replacement after its delete. */
function orderClusters(b: StepBuild): void {
  const { g, at, ctx } = b;
  ctx.clusters.forEach((d, name) => {
    const dc = ctx.dClusters.get(name);
    if (d.undeletes && dc) {
      g.order(at.createPool(d.undeletes.pool), at.register(name));
      g.order(at.createPool(dc.pool), at.move(name));
      g.order(at.updatePool(dc.pool), at.move(name));
      g.order(at.register(name), at.move(name));
      g.order(at.move(name), at.updateCluster(name));
      g.order(at.register(name), at.updateCluster(name));
      return;
    }
    if (!d.registers || !dc) return;
    // Looked up once, not once an edge (20,000 registrations at 100,000 creates).
    const register = at.register(name);
    g.order(at.createPool(dc.pool), register);
    // C4 checks a declared data plane against the contract at registration.
    if (dc.data_plane) g.order(at.updatePool(dc.pool), register);
    g.order(at.deleteCluster(name), register);
    g.order(register, at.updateCluster(name));
  });
}

/** Queue calls after their pool and clusters, repointing before a leave (rule 4). */
function orderQueueCalls(b: StepBuild): void {
  const { g, at, ctx, queues, calls, replaced, removalStep, leave } = b;
  queues.forEach((q, name, i) => {
    if (!q.call) return;
    const k = calls[i];
    const spec = q.call.spec;
    g.order(at.createPool(spec.pool), k);
    // Indexed, not for-of: no iterator a queue (~70,000 at 100,000 creates).
    for (let j = 0; j < spec.clusters.length; j++) {
      const c = spec.clusters[j]!;
      // `*` names no cluster (N1: steps register and move declared clusters): nothing to look up.
      if (c === WILDCARD) continue;
      g.order(at.register(c), k);
      g.order(at.move(c), k);
    }
    // replace (drain, queue_delete): the old queue is deleted before the new one is created.
    g.order(at.deleteQueue(name), k);
    // soft_delete: the reserved name's queue comes back before its update.
    g.order(at.undelete(name), k);
    if (q.createdBy) g.order(at.register(q.createdBy), k);
    const removal = removalStep(name, q, i)!;
    if (removal !== k) {
      g.order(removal, k);
      for (const c of spec.clusters) if (!replaced(c)) g.order(at.register(c), removal);
    }
    // queue_move: DRAINED before the move, which needs no repointing in its old pool.
    if (q.moves) {
      g.order(at.drain(name), at.waitQueueDrained(name));
      g.order(at.waitQueueDrained(name), k);
      return;
    }
    // A deleted queue needs no repointing; a moved cluster's co-named queue moves with it.
    const movesAlong = q.live?.cluster_managed === true && ctx.movedClusters.has(name);
    if (q.deletes || movesAlong || !q.live) return;
    for (const c of q.live.clusters) {
      if (!leaves(ctx, c)) continue;
      g.order(removal, at.drain(name));
      const first = [at.wait(c), at.waitDrained(c)].filter((w) => w !== undefined);
      for (const w of first.length > 0 ? first : [leave(c)]) g.order(removal, w);
    }
  });
}

/** Waits before a leave; a moved cluster's co-named queue drained before that cluster's wait. */
function orderLeaving(b: StepBuild): void {
  const { g, at, ctx, leave } = b;
  for (const c of [...ctx.deletedClusters, ...ctx.movedClusters]) {
    g.order(at.wait(c), leave(c));
    g.order(at.drain(c), at.waitDrained(c));
    g.order(at.waitDrained(c), leave(c));
  }
}

/** Queue deletes after their drain (and their cluster, Q4); activations last. */
function orderQueueLifecycle(b: StepBuild): void {
  const { g, at, ctx, queues, leave, drainedWith } = b;
  queues.forEach((q, name) => {
    if (q.deletes) {
      // C3: a registration brings a missing `default` back (a soft-deleted one stays reserved),
      // so it goes after every registration of the plan.
      if (name === DEFAULT_QUEUE && !ctx.caps.soft_delete)
        ctx.clusters.forEach((c, cluster) => {
          if (c.registers) g.order(at.register(cluster), at.drain(name));
        });
      g.order(at.drain(name), at.waitQueueDrained(name));
      g.order(at.waitQueueDrained(name), at.deleteQueue(name));
      // Q4: a co-named queue goes once its cluster is deleted.
      g.order(at.deleteCluster(name), at.deleteQueue(name));
      // A queue naming a cluster blocks its delete (remote/_cluster.py): this one goes first.
      for (const c of q.live?.clusters ?? [])
        if (c !== name) g.order(at.deleteQueue(name), at.deleteCluster(c));
    }
    if (q.activates) {
      const k = at.activate(name);
      g.order(at.queue(name), k);
      g.order(at.undelete(name), k);
      if (drainedWith(name)) g.order(leave(name), k);
      // U14: a co-named queue is active only while its cluster is (remote/_queue.py:965-966).
      g.order(at.updateCluster(name), k);
      for (const c of q.final?.clusters ?? []) {
        g.order(at.register(c), k);
        g.order(at.move(c), k);
      }
      // Drained while a cluster it routes to leaves: only after that leave.
      g.order(at.drain(name), k);
    }
  });
}

/**
 * unpin_first (remote/_cluster.py:330-331, 363-365, 450-451): a cluster is drained, moved or
 * deleted only once the queues this plan unpins from it are repointed (or deleted), and a pin
 * this plan adds to a cluster it drains comes after the drain.
 */
export function orderPins(b: StepBuild): void {
  const { g, at, ctx, queues, removalStep } = b;
  if (!ctx.caps.unpin_first) return;
  queues.forEach((q, name, i) => {
    const final = new Set(q.final?.clusters ?? []);
    const unpin = q.deletes ? at.deleteQueue(name) : removalStep(name, q, i);
    // An undeleted queue comes back with the clusters it had (remote/_queue.py:1040-1046).
    const was = q.live?.clusters ?? (q.undeletes ? ctx.lDeletedQueues.get(name)?.clusters : []);
    for (const c of was ?? []) {
      if (c === name || (final.has(c) && !q.deletes)) continue;
      for (const step of [at.updateCluster(c), at.move(c), at.deleteCluster(c)])
        g.order(unpin, step);
    }
    const call = removalStep(name, q, i);
    const live = new Set(q.live?.clusters ?? []);
    for (const c of final)
      if (!live.has(c) && ctx.dClusters.get(c)?.enabled === false) {
        g.order(at.updateCluster(c), call === undefined ? undefined : at.queue(name));
        g.order(at.updateCluster(c), at.undelete(name));
      }
  });
}

/** A3: assignments around their pools. */
function orderAssignments(b: StepBuild): void {
  const { g, at, ctx, assignments } = b;
  assignments.forEach((a, k) => {
    g.order(at.deleteAssignment(k), at.setAssignment(k));
    if (a.finalPool) g.order(at.createPool(a.finalPool), at.setAssignment(k));
    if (a.livePool && ctx.pools.get(a.livePool)?.deletes) {
      g.order(at.deleteAssignment(k), at.deletePool(a.livePool));
      if (a.finalPool !== a.livePool) g.order(at.setAssignment(k), at.deletePool(a.livePool));
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
  // No manual step: nothing waits (not a walk over every dependency: ~300,000 at 100,000 creates).
  if (manual.size === 0) return blockedBy;
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
 * reviewer reads the changes, so such a step (a `delete_cluster` added by hand to a saved plan,
 * or arguments other than its change's `after`) would run unseen; nor is a change without its step
 * (unrealisedChange), nor a step out of the planner's order (unorderedStep). Checked when a plan is
 * saved and read (src/render/plan-file.ts).
 */
export function unaccountedStep(plan: Pick<Plan, 'changes' | 'steps'>): string | null {
  const { changes } = plan;
  const byAddress = new Map(changes.map((c, i) => [c.address, i]));
  // What the steps do to each change (REALISES), by its place: to find a change no step makes.
  const realised = new Uint8Array(changes.length);
  const shownChanges = new Set<Change>();
  const undeleted = new Set(plan.steps.filter((s) => isUndelete(s.op)).map((s) => s.target));
  // The step's words are made only for the one refused (a saved plan of 100,000 creates made
  // 100,000 of them to check it: ~0.1 s).
  const what = (step: Step) => `step ${step.id} (${step.op} ${step.target})`;
  // Each queue's last call, found once: rule 3 splits a queue's update in two calls.
  const lastQueueCall = new Map<string, number>();
  plan.steps.forEach((s, i) => QUEUE_CALLS.has(s.op) && lastQueueCall.set(s.target, i));
  for (let i = 0; i < plan.steps.length; i++) {
    const step = plan.steps[i]!;
    const at = byAddress.get(step.target);
    const change = at === undefined ? undefined : changes[at]!;
    if (change === undefined) return `${what(step)} acts on an object the plan shows no change for`;
    const { action } = change;
    realised[at!]! |= REALISES[step.op] ?? 0;
    const afterUndelete =
      action === 'create' && AFTER_UNDELETE.has(step.op) && undeleted.has(step.target);
    if (!STEP_OPS[step.op][0].has(action) && !afterUndelete)
      return `${what(step)} does not realise the change the plan shows for it (${action})`;
    const named = argsAddress(step);
    if (named !== null && named !== step.target)
      return `${what(step)} has arguments naming ${named}, not its target`;
    if (step.op === 'wait_drained' && !/^(Cluster|Queue)\//.test(step.target))
      return `${what(step)} waits on something that is neither a cluster nor a queue`;
    if (step.op === 'wait_drained' && !sameJson(step.args, drainedArgs(change.name)))
      return `${what(step)} waits on queues ${JSON.stringify(step.args.queues).slice(0, 80)}, but its change drains only ${change.name}`;
    const unshown = unshownArgument(step, change, (clusters, sent) => {
      const cluster = (c: string) => changes[byAddress.get(address('Cluster', c)) ?? -1];
      // Rule 3's first of two calls: the selector without the clusters the plan replaces.
      if (QUEUE_CALLS.has(step.op) && lastQueueCall.get(step.target)! > i)
        return clusters.filter((c) => cluster(c)?.action !== 'replace');
      // Q4/Q5: a managed queue's update resends its live selector, which C8 prunes to `after`.
      const before = change.before?.clusters as string[] | undefined;
      const leaving = (c: string) => {
        const d = cluster(c);
        const moved = d?.after?.pool !== d?.before?.pool && c !== change.name;
        return d?.action === 'delete' || d?.action === 'replace' || (d !== undefined && moved);
      };
      const resent =
        before !== undefined &&
        sameJson(sent, before) &&
        sameJson(
          before.filter((c) => !leaving(c)),
          clusters,
        );
      return resent ? before : clusters;
    });
    if (unshown !== null) return `${what(step)} ${unshown}`;
    if (ARGS_FORM[step.op] === 'none' || shownChanges.has(change)) continue;
    shownChanges.add(change);
    const misshown = misshownDiff(change, undeleted.has(change.address));
    if (misshown !== null) return `the change of ${step.target} ${misshown}`;
  }
  const moved = new Set(plan.steps.filter((s) => s.op === 'move_queue').map((s) => s.target));
  return (
    unrealisedChange(changes, realised, plan.steps, undeleted, moved) ??
    unorderedStep(plan, byAddress)
  );
}

/** Whether a change's note, which `show` prints, says its queue is activated again (queues.ts). */
function saysReactivated(change: Change): boolean {
  const { note } = change;
  if (typeof note === 'string') return note.includes('re-activated');
  return (note ?? []).some(
    (n) =>
      n.code === 'QUEUE_REACTIVATED' ||
      (n.code === 'QUEUE_MOVED_IN_PLACE' && n.params.activates === true),
  );
}

/** What a step does to its change, as the bits unrealisedChange asks of each change. */
const REMOVED = 1;
const MADE = 2;
const SENT = 4;
const DRAINED = 8;
const ACTIVATED = 16;
const WAITED = 32;
const REALISES: Partial<Record<StepKind, number>> = {
  create_pool: MADE,
  undelete_pool: MADE,
  register_cluster: MADE,
  undelete_cluster: MADE,
  create_queue: MADE,
  undelete_queue: MADE,
  set_assignment: MADE | SENT,
  set_default_queue: MADE | SENT,
  set_execution_cluster_label: MADE | SENT,
  update_pool: SENT,
  update_cluster: SENT,
  move_cluster: SENT,
  update_queue: SENT,
  move_queue: SENT,
  drain_queue: DRAINED,
  activate_queue: ACTIVATED,
  wait_drained: WAITED,
  delete_pool: REMOVED,
  delete_cluster: REMOVED,
  delete_queue: REMOVED,
  delete_assignment: REMOVED,
  delete_default_queue: REMOVED,
  delete_execution_cluster_label: REMOVED,
};
const UNREALISED: Record<number, string> = {
  [REMOVED]: 'deletes it',
  [MADE]: 'creates it',
  [SENT]: 'sends the fields its diff changes',
  [DRAINED]: 'drains it',
  [ACTIVATED]: 'activates it',
  [WAITED]: 'waits until it is DRAINED',
};

/**
 * A change no step realises, in words, or null: applied, it would be reported done and recorded
 * in the inventory as the plan leaves it, with nothing sent. A change the control plane makes
 * itself has no step of its own: its `caused_by` must name a step that makes it (causeMakes).
 */
function unrealisedChange(
  changes: readonly Change[],
  realised: Uint8Array,
  steps: readonly Step[],
  undeleted: ReadonlySet<string>,
  moved: ReadonlySet<string>,
) {
  // Built at the first change a cause is to make: a plan of pool and queue creates has none.
  let opsOn: Map<string, StepKind[]> | null = null;
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i]!;
    const { action, diff } = change;
    if (!isActionable(action)) continue;
    let needs = action === 'delete' ? REMOVED : action === 'create' ? MADE : 0;
    if (action === 'replace') needs = REMOVED | MADE;
    if (action === 'update')
      for (const d of diff ?? [])
        needs |= d.path !== 'state' ? SENT : d.after === 'active' ? ACTIVATED : DRAINED;
    // An undeleted object comes back with its old spec: the fields its diff changes are sent.
    if (action === 'create' && undeleted.has(change.address))
      for (const d of diff ?? []) if (d.path !== 'state') needs |= SENT;
    // queue_move (Q3): drained and DRAINED before the move (an undeleted one comes back DRAINED).
    // Active again where its note says so.
    if (action === 'update' && moved.has(change.address)) needs |= DRAINED | WAITED;
    if (saysReactivated(change)) needs |= ACTIVATED;
    const missing = needs & ~realised[i]!;
    if (missing === 0) continue;
    const by = change.caused_by;
    if (by) {
      opsOn ??= stepOpsByTarget(steps);
      if ((missing & ~causeMakes(change, by, opsOn.get(by))) === 0) continue;
      return `the change of ${change.address} (${action}) is made by ${by}, its caused_by, but no step of the plan on ${by} makes it: applied, it would be reported done with nothing sent`;
    }
    const what = UNREALISED[missing & -missing]!;
    return `the change of ${change.address} (${action}) has no step that ${what}: applied, it would be reported done with nothing sent`;
  }
  return null;
}

function stepOpsByTarget(steps: readonly Step[]): Map<string, StepKind[]> {
  const out = new Map<string, StepKind[]>();
  for (const s of steps) {
    const ops = out.get(s.target);
    if (ops) ops.push(s.op);
    else out.set(s.target, [s.op]);
  }
  return out;
}

/**
 * What the steps on a change's cause make of it (REALISES bits), as the planner has the control
 * plane do: a registration (or undelete) creates its co-named queue (C2) and `default` (C3); a
 * cluster's delete takes its co-named queue along (queue_delete), a re-registration makes it
 * again; a cluster deleted or moved leaves selectors (C8), and its co-named queue follows it
 * (U25); a flyteadmin delete takes the narrower rows of its kind along.
 */
function causeMakes(change: Change, by: string, ops: readonly StepKind[] | undefined): number {
  if (ops === undefined) return 0;
  const has = (...of: StepKind[]) => of.some((op) => ops.includes(op));
  const kind = by.slice(0, by.indexOf('/'));
  if (change.kind === 'Queue' && kind === 'Cluster') {
    const coNamed = by === address('Cluster', change.name);
    const registers = has('register_cluster', 'undelete_cluster');
    let made = 0;
    if (registers && (coNamed || change.name === DEFAULT_QUEUE)) made |= MADE;
    if (coNamed && has('delete_cluster')) made |= REMOVED;
    if (has('delete_cluster', 'move_cluster')) made |= SENT;
    if (coNamed && (registers || has('update_cluster', 'move_cluster')))
      made |= SENT | DRAINED | ACTIVATED | WAITED;
    return made;
  }
  const deletes =
    kind === 'PoolAssignment' ? 'delete_assignment' : 'delete_execution_cluster_label';
  return kind === change.kind && has(deletes) ? REMOVED : 0;
}

/**
 * A step that does not wait for one the step builder puts before it (steps.ts, rules 1-5), or
 * null: the executor starts a step once its `depends_on` are done, so a dependency edited away
 * runs a cluster's delete beside its wait (C9) or before the queues leave it (C8). Each order is
 * read from the file's steps and changes, and holds through other steps too (`reaches`). A step
 * marked `completes_change` runs while the apply stops: only a disable after its registration (C6)
 * and an activation are (the activation's mark unplannedStep makes again from the live state).
 */
function unorderedStep(
  plan: Pick<Plan, 'changes' | 'steps'>,
  byAddress: ReadonlyMap<string, number>,
): string | null {
  const { steps } = plan;
  // The steps others wait for, by op and target (a plan of creates has its pools and registrations).
  const byOp = new Map<StepKind, Map<string, Step>>();
  // Pools and clusters made (an undelete takes a create's place), by name: no address a lookup.
  const made = { ClusterPool: new Map<string, Step>(), Cluster: new Map<string, Step>() };
  for (const s of steps) {
    if (!WAITED_FOR.has(s.op)) continue;
    let m = byOp.get(s.op);
    if (m === undefined) byOp.set(s.op, (m = new Map()));
    if (!m.has(s.target)) m.set(s.target, s);
    const kind = MAKES_KIND[s.op];
    if (kind !== undefined) made[kind].set((s.args as { name: string }).name, s);
  }
  const get = (op: StepKind, target: string) => byOp.get(op)?.get(target);
  const leave = (target: string) => get('delete_cluster', target) ?? get('move_cluster', target);
  let indexOf: Map<string, number> | null = null;
  /** `step` runs after `dep`, directly or through others (only earlier steps: the file's order). */
  const reaches = (step: Step, dep: Step): boolean => {
    if (step.depends_on.includes(dep.id)) return true;
    indexOf ??= new Map(steps.map((s, i) => [s.id, i]));
    const floor = indexOf.get(dep.id)!;
    const seen = new Set<string>();
    const todo = [...step.depends_on];
    while (todo.length > 0) {
      const id = todo.pop()!;
      const i = indexOf.get(id);
      if (id === dep.id) return true;
      if (i === undefined || i < floor || seen.has(id)) continue;
      seen.add(id);
      todo.push(...steps[i]!.depends_on);
    }
    return false;
  };
  const what = (s: Step) => `step ${s.id} (${s.op} ${s.target})`;
  // A plan with no step marked was saved before steps were (28 Nov 2026): it reads as written.
  const marked = steps.some((s) => s.completes_change === true);
  const unordered = (step: Step, dep: Step | undefined, why: string) =>
    dep === undefined || dep === step || reaches(step, dep)
      ? null
      : `${what(step)} does not wait for ${what(dep)}, which its changes put first (${why})`;
  const leaving = new Set<string>();
  // Each queue's last call (rule 3 splits one in two), which its activation follows.
  const lastQueueCall = new Map<string, Step>();
  for (const s of steps) {
    if (s.op === 'delete_cluster' || s.op === 'move_cluster') leaving.add(s.target);
    if (QUEUE_CALLS.has(s.op)) lastQueueCall.set(s.target, s);
  }
  // C8: the first call taking a leaving cluster out of a queue's selector, by cluster.
  const repointed = new Map<string, Step[]>();
  const queueDone = new Set<string>();
  for (const step of steps) {
    const { op, target } = step;
    const args = step.args as Record<string, unknown>;
    const found =
      (op === 'delete_cluster' || op === 'move_cluster'
        ? (unordered(step, get('wait_idle', target), 'C9: the wait before a cluster leaves') ??
          unordered(step, get('wait_drained', target), 'U23: drained before it moves') ??
          firstOf(repointed.get(target), (q) =>
            unordered(step, q, 'C8: the queues leave its selector first'),
          ))
        : null) ??
      (op === 'wait_idle' || op === 'wait_drained'
        ? firstOf(repointed.get(target), (q) =>
            unordered(step, q, 'C8: the queues leave its selector before the wait'),
          )
        : null) ??
      (op === 'wait_drained'
        ? unordered(
            step,
            get('drain_queue', address('Queue', (args.queues as string[])[0]!)),
            'a drain before its wait',
          )
        : null) ??
      (op === 'delete_queue' || op === 'move_queue'
        ? unordered(step, get('wait_drained', target), 'drained before it goes')
        : null) ??
      (op === 'register_cluster'
        ? (unordered(step, get('delete_cluster', target), 'a replaced cluster is deleted first') ??
          unordered(step, made.ClusterPool.get(String(args.pool)), 'C1: its pool exists first'))
        : null) ??
      (op === 'create_pool'
        ? unordered(step, get('delete_pool', target), 'a replaced pool is deleted first')
        : null) ??
      (op === 'update_cluster'
        ? (unordered(step, made.Cluster.get(String(args.name)), 'registered first') ??
          unordered(step, get('move_cluster', target), 'moved first'))
        : null) ??
      (op === 'move_cluster' || QUEUE_CALLS.has(op) || op === 'set_assignment'
        ? unordered(step, made.ClusterPool.get(String(args.pool)), 'its pool exists first')
        : null) ??
      (QUEUE_CALLS.has(op)
        ? (unordered(step, get('delete_queue', target), 'a replaced queue is deleted first') ??
          unordered(step, get('undelete_queue', target), 'undeleted first') ??
          firstOf(args.clusters as string[], (c) =>
            c === WILDCARD
              ? null
              : unordered(step, made.Cluster.get(c), 'the clusters it selects exist first'),
          ))
        : null) ??
      (op === 'set_assignment'
        ? unordered(step, get('delete_assignment', target), 'A3: deleted first')
        : null) ??
      (op === 'activate_queue'
        ? (unordered(step, get('undelete_queue', target), 'undeleted first') ??
          unordered(step, lastQueueCall.get(target), 'it takes work once its spec is sent') ??
          unordered(step, get('drain_queue', target), 'drained first'))
        : null) ??
      (op === 'delete_pool' ? poolLeftFirst(step, plan.changes, leave, get, unordered) : null) ??
      (step.completes_change === true &&
      !(
        op === 'activate_queue' ||
        (op === 'update_cluster' &&
          args.enabled === false &&
          get('register_cluster', target) !== undefined)
      )
        ? `${what(step)} is marked completes_change, which only a registered cluster's disable (C6) and an activation are: it would run while the apply stops`
        : null) ??
      (marked &&
      op === 'update_cluster' &&
      args.enabled === false &&
      get('register_cluster', target) !== undefined &&
      step.completes_change !== true
        ? `${what(step)} is not marked completes_change: a stopping apply would leave the cluster it registers enabled, taking work (C6)`
        : null);
    if (found !== null) return found;
    if (op === 'update_queue' && !queueDone.has(target)) {
      // Rule 4: the queue's first call drops a leaving cluster its live selector names.
      const before = plan.changes[byAddress.get(target)!]!.before?.clusters;
      const sent = args.clusters as string[];
      if (Array.isArray(before))
        for (const c of before as string[]) {
          const cluster = address('Cluster', c);
          if (leaving.has(cluster) && !sent.includes(c)) push(repointed, cluster, step);
        }
      queueDone.add(target);
    }
  }
  return null;
}

/** The ops a step waits for by target (unorderedStep); queue calls and settings wait, never waited for. */
const WAITED_FOR: ReadonlySet<StepKind> = new Set<StepKind>([
  'create_pool',
  'undelete_pool',
  'delete_pool',
  'register_cluster',
  'undelete_cluster',
  'delete_cluster',
  'move_cluster',
  'wait_idle',
  'wait_drained',
  'drain_queue',
  'delete_queue',
  'undelete_queue',
  'delete_assignment',
]);

const MAKES_KIND: Partial<Record<StepKind, 'ClusterPool' | 'Cluster'>> = {
  create_pool: 'ClusterPool',
  undelete_pool: 'ClusterPool',
  register_cluster: 'Cluster',
  undelete_cluster: 'Cluster',
};

/** P5, A3: a pool is deleted after its clusters leave it and its queues and assignments go. */
function poolLeftFirst(
  step: Step,
  changes: readonly Change[],
  leave: (target: string) => Step | undefined,
  get: (op: StepKind, target: string) => Step | undefined,
  unordered: (step: Step, dep: Step | undefined, why: string) => string | null,
): string | null {
  const pool = (step.args as { name: string }).name;
  for (const c of changes) {
    if (c.before?.pool !== pool) continue;
    const dep =
      c.kind === 'Cluster'
        ? leave(c.address)
        : c.kind === 'Queue'
          ? get('delete_queue', c.address)
          : c.kind === 'PoolAssignment'
            ? get('delete_assignment', c.address)
            : undefined;
    const found = unordered(step, dep, 'P5: its members leave first');
    if (found !== null) return found;
  }
  return null;
}

function firstOf<T>(items: readonly T[] | undefined, check: (t: T) => string | null) {
  for (const t of items ?? []) {
    const found = check(t);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Why a saved plan's step is not the one the planner makes from the plan's changes and the live
 * state it was made on (checked equal by the apply's fingerprint), or null: the queues a
 * wait_idle watches before a cluster leaves (C9) and each step's `execution` and manual command
 * are in no change a reviewer reads, so `apply PLANFILE` makes them again (docs/plan.md, Saved plans).
 */
export function unplannedStep(
  plan: Pick<Plan, 'changes' | 'steps'>,
  live: LiveState,
  manualStep: ((step: Step) => ManualInstruction | null) | undefined,
): string | null {
  const gone = leavingClusters(plan.changes);
  const what = (step: Step) => `step ${step.id} (${step.op} ${step.target})`;
  const waits = new Map(plan.steps.flatMap((s) => (s.op === 'wait_idle' ? [[s.target, s]] : [])));
  const leaving = [...gone.deletedClusters, ...gone.movedClusters].sort();
  // Indexed only when a cluster leaves (a plan of 100,000 creates has none).
  const ix = leaving.length > 0 ? new LiveIndex(live) : null;
  const waitFor = ix === null ? new Map() : waitSets(ix, gone);
  const queues = (q: readonly string[] | undefined) => JSON.stringify(q ?? []).slice(0, 80);
  for (const cluster of leaving) {
    const made = waitIdleArgs(cluster, waitFor, drainedWithCluster(ix!, gone, cluster));
    const target = address('Cluster', cluster);
    const step = waits.get(target);
    waits.delete(target);
    if (made !== null && step === undefined)
      return `the plan has no wait_idle step before ${target} leaves, but its changes make one waiting on queues ${queues(made.queues)} (C9)`;
    if (step === undefined) continue;
    const { queues: sent, why } = step.args as WaitIdleArgs;
    // Watching more is never less safe: a --target plan keeps the full plan's waits, which watch
    // the `*` queues of a pool the whole repository empties.
    const watched = new Set(sent);
    const unwatched = (made?.queues ?? []).some((q) => !watched.has(q));
    if (unwatched || (why !== undefined && !sameJson(Object.keys(why).sort(), [...watched].sort())))
      return `${what(step)} waits on queues ${queues(sent)}, but its changes make it wait on ${queues(made?.queues)} (C9)`;
  }
  for (const step of waits.values())
    return `${what(step)} waits before a cluster leaves, but the plan's changes make none leave`;
  const activation = activationMark(plan.steps, live);
  if (activation !== null) return activation;
  const command = (m: ManualInstruction | undefined) =>
    `"${m?.command.slice(0, 80)}"${m?.file ? ` (file ${m.file.name})` : ''}`;
  for (const step of plan.steps) {
    const { execution, manual } = step;
    const instruction = manualStep ? plannedInstruction(step, manualStep) : null;
    const how = instruction === null ? 'api' : 'manual';
    if (execution !== how)
      return `${what(step)} has execution ${JSON.stringify(execution)}, but this control plane ${how === 'api' ? 'makes the call itself' : 'has no API for it'} ("${how}")`;
    if (instruction === null && manual !== undefined)
      return `${what(step)} has the manual command ${command(manual)}, but this control plane makes the call itself`;
    if (instruction !== null && !sameJson(manual, instruction))
      return `${what(step)} has the manual command ${command(manual)}, but this control plane's is ${command(instruction)}`;
  }
  return null;
}

/**
 * An activation marked `completes_change` where the builder marks none, or the reverse
 * (addQueueLifecycleNodes): a queue this plan drains to move it, its own or its cluster's, and
 * active before, is activated even while the apply stops, or it is left drained in its new pool.
 */
function activationMark(steps: readonly Step[], live: LiveState): string | null {
  // A plan with no step marked was saved before steps were (unorderedStep).
  if (!steps.some((s) => s.completes_change === true)) return null;
  const drained = new Set<string>();
  for (const s of steps) if (s.op === 'drain_queue') drained.add(s.target);
  for (const s of steps) if (s.op === 'delete_queue') drained.delete(s.target);
  let states: Map<string, string | undefined> | null = null;
  for (const step of steps) {
    if (step.op !== 'activate_queue') continue;
    states ??= new Map(live.queues.map((q) => [address('Queue', q.name), q.state]));
    const marks = drained.has(step.target) && (states.get(step.target) ?? 'active') === 'active';
    if (marks !== (step.completes_change === true))
      return `step ${step.id} (activate_queue ${step.target}) is ${marks ? 'not ' : ''}marked completes_change, but its changes ${marks ? 'drain an active queue to move it: a stopping apply would leave it drained' : 'drain no active queue to move it'}`;
  }
  return null;
}

/** What withExecution asked the backend of the planned step, which was an API call until then. */
function plannedInstruction(
  step: Step,
  manualStep: (step: Step) => ManualInstruction | null,
): ManualInstruction | null {
  const { manual: _file, ...planned } = step;
  const made = manualStep({ ...planned, execution: 'api' });
  // As the file has it: members left undefined are not written.
  return made === null ? null : (JSON.parse(JSON.stringify(made)) as ManualInstruction);
}

/** The clusters a plan's changes delete (replace too) or move to another pool (cluster_move). */
function leavingClusters(changes: readonly Change[]) {
  const deletedClusters = new Set<string>();
  const movedClusters = new Set<string>();
  for (const c of changes) {
    if (c.kind !== 'Cluster') continue;
    if (c.action === 'delete' || c.action === 'replace') deletedClusters.add(c.name);
    else if (c.action === 'update' && c.before?.pool !== c.after?.pool) movedClusters.add(c.name);
  }
  return { deletedClusters, movedClusters };
}

/**
 * How a change's diff, which `show` renders, differs from its forms, whose `after` the steps send
 * (null: it does not): each field it lists is `after`'s, and it lists each field the forms
 * change. A queue's drain `state` is no field of its form.
 */
function misshownDiff(change: Change, undeleted: boolean): string | null {
  // Its diff is read from `after` (a create planned in this process).
  if (createdFields(change) !== null) return null;
  const shown = (v: unknown) => JSON.stringify(v ?? null).slice(0, 80);
  for (const d of change.diff) {
    const field = fieldAt(change.after, d.path);
    if (d.path !== 'state' && !sameJson(d.after ?? null, field ?? null))
      return `shows ${d.path} becoming ${shown(d.after)}, but its after has ${shown(field)}`;
  }
  // An undeleted object's diff starts from its deleted self, one made by another object's step
  // (C2, an undeleted cluster's queue) from what that step makes: no form of the plan keeps either.
  if (change.before === null && (undeleted || change.caused_by)) return null;
  for (const d of diffForms(change.before, change.after))
    if (!change.diff.some((listed) => listed.path === d.path))
      return `does not show ${d.path} (${shown(d.before)} → ${shown(d.after)}), which its forms change`;
  return null;
}

const QUEUE_CALLS: ReadonlySet<StepKind> = new Set(['create_queue', 'update_queue', 'move_queue']);

/**
 * How a step's arguments differ from its change's form (graph.ts ARGS_FORM), or null: each
 * field they carry is the form's field of that name, and a `whole` step carries every one.
 */
function unshownArgument(
  step: Step,
  change: Change,
  selector: (shown: string[], sent: unknown) => string[],
): string | null {
  const carries = ARGS_FORM[step.op];
  if (carries === 'none') return null;
  const form = (carries === 'before' ? change.before : change.after) ?? {};
  const args = step.args as Record<string, unknown>;
  const shown = (v: unknown) => JSON.stringify(v)?.slice(0, 80) ?? 'nothing';
  for (const field in args) {
    // Its name is the target's, checked by argsAddress; absent members are not in the file.
    if (field === 'name' || args[field] === undefined) continue;
    if (form[field] === undefined)
      return `sends ${field} ${shown(args[field])}, which its change does not show${field === 'data_plane' ? ' (or an earlier build saved it: its registrations did not show their data plane)' : ''}`;
    const expected =
      field === 'clusters' ? selector(form[field] as string[], args[field]) : form[field];
    if (sameJson(args[field], expected)) continue;
    // A map (a contract, a data plane) is named by its first differing field, not cut at 80.
    const shownForm = { [field]: expected };
    const sentForm = { [field]: args[field] };
    const path =
      (isMap(expected) && isMap(args[field]) && diffForms(shownForm, sentForm)[0]?.path) || field;
    const sent = fieldAt(sentForm, path);
    const want = shown(fieldAt(shownForm, path));
    return `sends ${sent === undefined ? `no ${path}` : `${path} ${shown(sent)}`}, but its change shows ${want}`;
  }
  // A registration carries the data plane its change shows: without it C4 goes unchecked.
  if (step.op === 'register_cluster' && form.data_plane !== undefined && !args.data_plane)
    return `sends no data_plane, but its change shows ${shown(form.data_plane)}`;
  if (carries === 'whole')
    for (const field in form)
      if (form[field] !== undefined && args[field] === undefined)
        return `sends no ${field}, but its change shows ${shown(form[field])}`;
  return null;
}

function isUndelete(op: StepKind): boolean {
  return op === 'undelete_pool' || op === 'undelete_cluster' || op === 'undelete_queue';
}

/**
 * The entries `keep` accepts, in the map's order, as two lists the passes walk (they only walk
 * them): not a map of them (a plan of 100,000 creates kept ~70,000 queues, ~7 MB of map grown
 * by rehashing). Spreading every entry first (and the live indexes' key arrays, context.ts) cost
 * the 100,000-object plan about 10 MB of peak RSS. Read with forEach: a for-of loop over 70,000
 * entries, run once, allocated an iterator result and an entry array each (~20 MB over the
 * passes of a plan of 100,000 creates).
 */
function filtered<K, V>(map: ReadonlyMap<K, V>, keep: (v: V) => unknown): Walk<K, V> {
  const keys: K[] = [];
  const values: V[] = [];
  map.forEach((v, k) => {
    if (!keep(v)) return;
    keys.push(k);
    values.push(v);
  });
  return {
    forEach(visit) {
      for (let i = 0; i < keys.length; i++) visit(values[i]!, keys[i]!, i);
    },
  };
}

interface Walk<K, V> {
  /** `i`: the entry's place in the walk. */
  forEach(visit: (v: V, k: K, i: number) => void): void;
}
