/**
 * Labels wait for their deployment (docs/flyte-oss.md, "Labels wait for helm upgrade").
 * flyteadmin accepts any label on PUT (manager/impl/validation/attributes_validator.go) but
 * routes with the labelClusterMap it read at start-up; a label it does not know falls back to
 * defaultExecutionLabel, else to every enabled cluster with equal weight
 * (executioncluster/impl/random_cluster_selector.go GetTarget). So a label is set only once the
 * configuration flyteadmin runs with (LiveState.flyteadmin.deployed) has it, with the weights
 * the repository gives it; until then the change is blocked, naming the rendered file to deploy,
 * and the next plan (the daemon's next run) sets it. When that configuration cannot be read,
 * the plan warns and marks the change `unverified`, which policy `safe` holds.
 */
import { address } from '../model/common.js';
import type { ClusterLabelEntry, FlyteadminLive } from '../model/flyte.js';
import type { PlanContext } from './context.js';
import { attributeViews, block } from './attribute-decisions.js';

export function checkLabelDeployment(ctx: PlanContext, fa: FlyteadminLive): void {
  const deployed = fa.deployed;
  const file = renderedFile(ctx);
  const desiredLabels = new Map((ctx.desired.cluster_labels ?? []).map((l) => [l.name, l]));
  const unknown = new Map<string, string[]>();
  for (const v of attributeViews(ctx)) {
    if (v.kind !== 'ExecutionClusterLabel' || !v.set || v.desired === v.live) continue;
    const label = v.desired!;
    if (deployed.labels === null) {
      v.change.unverified = `whether flyteadmin runs with label '${label}' is unknown (see LABEL_DEPLOYMENT_UNKNOWN); policy safe holds this change`;
      unknown.set(label, [...(unknown.get(label) ?? []), address(v.kind, v.name)]);
      continue;
    }
    const running = deployed.labels[label];
    const wanted = desiredLabels.get(label)?.clusters;
    const source = deployed.source ?? 'its configuration';
    if (!running) {
      block(
        ctx,
        v,
        `label '${label}' is not in the labelClusterMap flyteadmin runs with (${source}); flyteadmin accepts any label and would send these executions to ` +
          `${fallback(deployed)}. Deploy ${file} (helm upgrade restarts flyteadmin with it); the next plan sets this label`,
      );
    } else if (wanted && !sameWeights(running, wanted)) {
      block(
        ctx,
        v,
        `label '${label}' runs with other weights in flyteadmin (${weights(running)}, ${source}) than the repository gives it (${weights(wanted)}). ` +
          `Deploy ${file} (helm upgrade restarts flyteadmin with it); the next plan sets this label`,
      );
    }
  }
  for (const [label, addresses] of unknown)
    ctx.warnings.push({
      code: 'LABEL_DEPLOYMENT_UNKNOWN',
      address: address('ClusterLabel', label),
      message:
        `cannot tell whether flyteadmin runs with label '${label}': ${deployed.unavailable}. flyteadmin accepts any label and routes one it does not know ` +
        `to its defaultExecutionLabel or to every enabled cluster: deploy ${file} before applying ${addresses.join(', ')}. Policy safe holds ${addresses.length === 1 ? 'it' : 'them'}`,
    });
}

/** Where flyteadmin sends executions of a label it does not know. */
function fallback(d: FlyteadminLive['deployed']): string {
  const def = d.default_execution_label;
  return def && d.labels?.[def]
    ? `its defaultExecutionLabel '${def}' (${weights(d.labels[def])})`
    : `every enabled cluster with equal weight (${d.enabled_clusters?.join(', ') || 'none enabled'})`;
}

function renderedFile(ctx: PlanContext): string {
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
