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

/**
 * What a step's arguments carry of its change's forms (unaccountedStep): `whole`, every field of
 * its `after`; `part`, some of them; `before`, the removed object's key; `none`, a wait, which
 * only reads. A field the arguments carry is its form's field of the same name.
 */
export const ARGS_FORM: Record<StepKind, 'whole' | 'part' | 'before' | 'none'> = {
  create_pool: 'whole',
  delete_pool: 'before',
  update_pool: 'whole',
  undelete_pool: 'part',
  register_cluster: 'part',
  update_cluster: 'part',
  delete_cluster: 'before',
  move_cluster: 'part',
  undelete_cluster: 'part',
  wait_idle: 'none',
  create_queue: 'whole',
  update_queue: 'whole',
  delete_queue: 'before',
  undelete_queue: 'part',
  move_queue: 'whole',
  drain_queue: 'part',
  activate_queue: 'part',
  wait_drained: 'none',
  set_assignment: 'whole',
  delete_assignment: 'before',
  set_default_queue: 'whole',
  delete_default_queue: 'before',
  set_execution_cluster_label: 'whole',
  delete_execution_cluster_label: 'before',
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

/**
 * A step of the graph, for `order`: its insertion rank; undefined where the plan has none of
 * that key. A number, not an object: the step itself is made once, by `add` (at 100,000 creates
 * a node object beside each step was ~100,000 more objects kept until finalize).
 */
export type StepNode = number;

type Lookups = { readonly [K in StepKey]: (name: string) => StepNode | undefined };

export class StepGraph {
  /**
   * By key: its steps by name, and those added by `addNew` not indexed yet: indexed when the key
   * is first looked up (a plan of 100,000 creates never looks up its ~70,000 queue calls by
   * name: the queue pass keeps them by place, steps.ts).
   */
  private readonly nodes = new Map<StepKey, { named: Map<string, StepNode>; later: StepNode[] }>();
  /**
   * By rank: each step as the plan has it (its id and dependencies set by finalize), and the
   * key and name it was added under (a cycle's message).
   */
  private readonly steps: Step[] = [];
  private readonly keys: StepKey[] = [];
  private readonly names: string[] = [];
  /**
   * Each `order` as the ranks of its step and its dependency, side by side in one typed list
   * (`edgeCount` pairs): an array of dependencies per step was ~17 MB of a plan of 100,000
   * creates, each grown to 16 slots and kept until finalize; two number lists of ~170,000 were
   * 8 bytes an entry, copied as they grew.
   */
  private edges = new Int32Array(1024);
  private edgeCount = 0;
  /**
   * The step of each key for a name, looked up once by the pass that orders it: passes order a
   * step after several others, and a key made and looked up per `order` call was ~600,000
   * objects and lookups in maps of up to 100,000 names for a plan of 100,000 creates.
   */
  readonly at: Lookups;

  constructor() {
    const at: Partial<Record<StepKey, (name: string) => StepNode | undefined>> = {};
    for (const key of Object.keys(STEP_KEYS) as StepKey[]) {
      const steps = { named: new Map<string, StepNode>(), later: [] };
      this.nodes.set(key, steps);
      const { named } = steps;
      // Most keys have no step in a given plan (a plan of creates moves, drains and deletes
      // nothing): answered without hashing the name.
      at[key] = (name) => {
        if (steps.later.length > 0) this.index(steps);
        return named.size === 0 ? undefined : named.get(name);
      };
    }
    this.at = at as Lookups;
  }

  private index(steps: { named: Map<string, StepNode>; later: StepNode[] }): void {
    steps.later.forEach((rank) => steps.named.set(this.names[rank]!, rank));
    steps.later.length = 0;
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
    const steps = this.nodes.get(key)!;
    if (steps.later.length > 0) this.index(steps);
    const known = steps.named.get(name);
    if (known !== undefined) return known;
    const rank = this.make(key, name, op, args, target);
    steps.named.set(name, rank);
    return rank;
  }

  /** `add` of a name never added under `key` (the caller's walk has each name once): not checked. */
  addNew<K extends StepKind>(
    key: StepKey,
    name: string,
    op: K,
    args: ArgsOf<K>,
    target?: string,
  ): StepNode {
    const rank = this.make(key, name, op, args, target);
    this.nodes.get(key)!.later.push(rank);
    return rank;
  }

  private make<K extends StepKind>(
    key: StepKey,
    name: string,
    op: K,
    args: ArgsOf<K>,
    target: string | undefined,
  ): StepNode {
    const rank = this.steps.length;
    // In the plan's member order; the id and dependencies are finalize's. withExecution marks
    // the steps its backend has no API for.
    this.steps.push({
      id: '',
      op,
      target: target ?? argsAddress({ op, args } as StepOp)!,
      depends_on: NONE,
      args,
      execution: 'api',
    } as Step);
    this.keys.push(key);
    this.names.push(name);
    return rank;
  }

  /** The step completes the change a step it depends on makes (Step.completes_change). */
  completesChange(node: StepNode): void {
    (this.steps[node] as { completes_change?: true }).completes_change = true;
  }

  /** `step` runs after `dependency`; nothing is recorded when either has no step. */
  order(dependency: StepNode | undefined, step: StepNode | undefined): void {
    if (dependency === undefined || step === undefined || dependency === step) return;
    // Repeats are dropped by finalize: a check here is quadratic for a pool delete's thousands.
    if (2 * this.edgeCount + 2 > this.edges.length) {
      const grown = new Int32Array(this.edges.length * 2);
      grown.set(this.edges);
      this.edges = grown;
    }
    this.edges[2 * this.edgeCount] = step;
    this.edges[2 * this.edgeCount + 1] = dependency;
    this.edgeCount++;
  }

  /**
   * Depth-first post-order over the insertion order: dependencies come first (in insertion
   * order), independent steps keep the order they were added in. A cycle is a planner bug, never
   * a user error.
   */
  finalize(): Step[] {
    const { steps } = this;
    // Each step's dependencies (ranks), grouped by step: those of rank r at after[start[r] ..
    // start[r + 1]), sorted, each once up to end[r].
    const { edges, edgeCount } = this;
    const { start, values: after } = grouped(steps.length, (add) => {
      for (let e = 0; e < edgeCount; e++) add(edges[2 * e]!, edges[2 * e + 1]!);
    });
    const end = new Int32Array(steps.length);
    for (let r = 0; r < steps.length; r++) end[r] = sortUnique(after, start[r]!, start[r + 1]!);

    // 0 unvisited, 1 on the path, 2 placed at order[position[r]]; the path's steps by `via`
    // (an array pushed and popped a step was shrunk and grown again: ~16 MB at 100,000).
    const state = new Uint8Array(steps.length);
    const via = new Int32Array(steps.length);
    const position = new Int32Array(steps.length);
    const order: number[] = [];
    const visit = (r: number, from: number) => {
      if (state[r] === 2) return;
      if (state[r] === 1) {
        const cycle = [r];
        for (let p = from; p !== r; p = via[p]!) cycle.push(p);
        cycle.push(r);
        const text = (p: number) => `${STEP_KEYS[this.keys[p]!]}:${this.names[p]!}`;
        throw new Error(`step graph has a cycle: ${cycle.reverse().map(text).join(' -> ')}`);
      }
      state[r] = 1;
      via[r] = from;
      for (let i = start[r]!; i < end[r]!; i++) visit(after[i]!, r);
      state[r] = 2;
      position[r] = order.length;
      order.push(r);
    };
    for (let r = 0; r < steps.length; r++) visit(r, r);

    // One string per id, shared by its dependents (~300,000 dependencies at 100,000 objects).
    const ids = order.map((_, i) => `s${i + 1}`);
    return order.map((r, i) => {
      // depends_on in the order of the steps.
      for (let e = start[r]!; e < end[r]!; e++) after[e] = position[after[e]!]!;
      sortUnique(after, start[r]!, end[r]!);
      // Sized once: pushed onto, a list takes 16 slots, kept as long as the plan.
      const dependsOn = new Array<string>(end[r]! - start[r]!);
      for (let e = start[r]!; e < end[r]!; e++) dependsOn[e - start[r]!] = ids[after[e]!]!;
      // Set once, here, on a step no one else holds yet.
      const step = steps[r]! as { id: string; depends_on: string[] };
      step.id = ids[i]!;
      step.depends_on = dependsOn;
      return steps[r]!;
    });
  }
}

/** What a step waits on before finalize: every step's own list is made there. */
const NONE: readonly string[] = Object.freeze([]);

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
