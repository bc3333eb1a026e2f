/**
 * Every step of a plan is accounted for by its changes (docs/plan.md, Saved plans): a step acts
 * on an object the plan shows a change for, with an op that change can need, and its arguments
 * name that object. A reviewer reads the changes; a step they do not account for (a
 * `delete_cluster` added by hand to a saved plan) would run unseen, so a plan file carrying one
 * is refused (src/render/plan-file.ts). The planner's own plans always pass: every step it
 * builds realises a change (test/apply/planfile-ops.test.ts walks every op).
 */
import { assignmentKeyString, defaultQueueKeyString } from '../model/common.js';
import type { ChangeAction, Plan, Step, StepKind } from '../model/plan.js';

type ActionSet = ReadonlySet<ChangeAction>;
const actions = (...a: ChangeAction[]): ActionSet => new Set(a);

const REMOVES = actions('delete', 'replace');
const MAKES = actions('create', 'replace');
const WRITES = actions('create', 'update', 'replace');
const MOVES = actions('update', 'replace');
/** Drains, activations and waits watch queues and clusters that other steps change. */
const WATCHES = actions('create', 'update', 'replace', 'delete', 'blocked', 'unmanaged', 'noop');

/** The actions of the change a step of each op realises. */
const ACCOUNTED_BY: Record<StepKind, ActionSet> = {
  create_pool: MAKES,
  delete_pool: REMOVES,
  update_pool: MOVES,
  register_cluster: MAKES,
  update_cluster: WRITES,
  delete_cluster: REMOVES,
  move_cluster: MOVES,
  create_queue: MAKES,
  update_queue: WRITES,
  delete_queue: REMOVES,
  undelete_queue: MAKES,
  undelete_pool: MAKES,
  undelete_cluster: MAKES,
  move_queue: MOVES,
  drain_queue: WATCHES,
  activate_queue: WATCHES,
  wait_drained: WATCHES,
  wait_idle: WATCHES,
  set_assignment: WRITES,
  delete_assignment: REMOVES,
  set_default_queue: WRITES,
  delete_default_queue: REMOVES,
  set_execution_cluster_label: WRITES,
  delete_execution_cluster_label: REMOVES,
};

/** The address a step's arguments name, where they name one (wait_drained names queues only). */
function argsAddress(step: Step): string | null {
  switch (step.op) {
    case 'create_pool':
    case 'delete_pool':
    case 'update_pool':
    case 'undelete_pool':
      return `ClusterPool/${step.args.name}`;
    case 'register_cluster':
    case 'update_cluster':
    case 'delete_cluster':
    case 'move_cluster':
    case 'undelete_cluster':
      return `Cluster/${step.args.name}`;
    case 'wait_idle':
      return `Cluster/${step.args.cluster}`;
    case 'create_queue':
    case 'update_queue':
    case 'delete_queue':
    case 'undelete_queue':
    case 'move_queue':
    case 'drain_queue':
    case 'activate_queue':
      return `Queue/${step.args.name}`;
    case 'set_assignment':
    case 'delete_assignment':
      return `PoolAssignment/${assignmentKeyString(step.args)}`;
    case 'set_execution_cluster_label':
    case 'delete_execution_cluster_label':
      return `ExecutionClusterLabel/${assignmentKeyString(step.args)}`;
    case 'set_default_queue':
    case 'delete_default_queue':
      return `DefaultQueue/${defaultQueueKeyString(step.args)}`;
    case 'wait_drained':
      return null;
  }
}

/**
 * Why a step of the plan is not accounted for by its changes (the first one found), or null
 * when every step is.
 */
export function unaccountedStep(plan: Pick<Plan, 'changes' | 'steps'>): string | null {
  const byAddress = new Map(plan.changes.map((c) => [c.address, c.action]));
  for (const step of plan.steps) {
    const what = `step ${step.id} (${step.op} ${step.target})`;
    const action = byAddress.get(step.target);
    if (action === undefined) return `${what} acts on an object the plan shows no change for`;
    const allowed = ACCOUNTED_BY[step.op];
    if (!allowed.has(action))
      return `${what} does not realise the change the plan shows for it (${action})`;
    const named = argsAddress(step);
    if (named !== null && named !== step.target)
      return `${what} has arguments naming ${named}, not its target`;
    if (step.op === 'wait_drained' && !/^(Cluster|Queue)\//.test(step.target))
      return `${what} waits on something that is neither a cluster nor a queue`;
  }
  return null;
}
