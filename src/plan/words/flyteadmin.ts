/** Words of flyteadmin's refusals and of rows poolsync never writes (docs/flyte-oss.md). */
import { list, s, type WordsTable } from './params.js';

export const FLYTEADMIN_REASONS: WordsTable = {
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
