/** Words of the warnings about execution cluster labels (cluster-labels.ts) and of a partial plan. */
import type { ReasonParams } from '../../model/plan.js';
import { list, listOrNull, s, type WordsTable } from './params.js';

/** `cluster weight, …` of the entries `<of>_clusters` with their `<of>_weights`; null when none. */
function entries(p: ReasonParams, of: string): string | null {
  const clusters = listOrNull(p, `${of}_clusters`);
  const weights = list(p, `${of}_weights`);
  return clusters && clusters.map((c, i) => `${c} ${weights[i] ?? ''}`).join(', ');
}

/**
 * How the deployment routes a label other than the repository (deployment.ts): `running`
 * entries null when it does not route it (`listed`: the clusters its labelClusterMap lists,
 * none enabled; null: not listed); `wanted` entries null when the repository disables every
 * cluster of it; `same_clusters`: only the weights differ. `source`: where flyteadmin read it.
 */
function routing(p: ReasonParams): string {
  const label = s(p, 'label');
  const source = p.source === null ? 'its configuration' : s(p, 'source');
  const running = entries(p, 'running');
  if (running === null) {
    const listed = listOrNull(p, 'listed');
    return listed === null
      ? `label '${label}' is not in the labelClusterMap flyteadmin runs with (${source})`
      : `label '${label}' is in the labelClusterMap flyteadmin runs with (${source}), but none of its clusters (${listed.join(', ')}) is an enabled clusterConfigs entry there, so flyteadmin skips the label`;
  }
  const wanted = entries(p, 'wanted');
  if (wanted === null)
    return `label '${label}' routes to ${running} in flyteadmin (${source}), but the repository disables every cluster of it`;
  const what = p.same_clusters === true ? 'other weights' : 'other clusters';
  return `label '${label}' runs with ${what} in flyteadmin (${running}, ${source}) than the repository gives it (${wanted})`;
}

/**
 * Where flyteadmin sends the label's executions: its `running` entries; else, unrouted, to its
 * `default_label` (with the `default` entries) when that one routes, else to every `enabled` cluster.
 */
function goes(p: ReasonParams): string {
  const running = entries(p, 'running');
  if (running !== null) return `${running}, as it runs the label`;
  const fallback = entries(p, 'default');
  if (p.default_label !== null && fallback !== null)
    return `its defaultExecutionLabel '${s(p, 'default_label')}' (${fallback})`;
  return `every enabled cluster with equal weight (${list(p, 'enabled').join(', ') || 'none enabled'})`;
}

export const LABEL_WARNINGS: WordsTable = {
  /** A note (Change.note) of a partial plan: created by `by` as shown, its own settings not targeted. */
  TARGET_SETTINGS_NOT_APPLIED: (p) =>
    `created by ${s(p, 'by')} as shown: the settings the repository gives it are not applied by ` +
    `this partial plan (add --target ${s(p, 'address')})`,
  /**
   * A label set before flyteadmin runs with it (deployment.ts): how the deployment routes it and
   * where its executions would go (`routing`, `goes` above), `file` what to deploy.
   */
  LABEL_NOT_DEPLOYED: (p) =>
    `${routing(p)}; flyteadmin accepts any label and would send these executions to ${goes(p)}. ` +
    `Deploy ${s(p, 'file')} (helm upgrade restarts flyteadmin with it); the next plan sets this label`,
  /** The deployment cannot be read (`unavailable`: why) for the changes at `addresses`. */
  LABEL_DEPLOYMENT_UNKNOWN: (p) => {
    const addresses = list(p, 'addresses');
    return (
      `cannot tell whether flyteadmin runs with label '${s(p, 'label')}': ${s(p, 'unavailable')}. flyteadmin accepts any label and routes one it does not know ` +
      `to its defaultExecutionLabel or to every enabled cluster: deploy ${s(p, 'file')} before applying ${addresses.join(', ')}. Policy safe holds ${addresses.length === 1 ? 'it' : 'them'}`
    );
  },
  /** A change's `unverified` text while LABEL_DEPLOYMENT_UNKNOWN holds. */
  LABEL_UNVERIFIED: (p) =>
    `whether flyteadmin runs with label '${s(p, 'label')}' is unknown (see LABEL_DEPLOYMENT_UNKNOWN); policy safe holds this change`,
  /** A label already set (at `addresses`) that the deployment routes otherwise (`routing`, `goes` above). */
  LABEL_ROUTED_ELSEWHERE: (p) =>
    `${routing(p)}, so the executions of ${list(p, 'addresses').join(', ')} (label already set in flyteadmin) ` +
    `go to ${goes(p)}. Deploy ${s(p, 'file')} (helm upgrade restarts flyteadmin with it)`,
  /**
   * `clusters` (with `weights`) of the label are disabled; `all`: every one is, and flyteadmin
   * falls back to `default_label`, else every `enabled` cluster.
   */
  LABEL_CLUSTER_DISABLED: (p) => {
    const weights = list(p, 'weights');
    const enabled = list(p, 'enabled');
    const fallback =
      p.default_label !== null
        ? `the default label '${s(p, 'default_label')}'`
        : enabled.length > 0
          ? `every enabled cluster with equal weight (${enabled.join(', ')})`
          : 'no cluster: none is enabled';
    return (
      `label '${s(p, 'label')}' sends work to disabled ExecutionCluster ${list(p, 'clusters')
        .map((c, i) => `'${c}' (weight ${weights[i] ?? ''})`)
        .join(', ')}` +
      (p.all === true
        ? `: every cluster of the label is disabled, so flyteadmin drops the label and sends its executions to ${fallback}`
        : `: flyteadmin skips it, so the other clusters of the label take its share`)
    );
  },
  /** `zero`: every weight is 0; else each of `clusters` gets its share in `percents`. */
  LABEL_WEIGHTS_RELATIVE: (p) => {
    const percents = list(p, 'percents');
    const shares =
      p.zero === true
        ? 'every weight is 0, so flyteadmin gives each cluster an equal share'
        : list(p, 'clusters')
            .map((c, i) => `'${c}' ${percents[i] ?? ''}%`)
            .join(', ');
    return (
      `the weights of label '${s(p, 'label')}' sum to ${s(p, 'sum')}, not 1: flyteadmin treats them as relative ` +
      `(each cluster gets weight / sum of the weights; 0 skips a cluster): ${shares}`
    );
  },
  /** `--target`: the `targets`, and the `extra` objects they depend on. */
  PARTIAL_PLAN: (p) => {
    const extra = list(p, 'extra');
    return (
      `this plan is partial: --target ${list(p, 'targets').join(' --target ')}` +
      (extra.length > 0 ? `, and what the targets depend on (${extra.join(', ')})` : '') +
      `. Changes to other objects are not shown and will not be applied, so the control plane may not match the ` +
      `repository afterwards: use --target for exceptional situations (recovering from a mistake, working ` +
      `around a limitation), then run a full plan.`
    );
  },
};
