/**
 * How the queue pass runs over its queues (queues.ts): the signature a cache at the edge
 * implements (src/incremental/queue-reuse.ts) and the planner's own, which keeps nothing.
 */
import type { QueueDecision } from './context.js';
import type { QueueFrame, QueueOwn } from './queue-frame.js';

/** One queue's decision from its typed input (queues.ts `planQueue`; null: nothing to say). */
export type PlanQueue = (frame: QueueFrame, own: QueueOwn) => QueueDecision | null;

/**
 * How the queue pass runs over its queues: each name's decision from `plan(frame, own(name))`.
 * The planner's own is `planEachQueue`; a long-running process may pass one that reuses the
 * decisions of its last pass (src/incremental/queue-reuse.ts, PlanOptions.queuePass).
 */
export type QueuePass = (
  frame: QueueFrame,
  names: readonly string[],
  own: (name: string) => QueueOwn,
  plan: PlanQueue,
) => Map<string, QueueDecision | null>;

/** The queue pass without memory: every queue planned. */
export const planEachQueue: QueuePass = (frame, names, own, plan) => {
  const out = new Map<string, QueueDecision | null>();
  for (const name of names) out.set(name, plan(frame, own(name)));
  return out;
};
