/**
 * The step graph (plan.md, "Steps and order"): steps are added under a stable key, edges say
 * "runs after", and `finalize` numbers them s1, s2 … in a deterministic topological order.
 */
import { address, assignmentKeyString, defaultQueueKeyString } from '../model/common.js';
import type { ChangeAction, Step, StepKind, StepOp } from '../model/plan.js';
import { grouped } from '../util/grouped.js';

/**
 * What a step does to the object it is keyed by: two ops may share one (an undelete takes its
 * create's key, so what waits for the object waits for it). The text names the step in a cycle.
 */
const STEP_KEYS = {
  createPool: 'create_pool',
  deletePool: 'delete_pool',
  register: 'register_cluster',
  updateCluster: 'update_cluster',
  deleteCluster: 'delete_cluster',
  wait: 'wait_idle',
  queue: 'queue',
  queueFirst: 'queue_first',
  setAssignment: 'set_assignment',
  deleteAssignment: 'delete_assignment',
  setLabel: 'set_execution_cluster_label',
  deleteLabel: 'delete_execution_cluster_label',
  // Capability steps (domain.md, Capabilities).
  updatePool: 'update_pool',
  move: 'move_cluster',
  drain: 'drain_queue',
  waitDrained: 'wait_drained',
  waitQueueDrained: 'wait_drained_queue',
  deleteQueue: 'delete_queue',
  undelete: 'undelete_queue',
  activate: 'activate_queue',
  setDefaultQueue: 'set_default_queue',
  deleteDefaultQueue: 'delete_default_queue',
} as const;

export type StepKey = keyof typeof STEP_KEYS;

type ArgsOf<K extends StepKind> = Extract<StepOp, { op: K }>['args'];
type ActionSet = ReadonlySet<ChangeAction>;
const actions = (...a: ChangeAction[]): ActionSet => new Set(a);
const REMOVES = actions('delete', 'replace');
const MAKES = actions('create', 'replace');
const WRITES = actions('create', 'update', 'replace');
const MOVES = actions('update', 'replace');
/** A drain stops new work: only for a queue the plan deletes, replaces or moves (its own change). */
const DRAINS = actions('update', 'replace', 'delete');
/**
 * An activation: a queue undeleted, moved, or left drained (its `state` diff says so). Never a
 * blocked change: blocked means nothing is sent (issue 73 item 4).
 */
const ACTIVATES = actions('create', 'update');
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
 * Per op: the actions of the change a step of it realises (unaccountedStep), and the address
 * its arguments name, which is the step's target (wait_drained names queues only).
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

/** soft_delete: an undelete's `create` is realised by it and the object's move or update after. */
export const AFTER_UNDELETE: ReadonlySet<StepKind> = new Set([
  'move_cluster',
  'move_queue',
  'update_pool',
]);

export function argsAddress(step: StepOp): string | null {
  return STEP_OPS[step.op][1]?.(step.args as never) ?? null;
}

/** A step of the graph, for `order`; undefined where the plan has none of that key. */
export interface StepNode {
  readonly key: (typeof STEP_KEYS)[StepKey];
  readonly name: string;
  readonly op: StepKind;
  readonly args: StepOp['args'];
  readonly target: string;
}

interface Node extends StepNode {
  /** Insertion order. */
  readonly rank: number;
}

type Lookups = { readonly [K in StepKey]: (name: string) => StepNode | undefined };

export class StepGraph {
  private readonly nodes = new Map<StepKey, Map<string, Node>>();
  private readonly inOrder: Node[] = [];
  /**
   * Each `order` as the ranks of its step and its dependency, in two lists: an array of
   * dependencies per step was ~17 MB of a plan of 100,000 creates, each grown to 16 slots and
   * kept until finalize.
   */
  private readonly edgeStep: number[] = [];
  private readonly edgeDependency: number[] = [];
  /**
   * The step of each key for a name, looked up once by the pass that orders it: passes order a
   * step after several others, and a key made and looked up per `order` call was ~600,000
   * objects and lookups in maps of up to 100,000 names for a plan of 100,000 creates.
   */
  readonly at: Lookups;

  constructor() {
    const at: Partial<Record<StepKey, (name: string) => StepNode | undefined>> = {};
    for (const key of Object.keys(STEP_KEYS) as StepKey[]) {
      const named = new Map<string, Node>();
      this.nodes.set(key, named);
      // Most keys have no step in a given plan (a plan of creates moves, drains and deletes
      // nothing): answered without hashing the name.
      at[key] = (name) => (named.size === 0 ? undefined : named.get(name));
    }
    this.at = at as Lookups;
  }

  /**
   * Idempotent per key and name; the target defaults to the object its arguments name. The
   * passes give their change's address, the same text: one string fewer a step, kept as long as
   * the plan.
   */
  add<K extends StepKind>(
    key: StepKey,
    name: string,
    op: K,
    args: ArgsOf<K>,
    target?: string,
  ): StepNode {
    const named = this.nodes.get(key)!;
    const known = named.get(name);
    if (known) return known;
    const node: Node = {
      key: STEP_KEYS[key],
      name,
      op,
      args,
      target: target ?? argsAddress({ op, args } as StepOp)!,
      rank: this.inOrder.length,
    };
    this.inOrder.push(node);
    named.set(name, node);
    return node;
  }

  /** `step` runs after `dependency`; nothing is recorded when either has no step. */
  order(dependency: StepNode | undefined, step: StepNode | undefined): void {
    if (!dependency || !step || dependency === step) return;
    // Repeats are dropped by finalize: a check here is quadratic for a pool delete's thousands.
    this.edgeStep.push((step as Node).rank);
    this.edgeDependency.push((dependency as Node).rank);
  }

  /**
   * Depth-first post-order over the insertion order: dependencies come first (in insertion
   * order), independent steps keep the order they were added in. A cycle is a planner bug, never
   * a user error.
   */
  finalize(): Step[] {
    const nodes = this.inOrder;
    // Each step's dependencies (ranks), grouped by step: those of rank r at after[start[r] ..
    // start[r + 1]), sorted, each once up to end[r].
    const { edgeStep, edgeDependency } = this;
    // forEach, not for-of: no iterator result an edge.
    const { start, values: after } = grouped(nodes.length, (add) =>
      edgeStep.forEach((r, e) => add(r, edgeDependency[e]!)),
    );
    const end = new Int32Array(nodes.length);
    for (let r = 0; r < nodes.length; r++) end[r] = sortUnique(after, start[r]!, start[r + 1]!);

    // 0 unvisited, 1 on the path, 2 placed at order[position[r]]; the path's steps by `via`
    // (an array pushed and popped a step was shrunk and grown again: ~16 MB at 100,000).
    const state = new Uint8Array(nodes.length);
    const via = new Int32Array(nodes.length);
    const position = new Int32Array(nodes.length);
    const order: number[] = [];
    const visit = (r: number, from: number) => {
      if (state[r] === 2) return;
      if (state[r] === 1) {
        const cycle = [r];
        for (let p = from; p !== r; p = via[p]!) cycle.push(p);
        cycle.push(r);
        const text = (p: number) => `${nodes[p]!.key}:${nodes[p]!.name}`;
        throw new Error(`step graph has a cycle: ${cycle.reverse().map(text).join(' -> ')}`);
      }
      state[r] = 1;
      via[r] = from;
      for (let i = start[r]!; i < end[r]!; i++) visit(after[i]!, r);
      state[r] = 2;
      position[r] = order.length;
      order.push(r);
    };
    for (let r = 0; r < nodes.length; r++) visit(r, r);

    // One string per id, shared by its dependents (~300,000 dependencies at 100,000 objects).
    const ids = order.map((_, i) => `s${i + 1}`);
    return order.map((r, i) => {
      // depends_on in the order of the steps.
      for (let e = start[r]!; e < end[r]!; e++) after[e] = position[after[e]!]!;
      sortUnique(after, start[r]!, end[r]!);
      // Sized once: pushed onto, a list takes 16 slots, kept as long as the plan.
      const dependsOn = new Array<string>(end[r]! - start[r]!);
      for (let e = start[r]!; e < end[r]!; e++) dependsOn[e - start[r]!] = ids[after[e]!]!;
      const n = nodes[r]!;
      return {
        id: ids[i]!,
        op: n.op,
        target: n.target,
        depends_on: dependsOn,
        args: n.args,
        // withExecution marks the steps its backend has no API for.
        execution: 'api',
      } as Step;
    });
  }
}

/**
 * Sorts `values[from .. to)` in place and keeps each value once; returns where the kept values
 * end. A step has a few dependencies (sorted by insertion); a pool delete may have thousands.
 */
function sortUnique(values: Int32Array, from: number, to: number): number {
  if (to - from > 16) values.subarray(from, to).sort();
  else
    for (let i = from + 1; i < to; i++) {
      const value = values[i]!;
      let j = i - 1;
      for (; j >= from && values[j]! > value; j--) values[j + 1] = values[j]!;
      values[j + 1] = value;
    }
  let kept = from;
  for (let i = from; i < to; i++)
    if (kept === from || values[kept - 1] !== values[i]) values[kept++] = values[i]!;
  return kept;
}
