/**
 * What planning against flyteadmin adds to labels and assignments (docs/flyte-oss.md):
 *  - rows at levels poolsync never writes (domain-wide, launch plan, a project-wide assignment)
 *    are shown as unmanaged;
 *  - a write in an unregistered or inactive project or an unknown domain, which flyteadmin
 *    refuses (manager/impl/validation/project_validator.go ValidateProjectAndDomain), is blocked;
 *  - a label flyteadmin does not run with yet waits for its deployment;
 *  - a delete shows, restores or refuses what it takes along.
 */
import { address, assignmentKeyString, type AssignmentKey } from '../model/common.js';
import {
  MATCHABLE_KIND,
  asRow,
  attributeRowKey,
  deletesAlong,
  type AttributeRow,
  type FlyteadminLive,
  type MatchableResourceType,
  type ClusterLabelEntry,
} from '../model/flyte.js';
import type { Change, PlanWarning, Reason, ReasonParams } from '../model/plan.js';
import { reasonOf, warning } from './reasons.js';
import { makeChange, diffForms, rowForm } from './forms.js';
import {
  indexBy,
  push,
  type AssignmentDecision,
  type LabelDecision,
  type PlanContext,
  type PlanIndex,
} from './context.js';
import type { DesiredState } from '../model/desired.js';
import type { StepGraph } from './graph.js';

/** The flyteadmin pass: labels and assignments decided again, on copies (module comment). */
export function planFlyteadmin(
  ix: PlanIndex,
  decided: Pick<PlanContext, 'labels' | 'assignments'>,
  accepted: ReadonlySet<string>,
) {
  const fa = ix.live.flyteadmin;
  if (!fa)
    return { ...decided, otherRows: new Map<string, Change>(), warnings: [] as PlanWarning[] };
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
  // One view per label and assignment, which each edit below keeps up to date (update).
  const views = attributeViews(work);
  for (const r of fa.other_rows) {
    const { launch_plan, workflow, project, domain } = r;
    otherRow(work, r, {
      why: reasonOf('OTHER_LEVEL_ROW', { launch_plan, workflow, project, domain }),
    });
  }
  checkProjects(work, views, fa);
  checkLabelDeployment(work, views, fa);
  for (const v of views) if (v.remove) planCascade(work, v, views, fa.other_rows, accepted);
  return work;
}

/** A row poolsync never writes: unmanaged (`why`), or deleted with a broader row (`caused_by`). */
function otherRow(
  ctx: AttributeWork,
  r: AttributeRow,
  more: { why: Reason } | { caused_by: string },
) {
  const kind = MATCHABLE_KIND[r.resource_type];
  const name = attributeRowKey(r);
  const before = rowForm(r);
  const [action, after] =
    'why' in more ? (['unmanaged', before] as const) : (['delete', null] as const);
  ctx.otherRows.set(address(kind, name), makeChange(kind, name, action, before, after, [], more));
}

function checkProjects(ctx: AttributeWork, views: AttributeView[], fa: FlyteadminLive): void {
  const projects = new Map(fa.projects.map((p) => [p.id, p.state]));
  const domains = new Set(fa.domains);
  for (const v of views) {
    if (!v.set && !v.remove) continue;
    const { project, domain } = v.key;
    const state = projects.get(project);
    const what = v.kind === 'PoolAssignment' ? 'pool' : 'label';
    const reason =
      state === undefined
        ? reasonOf('PROJECT_NOT_REGISTERED', { project })
        : state !== 'ACTIVE'
          ? reasonOf('PROJECT_NOT_ACTIVE', { project, state, set: v.set, what })
          : domain !== '' && !domains.has(domain)
            ? reasonOf('UNKNOWN_DOMAIN', { domain, domains: [...fa.domains] })
            : null;
    if (reason) block(ctx, v, reason);
  }
}

/** Both matchable kinds as decided, in one shape (EXECUTION_CLUSTER_LABEL, CLUSTER_ASSIGNMENT). */
interface AttributeView {
  kind: 'ExecutionClusterLabel' | 'PoolAssignment';
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

type AttributeSource = Pick<
  PlanContext,
  'desired' | 'live' | 'dAssignments' | 'lAssignments' | 'labels' | 'assignments'
>;

/** The flyteadmin pass's own copies of the decisions it edits, and what it adds. */
interface AttributeWork extends AttributeSource {
  readonly labels: Map<string, LabelDecision>;
  readonly assignments: Map<string, AssignmentDecision>;
  readonly otherRows: Map<string, Change>;
  readonly warnings: PlanWarning[];
}

function attributeViews(ctx: AttributeSource): AttributeView[] {
  const out: AttributeView[] = [];
  const liveLabels = indexBy(ctx.live.execution_cluster_labels, assignmentKeyString);
  const desiredLabels = indexBy(ctx.desired.execution_cluster_labels, assignmentKeyString);
  for (const [name, d] of ctx.labels) {
    const { project, domain, workflow } = d.key;
    out.push({
      kind: 'ExecutionClusterLabel',
      type: 'EXECUTION_CLUSTER_LABEL',
      name,
      key: { project, domain, workflow },
      live: liveLabels.get(name)?.label ?? null,
      desired: desiredLabels.get(name)?.label ?? null,
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
function block(ctx: AttributeWork, v: AttributeView, reason: Reason): void {
  const { before, diff } = v.change;
  const change = makeChange(v.kind, v.name, 'blocked', before, before, diff, { why: reason });
  update(ctx, v, change, false, false);
}

/**
 * Deleted along with `causedBy` (a delete step of a broader row): `replace` when it is set again
 * right after it (its set step waits for that delete), `delete` when it stays deleted (a side
 * effect, no step of its own).
 */
function takenAlong(
  ctx: AttributeWork,
  v: AttributeView,
  causedBy: string,
  action: 'replace' | 'delete',
): void {
  const before = v.change.before;
  const after = action === 'replace' ? v.change.after : null;
  const diff = diffForms(before, after);
  const change = makeChange(v.kind, v.name, action, before, after, diff, { caused_by: causedBy });
  update(ctx, v, change, action === 'replace', false);
}

/** The same decision with one more field on its change: a copy. */
function annotate(
  ctx: AttributeWork,
  v: AttributeView,
  field: Partial<Pick<Change, 'note' | 'unverified'>>,
): void {
  update(ctx, v, { ...v.change, ...field }, v.set, v.remove);
}

/**
 * Labels wait for their deployment (docs/flyte-oss.md, "Labels wait for helm upgrade").
 * flyteadmin accepts any label on PUT (manager/impl/validation/attributes_validator.go) but routes
 * with the configuration it read at start-up (executioncluster/impl/random_cluster_selector.go,
 * getLabeledWeightedRandomForCluster, GetTarget). So a label is set only once the deployed
 * configuration routes it as the repository does (same enabled clusters, same float32 weights);
 * until then it is blocked, naming the file to deploy. One already set and routed otherwise is
 * LABEL_ROUTED_ELSEWHERE (no step to hold); an unreadable configuration marks each change
 * `unverified` (policy `safe` holds it).
 */
type Deployed = FlyteadminLive['deployed'];

function checkLabelDeployment(ctx: AttributeWork, views: AttributeView[], fa: FlyteadminLive) {
  const deployed = fa.deployed;
  const file = renderedFile(ctx);
  const wanted = wantedRouting(ctx);
  const unknown = new Map<string, string[]>();
  const elsewhere = new Map<string, string[]>();
  const routings = new Map<string, Routing>();
  for (const v of views) {
    if (v.kind !== 'ExecutionClusterLabel' || v.desired === null) continue;
    const label = v.desired;
    const changed = v.set && v.desired !== v.live;
    if (deployed.labels === null) {
      if (!changed) continue;
      annotate(ctx, v, { unverified: reasonOf('LABEL_UNVERIFIED', { label }) });
      push(unknown, label, address(v.kind, v.name));
      continue;
    }
    const why = mismatch(deployed, label, wanted.get(label) ?? null);
    if (why === null) continue;
    routings.set(label, why);
    if (changed) block(ctx, v, reasonOf('LABEL_NOT_DEPLOYED', { ...routingParams(why), file }));
    else if (!v.set && !v.remove) push(elsewhere, label, address(v.kind, v.name));
  }
  for (const [label, addresses] of unknown)
    ctx.warnings.push(
      warning('LABEL_DEPLOYMENT_UNKNOWN', address('ClusterLabel', label), {
        label,
        unavailable: deployed.unavailable,
        file,
        addresses,
      }),
    );
  for (const [label, addresses] of elsewhere) {
    ctx.warnings.push(
      warning('LABEL_ROUTED_ELSEWHERE', address('ClusterLabel', label), {
        ...routingParams(routings.get(label)!),
        addresses,
        file,
      }),
    );
  }
}

/**
 * The clusters flyteadmin routes a label to: its entries whose cluster is an enabled
 * clusterConfigs entry; null when none is (flyteadmin then drops the label).
 */
function routedEntries(d: Deployed, label: string): ClusterLabelEntry[] | null {
  const enabled = new Set(d.enabled_clusters ?? []);
  const entries = (d.labels?.[label] ?? []).filter((e) => enabled.has(e.cluster));
  return entries.length > 0 ? entries : null;
}

/** The repository's routing of each label: its clusters that are enabled ExecutionClusters. */
function wantedRouting(ctx: { desired: DesiredState }): Map<string, ClusterLabelEntry[] | null> {
  const enabled = new Set(
    (ctx.desired.execution_clusters ?? []).filter((c) => c.enabled).map((c) => c.name),
  );
  const out = new Map<string, ClusterLabelEntry[] | null>();
  for (const l of ctx.desired.cluster_labels ?? []) {
    const entries = l.clusters.filter((e) => enabled.has(e.cluster));
    out.set(l.name, entries.length > 0 ? entries : null);
  }
  return out;
}

/**
 * How flyteadmin routes a label other than the repository does, as data (worded by
 * src/render/reasons.ts). Null entries: not routed (`listed`: what its labelClusterMap lists), or
 * (`wanted`) every cluster disabled; `fallback`: the default label when it routes, else `enabled`.
 */
interface Routing {
  label: string;
  source: string | null;
  running: ClusterLabelEntry[] | null;
  listed: string[] | null;
  wanted: ClusterLabelEntry[] | null;
  sameClusters: boolean;
  fallback: { label: string; entries: ClusterLabelEntry[] } | null;
  enabled: string[];
}

/** How flyteadmin routes `label`, or null when it does so as the repository does. */
function mismatch(d: Deployed, label: string, wanted: ClusterLabelEntry[] | null): Routing | null {
  const running = routedEntries(d, label);
  // The repository routes it nowhere either (every cluster disabled: LABEL_CLUSTER_DISABLED).
  if (running === null && wanted === null) return null;
  if (running !== null && wanted !== null && sameWeights(running, wanted)) return null;
  const clusters = (l: readonly ClusterLabelEntry[]) => sortedText(l, (e) => e.cluster);
  const def = d.default_execution_label;
  const routed = running === null && def ? routedEntries(d, def) : null;
  return {
    label,
    source: d.source ?? null,
    running,
    listed: running === null ? (d.labels?.[label]?.map((e) => e.cluster) ?? null) : null,
    wanted,
    sameClusters: running !== null && wanted !== null && clusters(running) === clusters(wanted),
    fallback: def && routed ? { label: def, entries: routed } : null,
    enabled: [...(d.enabled_clusters ?? [])],
  };
}

function routingParams(r: Routing): ReasonParams {
  return {
    label: r.label,
    source: r.source,
    running_clusters: r.running?.map((e) => e.cluster) ?? null,
    running_weights: r.running?.map((e) => e.weight) ?? null,
    listed: r.listed,
    wanted_clusters: r.wanted?.map((e) => e.cluster) ?? null,
    wanted_weights: r.wanted?.map((e) => e.weight) ?? null,
    same_clusters: r.sameClusters,
    default_label: r.fallback?.label ?? null,
    default_clusters: r.fallback?.entries.map((e) => e.cluster) ?? null,
    default_weights: r.fallback?.entries.map((e) => e.weight) ?? null,
    enabled: r.enabled,
  };
}

function renderedFile(ctx: { desired: DesiredState }): string {
  const path = ctx.desired.config.render?.['flyte-core-values']?.path;
  return path ? `${path}` : 'the values of `poolsync render flyte-core-values`';
}

/** As flyteadmin compares them: float32 weights, per cluster, in any order. */
function sameWeights(a: readonly ClusterLabelEntry[], b: readonly ClusterLabelEntry[]): boolean {
  const key = (l: readonly ClusterLabelEntry[]) =>
    sortedText(l, (e) => `${e.cluster}=${Math.fround(e.weight)}`);
  return key(a) === key(b);
}

/** The entries as one text, whatever their order. */
function sortedText(l: readonly ClusterLabelEntry[], text: (e: ClusterLabelEntry) => string) {
  return l.map(text).sort().join(',');
}

/**
 * What a flyteadmin delete takes along (real-apis.md §4, docs/flyte-oss.md "What a delete takes
 * along"): its GORM struct condition skips zero-value fields
 * (flyteadmin/pkg/repositories/gormimpl/resource_repo.go Delete), so `DELETE
 * project_domain_attributes/P/D` removes every row of that type in P/D, narrower levels too, and
 * `DELETE workflow_attributes/P/D/W` W's launch-plan rows. A row the repository wants is set
 * again after it; an unmanaged one blocks the delete unless its address is accepted
 * (`acceptCascade:`, `--accept-cascade`): then it is shown deleted along (`caused_by`).
 */
function planCascade(
  ctx: AttributeWork,
  v: AttributeView,
  views: readonly AttributeView[],
  others: readonly AttributeRow[],
  accepted: ReadonlySet<string>,
): void {
  // Managed-level rows the delete takes: those of the narrower levels it covers.
  const managed = views.filter(
    (w) => w.type === v.type && w.live !== null && deletesAlong(v.key, asRow(w.key)),
  );
  // Rows at levels poolsync does not manage that it takes.
  const rows = others.filter((r) => r.resource_type === v.type && deletesAlong(v.key, r));
  const restore = managed.filter((w) => !w.remove && w.desired !== null);
  const unmanaged = managed.filter((w) => !w.remove && w.desired === null);
  // A row pruned anyway goes with this delete, not with a step of its own: a partial plan
  // (--target) that keeps this delete then shows it gone too (the outside observer found a
  // project-wide delete, kept for a target's order, taking a pruned row the plan did not list).
  const pruned = managed.filter((w) => w.remove);
  // A row the repository wants but cannot set now (blocked) would be lost.
  const stuck = restore.filter((w) => w.change.action === 'blocked');
  const addr = address(v.kind, v.name);
  const { path, type, scope, kind } = deleteWords(v);
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
  for (const w of [...unmanaged, ...pruned]) takenAlong(ctx, w, addr, 'delete');
  for (const r of rows) otherRow(ctx, r, { caused_by: addr });
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
  annotate(ctx, v, { note: [note] });
}

function deleteWords(v: AttributeView) {
  const { project, domain, workflow } = v.key;
  const path =
    domain === ''
      ? `DELETE project_attributes/${project}`
      : workflow === null
        ? `DELETE project_domain_attributes/${project}/${domain}`
        : `DELETE workflow_attributes/${project}/${domain}/${workflow}`;
  const scope = domain === '' ? `project ${project} (every domain)` : assignmentKeyString(v.key);
  return { path, type: v.type, scope, kind: v.kind };
}

/** A set waits for a broader delete of the same type that would take its row along (deletesAlong). */
export function addCascadeOrder(g: StepGraph, ctx: AttributeSource): void {
  const set = (v: AttributeView) =>
    v.kind === 'PoolAssignment' ? g.at.setAssignment(v.name) : g.at.setLabel(v.name);
  const remove = (v: AttributeView) =>
    v.kind === 'PoolAssignment' ? g.at.deleteAssignment(v.name) : g.at.deleteLabel(v.name);
  if (!ctx.live.flyteadmin) return;
  const views = attributeViews(ctx);
  const broad = new Map<string, AttributeView[]>();
  const scope = (v: AttributeView) => `${v.type}\u0000${v.key.project}`;
  for (const v of views) if (v.remove && v.key.workflow === null) push(broad, scope(v), v);
  for (const w of views) {
    if (!w.set) continue;
    for (const v of broad.get(scope(w)) ?? [])
      if (deletesAlong(v.key, asRow(w.key))) g.order(remove(v), set(w));
  }
}
