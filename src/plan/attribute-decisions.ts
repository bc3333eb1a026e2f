/**
 * flyteadmin's matchable attributes as the planner decided them, in one shape for both kinds:
 * ExecutionClusterLabel (EXECUTION_CLUSTER_LABEL, cluster-labels.ts) and PoolAssignment
 * (CLUSTER_ASSIGNMENT, assignments.ts). The flyteadmin passes (flyteadmin.ts, cascade.ts,
 * deployment.ts) read decisions through it and change them with the three edits below.
 */
import { assignmentKeyString, type AssignmentKey } from '../model/common.js';
import type { AttributeRow, MatchableResourceType } from '../model/flyte.js';
import type { Change } from '../model/plan.js';
import { makeChange } from './change.js';
import type { PlanContext } from './context.js';
import { diffForms, type Form } from './forms.js';

export type AttributeKind = 'ExecutionClusterLabel' | 'PoolAssignment';

export interface AttributeView {
  kind: AttributeKind;
  type: MatchableResourceType;
  /** `project/domain[/workflow]`. */
  name: string;
  key: AssignmentKey;
  /** The label or pool live, and as the repository wants it (null: absent). */
  live: string | null;
  desired: string | null;
  change: Change;
  set: boolean;
  remove: boolean;
}

export function attributeViews(ctx: PlanContext): AttributeView[] {
  const out: AttributeView[] = [];
  const liveLabels = new Map(
    (ctx.live.execution_cluster_labels ?? []).map((l) => [assignmentKeyString(l), l.label]),
  );
  const desiredLabels = new Map(
    (ctx.desired.execution_cluster_labels ?? []).map((l) => [assignmentKeyString(l), l.label]),
  );
  for (const [name, d] of ctx.labels) {
    const { project, domain, workflow } = d.key;
    out.push({
      kind: 'ExecutionClusterLabel',
      type: 'EXECUTION_CLUSTER_LABEL',
      name,
      key: { project, domain, workflow },
      live: liveLabels.get(name) ?? null,
      desired: desiredLabels.get(name) ?? null,
      change: d.change,
      set: d.set,
      remove: d.remove,
    });
  }
  for (const [name, a] of ctx.assignments) {
    const id = (ctx.lAssignments.get(name) ?? ctx.dAssignments.get(name))!;
    out.push({
      kind: 'PoolAssignment',
      type: 'CLUSTER_ASSIGNMENT',
      name,
      key: { project: id.project, domain: id.domain, workflow: id.workflow },
      live: ctx.lAssignments.get(name)?.pool ?? null,
      desired: ctx.dAssignments.get(name)?.pool ?? null,
      change: a.change,
      set: a.set,
      remove: a.remove,
    });
  }
  return out;
}

function update(
  ctx: PlanContext,
  v: AttributeView,
  change: Change,
  set: boolean,
  remove: boolean,
): void {
  v.change = change;
  v.set = set;
  v.remove = remove;
  if (v.kind === 'ExecutionClusterLabel') {
    const value = set ? v.desired! : (v.live ?? v.desired!);
    ctx.labels.set(v.name, { change, key: { ...v.key, label: value }, set, remove });
  } else {
    const a = ctx.assignments.get(v.name)!;
    ctx.assignments.set(v.name, {
      ...a,
      change,
      set,
      remove,
      finalPool: set ? v.desired : remove ? null : a.livePool,
    });
  }
}

/** Nothing is sent for it; the reason says why and what to do. */
export function block(ctx: PlanContext, v: AttributeView, reason: string): void {
  const c = v.change;
  update(
    ctx,
    v,
    makeChange(v.kind, v.name, 'blocked', c.before, c.before, c.diff, reason),
    false,
    false,
  );
}

/**
 * Deleted along with `causedBy` (a delete step of a broader row): `replace` when it is set again
 * right after it (its set step waits for that delete), `delete` when it stays deleted (a side
 * effect, no step of its own).
 */
export function takenAlong(
  ctx: PlanContext,
  v: AttributeView,
  causedBy: string,
  action: 'replace' | 'delete',
): void {
  const before = v.change.before;
  const after = action === 'replace' ? v.change.after : null;
  const diff = diffForms(before, after);
  const change = makeChange(v.kind, v.name, action, before, after, diff, null, causedBy);
  update(ctx, v, change, action === 'replace', false);
}

/** A row as plans and export show it ('' levels as null). */
export function rowForm(r: AttributeRow): Form {
  const orNull = (s: string) => (s === '' ? null : s);
  return {
    project: orNull(r.project),
    domain: orNull(r.domain),
    workflow: orNull(r.workflow),
    launch_plan: orNull(r.launch_plan),
    [r.resource_type === 'EXECUTION_CLUSTER_LABEL' ? 'label' : 'pool']: r.value,
  };
}
