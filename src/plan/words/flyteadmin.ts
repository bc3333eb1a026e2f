/** Words of flyteadmin's refusals and of rows poolsync never writes (docs/flyte-oss.md). */
import type { ReasonParams } from '../../model/plan.js';
import { list, s, type WordsTable } from './params.js';

/** What a delete of a broader row takes along (`path` of the DELETE, `type` of its rows, their `scope`). */
function cascadeAlong(p: ReasonParams): string {
  return `${s(p, 'path')} also deletes the narrower ${s(p, 'type')} rows of ${s(p, 'scope')}`;
}

/**
 * The other way out of a blocked cascade: a workflow row can be declared in the repository; a
 * launch-plan row cannot (no manifest describes one, and flyteadmin's API writes none: only its
 * database holds them), so for those accepting is the only way short of keeping the broader row.
 */
function keepInstead(p: ReasonParams): string {
  const workflowRows = p.workflow_rows;
  if (p.launch_plan_rows === 0)
    return `; or declare ${workflowRows === 1 ? 'it' : 'them'} in the repository`;
  const lp = `a launch-plan row cannot be declared in the repository (poolsync manages project/domain and workflow rows, and no flyteadmin API writes one)`;
  return workflowRows === 0
    ? `; ${lp}, so accept the delete or keep the row this delete removes`
    : `; or declare the workflow ${workflowRows === 1 ? 'row' : 'rows'} in the repository (${lp})`;
}

/**
 * The rows a delete takes along: each of `takes` (addresses) with its value (`values`), a label
 * or a pool as `kind` says.
 */
function taken(p: ReasonParams): string[] {
  const what = p.kind === 'ExecutionClusterLabel' ? 'label' : 'pool';
  const values = list(p, 'values');
  return list(p, 'takes').map((a, i) => `${a} (${what} ${values[i] ?? ''})`);
}

export const FLYTEADMIN_REASONS: WordsTable = {
  /**
   * A note (Change.note): a delete that takes the narrower rows along (`takes`, with their
   * `values`), and the rows the repository wants that are set again after it (`restored`).
   */
  CASCADE_TAKES_ALONG: (p) =>
    `${cascadeAlong(p)}: ${[
      ...taken(p),
      ...list(p, 'restored').map((a) => `${a} (set again after it)`),
    ].join(', ')}`,
  /**
   * A delete that would take along rows poolsync does not manage (`takes`: each with its value),
   * not accepted for `address`; `workflow_rows` and `launch_plan_rows` count them.
   */
  CASCADE_NOT_ACCEPTED: (p) => {
    const takes = taken(p);
    const one = takes.length === 1;
    return (
      `${cascadeAlong(p)} (flyteadmin's delete skips empty fields, gormimpl/resource_repo.go), and poolsync does not manage ` +
      `${one ? 'this one' : 'these'}: ${takes.join(', ')}. Nothing is sent. To delete ${one ? 'it' : 'them'} along, ` +
      `accept it with \`--accept-cascade ${s(p, 'address')}\` or in poolsync.yaml (acceptCascade: [${s(p, 'address')}])${keepInstead(p)}`
    );
  },
  /** A delete whose narrower rows the repository wants again (`stuck`) but cannot set now. */
  CASCADE_RESTORE_BLOCKED: (p) => {
    const stuck = list(p, 'stuck');
    const one = stuck.length === 1;
    return `${cascadeAlong(p)}, and ${stuck.join(', ')} could not be set again now (blocked: see ${one ? 'that change' : 'those changes'}); nothing is sent until ${one ? 'it' : 'they'} can be`;
  },
  PROJECT_NOT_REGISTERED: (p) =>
    `project '${s(p, 'project')}' is not registered in flyteadmin, which refuses its attributes (InvalidArgument): ` +
    `register it (flytectl create project --id ${s(p, 'project')} --name ${s(p, 'project')}) or correct the project`,
  /** `state`: flyteadmin's (ARCHIVED, SYSTEM_GENERATED); `set`: a write, else a delete of a `what` (pool or label). */
  PROJECT_NOT_ACTIVE: (p) =>
    `project '${s(p, 'project')}' is ${s(p, 'state').toLowerCase().replace('_', ' ')} in flyteadmin, which refuses attributes of a project that is not active` +
    (p.set === true
      ? `: activate it (flytectl update project -p ${s(p, 'project')} --activate) or remove the manifest`
      : `, deletes included: the ${s(p, 'what')} stays in flyteadmin until the project is activated (flytectl update project -p ${s(p, 'project')} --activate), and the next plan deletes it`),
  UNKNOWN_DOMAIN: (p) =>
    `domain '${s(p, 'domain')}' is not one of flyteadmin's domains (${list(p, 'domains').join(', ') || 'none'}), which refuses its attributes: correct the domain`,
  /** A row at a level poolsync never writes: launch plan (`launch_plan`, `workflow`), project-wide or domain-wide. */
  OTHER_LEVEL_ROW: (p) => {
    const level =
      p.launch_plan !== ''
        ? `a launch-plan-level row (launch plan ${s(p, 'launch_plan')} of workflow ${s(p, 'workflow') || '(none)'})`
        : p.domain === ''
          ? `a project-wide row (project ${s(p, 'project')}, every domain)`
          : `a domain-wide row (domain ${s(p, 'domain')}, every project)`;
    return `${level}: poolsync manages project/domain and workflow rows only; reported, never touched (a delete of a broader row may take it along: see the plan)`;
  },
};
