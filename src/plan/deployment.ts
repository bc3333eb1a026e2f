/**
 * Labels wait for their deployment (docs/flyte-oss.md, "Labels wait for helm upgrade").
 * flyteadmin accepts any label on PUT (manager/impl/validation/attributes_validator.go) but
 * routes with the cluster configuration it read at start-up
 * (executioncluster/impl/random_cluster_selector.go): a label's entries count only for a
 * cluster that is an enabled `clusterConfigs` entry (getLabeledWeightedRandomForCluster skips
 * the others), a label left with none is dropped, and an execution whose label flyteadmin does
 * not route goes to `defaultExecutionLabel` (when that one routes), else to every enabled
 * cluster with equal weight (GetTarget). So a label is set only once the configuration
 * flyteadmin runs with (LiveState.flyteadmin.deployed) routes it as the repository does: same
 * enabled clusters, same float32 weights. Until then the change is blocked, naming the rendered
 * file to deploy, and the next plan (the daemon's next run) sets it. A label already set is
 * checked too: one the deployment no longer routes as the repository says is a warning
 * (LABEL_ROUTED_ELSEWHERE), since there is no step to hold. When that configuration cannot be
 * read, the plan warns and marks each change `unverified`, which policy `safe` holds.
 */
import { address } from '../model/common.js';
import type { ClusterLabelEntry, FlyteadminLive } from '../model/flyte.js';
import type { DesiredState } from '../model/desired.js';
import { annotate, attributeViews, block, type AttributeWork } from './attribute-decisions.js';
import type { ReasonParams } from '../model/plan.js';
import { reasonOf, reasonText, wordedWarning } from './reasons.js';

type Deployed = FlyteadminLive['deployed'];

export function checkLabelDeployment(ctx: AttributeWork, fa: FlyteadminLive): void {
  const deployed = fa.deployed;
  const file = renderedFile(ctx);
  const wanted = wantedRouting(ctx);
  const unknown = new Map<string, string[]>();
  const elsewhere = new Map<string, string[]>();
  for (const v of attributeViews(ctx)) {
    if (v.kind !== 'ExecutionClusterLabel' || v.desired === null) continue;
    const label = v.desired;
    const changed = v.set && v.desired !== v.live;
    if (deployed.labels === null) {
      if (!changed) continue;
      annotate(ctx, v, { unverified: reasonText(reasonOf('LABEL_UNVERIFIED', { label }))! });
      unknown.set(label, [...(unknown.get(label) ?? []), address(v.kind, v.name)]);
      continue;
    }
    const why = mismatch(deployed, label, wanted.get(label) ?? null);
    if (why === null) continue;
    if (changed) block(ctx, v, reasonOf('LABEL_NOT_DEPLOYED', { ...routingParams(why), file }));
    else if (!v.set && !v.remove)
      elsewhere.set(label, [...(elsewhere.get(label) ?? []), address(v.kind, v.name)]);
  }
  for (const [label, addresses] of unknown)
    ctx.warnings.push(
      wordedWarning('LABEL_DEPLOYMENT_UNKNOWN', address('ClusterLabel', label), {
        label,
        unavailable: deployed.unavailable,
        file,
        addresses,
      }),
    );
  for (const [label, addresses] of elsewhere) {
    const why = mismatch(deployed, label, wanted.get(label) ?? null)!;
    ctx.warnings.push(
      wordedWarning('LABEL_ROUTED_ELSEWHERE', address('ClusterLabel', label), {
        ...routingParams(why),
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
export function routedEntries(d: Deployed, label: string): ClusterLabelEntry[] | null {
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
 * How flyteadmin routes a label other than the repository does, as data (the catalog words it:
 * src/plan/words/labels.ts): the entries it runs (null: it does not route the label; `listed`
 * then the clusters its labelClusterMap lists, null when it lists none), the entries the
 * repository gives (null: it disables every cluster of the label), and where an unrouted
 * label's executions go (`fallback`: the default label when that one routes, else every
 * `enabled` cluster).
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

/**
 * How flyteadmin routes `label` when it does not route it as the repository does, or null when
 * it does.
 */
function mismatch(d: Deployed, label: string, wanted: ClusterLabelEntry[] | null): Routing | null {
  const running = routedEntries(d, label);
  // The repository routes it nowhere either (every cluster disabled: LABEL_CLUSTER_DISABLED).
  if (running === null && wanted === null) return null;
  if (running !== null && wanted !== null && sameWeights(running, wanted)) return null;
  const clusters = (l: readonly ClusterLabelEntry[]) =>
    l
      .map((e) => e.cluster)
      .sort()
      .join(',');
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

/** The parameters of LABEL_NOT_DEPLOYED and LABEL_ROUTED_ELSEWHERE: the routing's data. */
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
    l
      .map((e) => `${e.cluster}=${Math.fround(e.weight)}`)
      .sort()
      .join(',');
  return key(a) === key(b);
}
