/**
 * The step graph (plan.md, "Steps and order"): steps are added under a stable key, edges say
 * "runs after", and `finalize` numbers them s1, s2 … in a deterministic topological order.
 */
import { address, assignmentKeyString, defaultQueueKeyString } from '../model/common.js';
import type { ChangeAction, Step, StepKind, StepOp } from '../model/plan.js';

/** Each step's key in the graph, by what it does and to which object. */
export const stepKey = {
  createPool: (n: string) => `create_pool:${n}`,
  deletePool: (n: string) => `delete_pool:${n}`,
  register: (n: string) => `register_cluster:${n}`,
  updateCluster: (n: string) => `update_cluster:${n}`,
  deleteCluster: (n: string) => `delete_cluster:${n}`,
  wait: (n: string) => `wait_idle:${n}`,
  queue: (n: string) => `queue:${n}`,
  queueFirst: (n: string) => `queue_first:${n}`,
  setAssignment: (k: string) => `set_assignment:${k}`,
  deleteAssignment: (k: string) => `delete_assignment:${k}`,
  setLabel: (k: string) => `set_execution_cluster_label:${k}`,
  deleteLabel: (k: string) => `delete_execution_cluster_label:${k}`,
  // Capability steps (domain.md, Capabilities).
  updatePool: (n: string) => `update_pool:${n}`,
  move: (n: string) => `move_cluster:${n}`,
  drain: (q: string) => `drain_queue:${q}`,
  waitDrained: (c: string) => `wait_drained:${c}`,
  waitQueueDrained: (q: string) => `wait_drained_queue:${q}`,
  deleteQueue: (q: string) => `delete_queue:${q}`,
  undelete: (q: string) => `undelete_queue:${q}`,
  activate: (q: string) => `activate_queue:${q}`,
};

type ArgsOf<K extends StepKind> = Extract<StepOp, { op: K }>['args'];
type ActionSet = ReadonlySet<ChangeAction>;
const actions = (...a: ChangeAction[]): ActionSet => new Set(a);
const REMOVES = actions('delete', 'replace');
const MAKES = actions('create', 'replace');
const WRITES = actions('create', 'update', 'replace');
const MOVES = actions('update', 'replace');
/** A drain stops new work: only for a queue the plan deletes, replaces or moves (its own change). */
const DRAINS = actions('update', 'replace', 'delete');
/** An activation: a queue undeleted, moved, or left drained (blocked: its `state` diff says so). */
const ACTIVATES = actions('create', 'update', 'blocked');
/** Waits only read: they watch queues and clusters that other steps change. */
const WATCHES = actions('create', 'update', 'replace', 'delete', 'blocked', 'unmanaged', 'noop');

type Named = (args: never) => string;
const pool: Named = (a: { name: string }) => address('ClusterPool', a.name);
const cluster: Named = (a: { name: string }) => address('Cluster', a.name);
const queue: Named = (a: { name: string }) => address('Queue', a.name);
const assignment: Named = (a: Parameters<typeof assignmentKeyString>[0]) =>
  address('PoolAssignment', assignmentKeyString(a));
const label: Named = (a: Parameters<typeof assignmentKeyString>[0]) =>
  address('ExecutionClusterLabel', assignmentKeyString(a));
const setting: Named = (a: Parameters<typeof defaultQueueKeyString>[0]) =>
  address('DefaultQueue', defaultQueueKeyString(a));

/**
 * Per op: the actions of the change a step of it realises (unaccountedStep, steps.ts), and the
 * address its arguments name, which is the step's target (wait_drained names queues only).
 */
export const STEP_OPS: Record<StepKind, readonly [ActionSet, Named | null]> = {
  create_pool: [MAKES, pool],
  delete_pool: [REMOVES, pool],
  update_pool: [MOVES, pool],
  undelete_pool: [MAKES, pool],
  register_cluster: [MAKES, cluster],
  update_cluster: [WRITES, cluster],
  delete_cluster: [REMOVES, cluster],
  move_cluster: [MOVES, cluster],
  undelete_cluster: [MAKES, cluster],
  wait_idle: [WATCHES, (a: { cluster: string }) => address('Cluster', a.cluster)],
  create_queue: [MAKES, queue],
  update_queue: [WRITES, queue],
  delete_queue: [REMOVES, queue],
  undelete_queue: [MAKES, queue],
  move_queue: [MOVES, queue],
  drain_queue: [DRAINS, queue],
  activate_queue: [ACTIVATES, queue],
  wait_drained: [WATCHES, null],
  set_assignment: [WRITES, assignment],
  delete_assignment: [REMOVES, assignment],
  set_default_queue: [WRITES, setting],
  delete_default_queue: [REMOVES, setting],
  set_execution_cluster_label: [WRITES, label],
  delete_execution_cluster_label: [REMOVES, label],
};

/**
 * soft_delete: an undelete shows as a `create` (the object is back, made what the repository
 * declares), realised by the undelete and the steps that follow it on the same object: its move
 * (cluster_move, queue_move) and its contract update (pool_update).
 */
export const AFTER_UNDELETE: ReadonlySet<StepKind> = new Set([
  'move_cluster',
  'move_queue',
  'update_pool',
]);

export function argsAddress(step: StepOp): string | null {
  return STEP_OPS[step.op][1]?.(step.args as never) ?? null;
}

interface Node {
  key: string;
  op: StepOp;
  target: string;
  /** Keys it runs after; null until it has one (most steps of a big plan have none). */
  after: Set<string> | null;
}

export class StepGraph {
  private readonly nodes = new Map<string, Node>();

  /** Adds a step (idempotent per key) on the object its arguments name, and returns its key. */
  add<K extends StepKind>(key: string, op: K, args: ArgsOf<K>, target?: string): string {
    const step = { op, args } as StepOp;
    target ??= argsAddress(step)!;
    if (!this.nodes.has(key)) this.nodes.set(key, { key, op: step, target, after: null });
    return key;
  }

  has(key: string): boolean {
    return this.nodes.has(key);
  }

  /** `step` runs after `dependency`; either key may be absent (no step), then nothing is recorded. */
  order(dependency: string | null | undefined, step: string | null | undefined): void {
    if (!dependency || !step || dependency === step) return;
    const node = this.nodes.get(step);
    if (node && this.nodes.has(dependency)) (node.after ??= new Set()).add(dependency);
  }

  /**
   * Depth-first post-order over the insertion order: dependencies come first, independent
   * steps keep the order they were added in. A cycle is a planner bug, never a user error.
   */
  finalize(): Step[] {
    const state = new Map<string, 'visiting' | 'done'>();
    const rank = new Map([...this.nodes.keys()].map((k, i) => [k, i]));
    const ordered: Node[] = [];
    const visit = (node: Node, path: string[]) => {
      const s = state.get(node.key);
      if (s === 'done') return;
      if (s === 'visiting')
        throw new Error(`step graph has a cycle: ${[...path, node.key].join(' -> ')}`);
      state.set(node.key, 'visiting');
      for (const dep of [...(node.after ?? [])].sort((a, b) => rank.get(a)! - rank.get(b)!)) {
        visit(this.nodes.get(dep)!, [...path, node.key]);
      }
      state.set(node.key, 'done');
      ordered.push(node);
    };
    for (const node of this.nodes.values()) visit(node, []);
    const ids = new Map(ordered.map((n, i) => [n.key, `s${i + 1}`]));
    return ordered.map(
      (n) =>
        ({
          id: ids.get(n.key)!,
          op: n.op.op,
          target: n.target,
          depends_on: [...(n.after ?? [])]
            .map((k) => ids.get(k)!)
            .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))),
          args: n.op.args,
          // The pipeline marks the steps its backend has no API for (plan/steps.ts).
          execution: 'api',
        }) as Step,
    );
  }
}

/** Throws when a step depends on a later (or unknown) step: the invariant tests assert. */
export function assertTopological(steps: readonly Step[]): void {
  const seen = new Set<string>();
  for (const step of steps) {
    for (const dep of step.depends_on) {
      if (!seen.has(dep))
        throw new Error(`step ${step.id} depends on ${dep}, which does not come before it`);
    }
    seen.add(step.id);
  }
}
