/**
 * What the planner decided for a default-queue setting (default-queues.ts) and an execution
 * cluster label (cluster-labels.ts), kept on the PlanContext for the passes that run after.
 */
import type { ExecutionClusterLabel } from '../model/flyte.js';
import type { Change } from '../model/plan.js';

export interface DefaultQueueDecision {
  change: Change;
  /** A set_default_queue step exists. */
  set: boolean;
  /** A delete_default_queue step exists (prune). */
  remove: boolean;
  /** The queue the setting names once the plan is applied; null when it is deleted. */
  finalQueue: string | null;
}

export interface LabelDecision {
  change: Change;
  key: ExecutionClusterLabel;
  set: boolean;
  remove: boolean;
}
