/**
 * The step graph's keys and the working set of one build (steps.ts adds the nodes,
 * step-order.ts the edges).
 */
import type { AssignmentDecision, PlanContext, QueueDecision } from './context.js';
import type { StepGraph } from './graph.js';

export const key = {
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

/** What every part of one build reads: the graph, the decisions, and a few derived views. */
export interface StepBuild {
  readonly g: StepGraph;
  readonly ctx: PlanContext;
  /** The queues and assignments with a step (most objects of a big organisation have none). */
  readonly queues: readonly [string, QueueDecision][];
  readonly assignments: readonly [string, AssignmentDecision][];
  /** The cluster is deleted and registered again. */
  readonly replaced: (cluster: string) => boolean;
  /** Per queue with a call, the step that takes leaving clusters out of its selector (rule 4). */
  readonly removalStep: Map<string, string>;
  /** Before each leaving cluster goes: the queues to drain or watch (drain.ts). */
  readonly waitFor: ReadonlyMap<string, string[]>;
  /** The step that takes a cluster out of its live pool. */
  readonly leave: (cluster: string) => string;
}
