/**
 * What a flyteadmin delete takes along (real-apis.md §4, docs/flyte-oss.md "What a delete takes
 * along"). flyteadmin deletes with a GORM struct condition, which skips zero-value fields
 * (flyteadmin/pkg/repositories/gormimpl/resource_repo.go Delete): `DELETE
 * project_domain_attributes/P/D` of a type removes every row of that type in P/D, the workflow-
 * and launch-plan-level ones too, and `DELETE workflow_attributes/P/D/W` the launch-plan rows of
 * W. So, for each delete step the plan has:
 *  - a row the repository wants is set again after the delete, in the same apply (a replace
 *    caused by the delete; its set step depends on the delete step);
 *  - a row pruned anyway goes with its own step;
 *  - a row poolsync does not manage (not in the repository, outside the prune scope, or at a
 *    level it never writes) blocks the delete, naming the rows, unless the delete's address is
 *    accepted (poolsync.yaml `acceptCascade:`, `--accept-cascade`): then each such row is shown
 *    as deleted along (a side effect with `caused_by`).
 * Writes at a narrower level are ordered after a broader delete of the same type in the same
 * project/domain (addCascadeOrder).
 */
import { address } from '../model/common.js';
import { MATCHABLE_KIND, attributeRowKey, type AttributeRow } from '../model/flyte.js';
import { makeChange } from './change.js';
import { reasonOf, reasonText } from './reasons.js';
import type { StepGraph } from './graph.js';
import {
  annotate,
  attributeViews,
  block,
  rowForm,
  takenAlong,
  type AttributeSource,
  type AttributeView,
  type AttributeWork,
} from './attribute-decisions.js';

function deletePath(v: AttributeView): string {
  const { project, domain, workflow } = v.key;
  return workflow === null
    ? `DELETE project_domain_attributes/${project}/${domain}`
    : `DELETE workflow_attributes/${project}/${domain}/${workflow}`;
}

export function planCascades(ctx: AttributeWork, accepted: ReadonlySet<string>): void {
  const views = attributeViews(ctx);
  const others = ctx.live.flyteadmin?.other_rows ?? [];
  for (const v of views) {
    if (!v.remove) continue;
    planCascade(ctx, v, views, others, accepted);
  }
}

/** The rows one delete takes along: managed-level views and rows poolsync does not manage. */
function takenBy(
  v: AttributeView,
  views: readonly AttributeView[],
  others: readonly AttributeRow[],
): { managed: AttributeView[]; rows: AttributeRow[] } {
  const { project, domain, workflow } = v.key;
  const sameScope = (p: string, d: string) => p === project && d === domain;
  // Managed-level rows the delete takes: the workflow rows of P/D, for a project/domain delete.
  const managed =
    workflow === null
      ? views.filter(
          (w) =>
            w.type === v.type &&
            w.live !== null &&
            w.key.workflow !== null &&
            sameScope(w.key.project, w.key.domain),
        )
      : [];
  const rows = others.filter(
    (r) =>
      r.resource_type === v.type &&
      sameScope(r.project, r.domain) &&
      (workflow === null
        ? r.workflow !== '' || r.launch_plan !== ''
        : r.workflow === workflow && r.launch_plan !== ''),
  );
  return { managed, rows };
}

/** One delete: blocked (unaccepted unmanaged rows, or rows that cannot be set again), or its cascade. */
function planCascade(
  ctx: AttributeWork,
  v: AttributeView,
  views: readonly AttributeView[],
  others: readonly AttributeRow[],
  accepted: ReadonlySet<string>,
): void {
  const { managed, rows } = takenBy(v, views, others);
  const restore = managed.filter((w) => !w.remove && w.desired !== null);
  const unmanaged = managed.filter((w) => !w.remove && w.desired === null);
  // A row the repository wants but cannot set now (blocked) would be lost.
  const stuck = restore.filter((w) => w.change.action === 'blocked');
  const addr = address(v.kind, v.name);
  const { path, type, scope, kind } = deleteWords(v);
  // The rows taken along and the value of each (the words say them: words/flyteadmin.ts).
  const takes = [
    ...unmanaged.map((w) => address(w.kind, w.name)),
    ...rows.map((r) => address(v.kind, attributeRowKey(r))),
  ];
  const values = [...unmanaged.map((w) => w.live!), ...rows.map((r) => r.value)];
  if (takes.length > 0 && !accepted.has(addr)) {
    const why = reasonOf('CASCADE_NOT_ACCEPTED', {
      path,
      type,
      scope,
      kind,
      takes,
      values,
      address: addr,
      workflow_rows: unmanaged.length,
      launch_plan_rows: rows.length,
    });
    block(ctx, v, why);
    return;
  }
  if (stuck.length > 0) {
    const stuckAt = stuck.map((w) => address(w.kind, w.name));
    block(ctx, v, reasonOf('CASCADE_RESTORE_BLOCKED', { path, type, scope, stuck: stuckAt }));
    return;
  }
  for (const w of restore) takenAlong(ctx, w, addr, 'replace');
  for (const w of unmanaged) takenAlong(ctx, w, addr, 'delete');
  deleteRowsAlong(ctx, rows, addr);
  if (takes.length + restore.length === 0) return;
  const restored = restore.map((w) => address(w.kind, w.name));
  const note = reasonOf('CASCADE_TAKES_ALONG', {
    path,
    type,
    scope,
    kind,
    takes,
    values,
    restored,
  });
  annotate(ctx, v, { note: reasonText(note)! });
}

/** What a delete's words say of the delete itself: its call, type, scope and kind. */
function deleteWords(v: AttributeView): {
  path: string;
  type: string;
  scope: string;
  kind: string;
} {
  const { project, domain, workflow } = v.key;
  const scope = `${project}/${domain}${workflow === null ? '' : `/${workflow}`}`;
  return { path: deletePath(v), type: v.type, scope, kind: v.kind };
}

/** The launch-plan rows a delete takes along: each a delete caused by `by`. */
function deleteRowsAlong(ctx: AttributeWork, rows: readonly AttributeRow[], by: string): void {
  for (const r of rows) {
    const kind = MATCHABLE_KIND[r.resource_type];
    const name = attributeRowKey(r);
    ctx.otherRows.set(
      address(kind, name),
      makeChange(kind, name, 'delete', rowForm(r), null, [], null, by),
    );
  }
}

/** A set at the workflow level waits for a project/domain delete of the same type (same project/domain). */
export function addCascadeOrder(
  g: StepGraph,
  ctx: AttributeSource,
  keys: { set: (v: AttributeView) => string; remove: (v: AttributeView) => string },
): void {
  if (!ctx.live.flyteadmin) return;
  const views = attributeViews(ctx);
  const broad = new Map<string, AttributeView[]>();
  for (const v of views) {
    if (!v.remove || v.key.workflow !== null) continue;
    const k = `${v.type}\u0000${v.key.project}\u0000${v.key.domain}`;
    broad.set(k, [...(broad.get(k) ?? []), v]);
  }
  for (const w of views) {
    if (!w.set || w.key.workflow === null) continue;
    for (const v of broad.get(`${w.type}\u0000${w.key.project}\u0000${w.key.domain}`) ?? [])
      g.order(keys.remove(v), keys.set(w));
  }
}
