/**
 * What planning against flyteadmin adds to labels and assignments (docs/flyte-oss.md), run when
 * the live state comes from the flyteadmin backend (LiveState.flyteadmin):
 *  - rows at levels poolsync never writes (project-wide, launch plan) are shown as unmanaged;
 *  - a write or delete flyteadmin would refuse, in a project that is not registered or not
 *    active or a domain it does not know (manager/impl/validation/project_validator.go
 *    ValidateProjectAndDomain), is blocked at plan time;
 *  - a label flyteadmin does not run with yet waits for its deployment (deployment.ts);
 *  - a delete shows, restores or refuses what it takes along (cascade.ts).
 */
import { address } from '../model/common.js';
import {
  MATCHABLE_KIND,
  attributeRowKey,
  type AttributeRow,
  type FlyteadminLive,
} from '../model/flyte.js';
import type { Change, PlanWarning, Reason } from '../model/plan.js';
import { reasonOf } from './reasons.js';
import { makeChange } from './change.js';
import type { AssignmentDecision } from './context.js';
import type { LabelDecision } from './decisions.js';
import type { PlanIndex } from './plan-index.js';
import { attributeViews, block, rowForm, type AttributeWork } from './attribute-decisions.js';
import { planCascades } from './cascade.js';
import { checkLabelDeployment } from './deployment.js';

/** The labels and assignments once flyteadmin's rules are applied, the rows of other levels, warnings. */
export interface FlyteadminPass {
  readonly labels: ReadonlyMap<string, LabelDecision>;
  readonly assignments: ReadonlyMap<string, AssignmentDecision>;
  readonly otherRows: ReadonlyMap<string, Change>;
  readonly warnings: readonly PlanWarning[];
}

/**
 * The flyteadmin pass: takes the label and assignment passes' decisions and returns them decided
 * again (blocked, taken along by a delete, annotated), on copies; the inputs are not changed.
 */
export function planFlyteadmin(
  ix: PlanIndex,
  decided: {
    labels: ReadonlyMap<string, LabelDecision>;
    assignments: ReadonlyMap<string, AssignmentDecision>;
  },
  accepted: ReadonlySet<string>,
): FlyteadminPass {
  const fa = ix.live.flyteadmin;
  if (!fa) return { ...decided, otherRows: new Map(), warnings: [] };
  const work: AttributeWork = {
    desired: ix.desired,
    live: ix.live,
    dAssignments: ix.dAssignments,
    lAssignments: ix.lAssignments,
    labels: new Map(decided.labels),
    assignments: new Map(decided.assignments),
    otherRows: new Map(),
    warnings: [],
  };
  addOtherRows(work, fa);
  checkProjects(work, fa);
  checkLabelDeployment(work, fa);
  planCascades(work, accepted);
  const { labels, assignments, otherRows, warnings } = work;
  return { labels, assignments, otherRows, warnings };
}

/** Why poolsync never writes a row at this level. */
export function otherRowReason(r: AttributeRow): Reason {
  return reasonOf('OTHER_LEVEL_ROW', {
    launch_plan: r.launch_plan,
    workflow: r.workflow,
    project: r.project,
    domain: r.domain,
  });
}

function addOtherRows(ctx: AttributeWork, fa: FlyteadminLive): void {
  for (const r of fa.other_rows) {
    const kind = MATCHABLE_KIND[r.resource_type];
    const name = attributeRowKey(r);
    const before = rowForm(r);
    ctx.otherRows.set(
      address(kind, name),
      makeChange(kind, name, 'unmanaged', before, before, [], otherRowReason(r)),
    );
  }
}

function checkProjects(ctx: AttributeWork, fa: FlyteadminLive): void {
  const projects = new Map(fa.projects.map((p) => [p.id, p.state]));
  const domains = new Set(fa.domains);
  for (const v of attributeViews(ctx)) {
    if (!v.set && !v.remove) continue;
    const { project, domain } = v.key;
    const state = projects.get(project);
    const what = v.kind === 'PoolAssignment' ? 'pool' : 'label';
    const reason =
      state === undefined
        ? reasonOf('PROJECT_NOT_REGISTERED', { project })
        : state !== 'ACTIVE'
          ? reasonOf('PROJECT_NOT_ACTIVE', { project, state, set: v.set, what })
          : !domains.has(domain)
            ? reasonOf('UNKNOWN_DOMAIN', { domain, domains: [...fa.domains] })
            : null;
    if (reason) block(ctx, v, reason);
  }
}
