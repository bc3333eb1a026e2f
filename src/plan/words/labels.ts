/** Words of the warnings about execution cluster labels (cluster-labels.ts) and of a partial plan. */
import { list, s, type WordsTable } from './params.js';

export const LABEL_WARNINGS: WordsTable = {
  /** A note (Change.note) of a partial plan: created by `by` as shown, its own settings not targeted. */
  TARGET_SETTINGS_NOT_APPLIED: (p) =>
    `created by ${s(p, 'by')} as shown: the settings the repository gives it are not applied by ` +
    `this partial plan (add --target ${s(p, 'address')})`,
  /**
   * A label set before flyteadmin runs with it (deployment.ts): `routing` says how the deployment
   * routes it, `goes` where its executions would go, `file` what to deploy.
   */
  LABEL_NOT_DEPLOYED: (p) =>
    `${s(p, 'routing')}; flyteadmin accepts any label and would send these executions to ${s(p, 'goes')}. ` +
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
  /** A label already set that the deployment routes otherwise (`routing`, `goes`). */
  LABEL_ROUTED_ELSEWHERE: (p) =>
    `${s(p, 'routing')}, so the executions of ${list(p, 'addresses').join(', ')} (label already set in flyteadmin) ` +
    `go to ${s(p, 'goes')}. Deploy ${s(p, 'file')} (helm upgrade restarts flyteadmin with it)`,
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
