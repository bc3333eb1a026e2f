/**
 * flyteadmin's matchable attributes as the planner decided them, in one shape for both kinds:
 * ExecutionClusterLabel (EXECUTION_CLUSTER_LABEL, cluster-labels.ts) and PoolAssignment
 * (CLUSTER_ASSIGNMENT, assignments.ts). The flyteadmin pass (flyteadmin.ts, cascade.ts,
 * deployment.ts) reads decisions through it and decides again with the edits below, on its own
 * copies of the label and assignment decisions (AttributeWork), which it returns.
 */
import { assignmentKeyString, type AssignmentKey } from '../model/common.js';
import type { AttributeRow, MatchableResourceType } from '../model/flyte.js';
import type { DesiredAssignment, DesiredState } from '../model/desired.js';
import type { LiveAssignment, LiveState } from '../model/live.js';
import type { Change, PlanWarning, Reason } from '../model/plan.js';
import { makeChange } from './change.js';
import type { AssignmentDecision } from './context.js';
import type { LabelDecision } from './decisions.js';
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

/** What attribute views are read from: the states and the label and assignment decisions. */
export interface AttributeSource {
  readonly desired: DesiredState;
  readonly live: LiveState;
  readonly dAssignments: ReadonlyMap<string, DesiredAssignment>;
  readonly lAssignments: ReadonlyMap<string, LiveAssignment>;
  readonly labels: ReadonlyMap<string, LabelDecision>;
  readonly assignments: ReadonlyMap<string, AssignmentDecision>;
}

/** The flyteadmin pass's own copies of the decisions it edits, and what it adds (returned). */
export interface AttributeWork extends AttributeSource {
  readonly labels: Map<string, LabelDecision>;
  readonly assignments: Map<string, AssignmentDecision>;
  /** Rows at levels poolsync never writes, by address (flyteadmin.ts, cascade.ts). */
  readonly otherRows: Map<string, Change>;
  readonly warnings: PlanWarning[];
}

export function attributeViews(ctx: AttributeSource): AttributeView[] {
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
  ctx: AttributeWork,
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
export function block(ctx: AttributeWork, v: AttributeView, reason: Reason): void {
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
  ctx: AttributeWork,
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

/** The same decision with one more field on its change (`note`, `unverified`): a copy. */
export function annotate(
  ctx: AttributeWork,
  v: AttributeView,
  field: Partial<Pick<Change, 'note' | 'unverified'>>,
): void {
  const change = { ...v.change, ...field };
  v.change = change;
  if (v.kind === 'ExecutionClusterLabel')
    ctx.labels.set(v.name, { ...ctx.labels.get(v.name)!, change });
  else ctx.assignments.set(v.name, { ...ctx.assignments.get(v.name)!, change });
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
