/** Words of the warnings about execution cluster labels (cluster-labels.ts) and of a partial plan. */
import { list, s, type WordsTable } from './params.js';

export const LABEL_WARNINGS: WordsTable = {
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
