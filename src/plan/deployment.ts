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
    if (changed)
      block(ctx, v, reasonOf('LABEL_NOT_DEPLOYED', { routing: why.text, goes: why.goes, file }));
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
        routing: why.text,
        addresses,
        goes: why.goes,
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
 * Why flyteadmin does not route `label` as the repository does (`text`) and where it sends
 * the executions instead (`goes`), or null when it routes it as the repository does.
 */
function mismatch(
  d: Deployed,
  label: string,
  wanted: ClusterLabelEntry[] | null,
): { text: string; goes: string } | null {
  const source = d.source ?? 'its configuration';
  const running = routedEntries(d, label);
  if (running === null) {
    // The repository routes it nowhere either (every cluster disabled: LABEL_CLUSTER_DISABLED).
    if (wanted === null) return null;
    const listed = d.labels?.[label];
    const text = listed
      ? `label '${label}' is in the labelClusterMap flyteadmin runs with (${source}), but none of its clusters (${listed.map((e) => e.cluster).join(', ')}) is an enabled clusterConfigs entry there, so flyteadmin skips the label`
      : `label '${label}' is not in the labelClusterMap flyteadmin runs with (${source})`;
    return { text, goes: fallback(d) };
  }
  const goes = `${weights(running)}, as it runs the label`;
  if (wanted === null)
    return {
      text: `label '${label}' routes to ${weights(running)} in flyteadmin (${source}), but the repository disables every cluster of it`,
      goes,
    };
  if (sameWeights(running, wanted)) return null;
  const clusters = (l: readonly ClusterLabelEntry[]) =>
    l
      .map((e) => e.cluster)
      .sort()
      .join(',');
  const what = clusters(running) === clusters(wanted) ? 'other weights' : 'other clusters';
  return {
    text: `label '${label}' runs with ${what} in flyteadmin (${weights(running)}, ${source}) than the repository gives it (${weights(wanted)})`,
    goes,
  };
}

/** Where flyteadmin sends executions of a label it does not route. */
function fallback(d: Deployed): string {
  const def = d.default_execution_label;
  const routed = def ? routedEntries(d, def) : null;
  return def && routed
    ? `its defaultExecutionLabel '${def}' (${weights(routed)})`
    : `every enabled cluster with equal weight (${d.enabled_clusters?.join(', ') || 'none enabled'})`;
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

function weights(l: readonly ClusterLabelEntry[]): string {
  return l.map((e) => `${e.cluster} ${e.weight}`).join(', ');
}
