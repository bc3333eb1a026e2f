/**
 * The step graph (plan.md, "Steps and order"): steps are added under a stable key, edges say
 * "runs after", and `finalize` numbers them s1, s2 … in a deterministic topological order.
 */
import { address, assignmentKeyString, defaultQueueKeyString } from '../model/common.js';
import type { ChangeAction, Step, StepKind, StepOp } from '../model/plan.js';

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
  /**
   * The steps it runs after (each once after sortedBy); null until it has one. A list, not a
   * Set: a step has a few, and a Set per step was ~15 MB of the 100,000-object plan's peak.
   */
  after: Node[] | null;
  /** Insertion order. */
  rank: number;
  /** finalize's walk: 1 visiting, 2 done; then its number (s1, s2 …). */
  mark: number;
}

type Lookups = { readonly [K in StepKey]: (name: string) => StepNode | undefined };

export class StepGraph {
  private readonly nodes = new Map<StepKey, Map<string, Node>>();
  private readonly inOrder: Node[] = [];
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
      at[key] = (name) => named.get(name);
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
      after: null,
      rank: this.inOrder.length,
      mark: 0,
    };
    this.inOrder.push(node);
    named.set(name, node);
    return node;
  }

  /** `step` runs after `dependency`; nothing is recorded when either has no step. */
  order(dependency: StepNode | undefined, step: StepNode | undefined): void {
    if (!dependency || !step || dependency === step) return;
    // Repeats are dropped by sortedBy: a check here is quadratic for a pool delete's thousands.
    ((step as Node).after ??= []).push(dependency as Node);
  }

  /**
   * Depth-first post-order over the insertion order: dependencies come first, independent
   * steps keep the order they were added in. A cycle is a planner bug, never a user error.
   */
  finalize(): Step[] {
    const ordered: Node[] = [];
    const path: Node[] = [];
    const text = (n: Node) => `${n.key}:${n.name}`;
    const visit = (node: Node) => {
      if (node.mark === 2) return;
      if (node.mark === 1)
        throw new Error(`step graph has a cycle: ${[...path, node].map(text).join(' -> ')}`);
      node.mark = 1;
      path.push(node);
      const after = node.after;
      if (after) sortedBy(after, rankOf).forEach(visit); // not for-of: no iterator a step
      path.pop();
      node.mark = 2;
      ordered.push(node);
    };
    this.inOrder.forEach(visit); // not for-of: no iterator result a step
    ordered.forEach((n, i) => (n.mark = i + 1));
    // One string per id, shared by its dependents (~300,000 dependencies at 100,000 objects).
    const ids = ordered.map((n) => `s${n.mark}`);
    return ordered.map(
      (n) =>
        ({
          id: ids[n.mark - 1]!,
          op: n.op,
          target: n.target,
          depends_on: n.after ? dependencyIds(n.after, ids) : [],
          args: n.args,
          // withExecution marks the steps its backend has no API for.
          execution: 'api',
        }) as Step,
    );
  }
}

function dependencyIds(after: Node[], ids: readonly string[]): string[] {
  return sortedBy(after, markOf).map((d) => ids[d.mark - 1]!);
}

const rankOf = (n: Node) => n.rank;
const markOf = (n: Node) => n.mark;

/**
 * `nodes` sorted in place by `by`, each once. Array.prototype.sort allocates a work area per call
 * (~80 MB over the 100,000-object plan): a short list is sorted by insertion.
 */
function sortedBy(nodes: Node[], by: (n: Node) => number): Node[] {
  if (nodes.length > 16) nodes.sort((a, b) => by(a) - by(b));
  else
    for (let i = 1; i < nodes.length; i++) {
      const node = nodes[i]!;
      let j = i - 1;
      for (; j >= 0 && by(nodes[j]!) > by(node); j--) nodes[j + 1] = nodes[j]!;
      nodes[j + 1] = node;
    }
  let kept = 0;
  for (let i = 0; i < nodes.length; i++)
    if (kept === 0 || nodes[kept - 1] !== nodes[i]) nodes[kept++] = nodes[i]!;
  nodes.length = kept;
  return nodes;
}
