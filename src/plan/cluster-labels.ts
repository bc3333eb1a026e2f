/**
 * flyteadmin execution cluster labels (docs/flyte-oss.md): project/domain[/workflow] → label,
 * planned like pool assignments, with the warnings on how a label routes.
 */
import { address, assignmentKeyString } from '../model/common.js';
import type { DesiredState } from '../model/desired.js';
import { LABEL_WEIGHT_TOLERANCE } from '../model/flyte.js';
import type { PlanWarning } from '../model/plan.js';
import { specForm } from './forms.js';
import {
  indexBy,
  keyed,
  upsertChange,
  type PlanContext,
  type LabelDecision,
  type PlanIndex,
} from './context.js';
import { warning } from './reasons.js';
import type { StepGraph } from './graph.js';

/** The label pass: its decisions (by key, sorted; none without labels) and its warnings. */
export function planExecutionClusterLabels(ctx: PlanIndex) {
  const labels = new Map<string, LabelDecision>();
  const desired = indexBy(ctx.desired.execution_cluster_labels, assignmentKeyString);
  const live = indexBy(ctx.live.execution_cluster_labels, assignmentKeyString);
  for (const [key, d, l] of keyed(desired, live)) {
    const before = l ? specForm('ExecutionClusterLabel', l) : null;
    if (!d) {
      const change = ctx.undeclaredChange('ExecutionClusterLabel', key, before);
      labels.set(key, { change, key: l!, set: false, remove: change.action === 'delete' });
      continue;
    }
    const after = specForm('ExecutionClusterLabel', d);
    const change = upsertChange('ExecutionClusterLabel', key, before, after);
    labels.set(key, { change, key: after, set: change.action !== 'noop', remove: false });
  }
  const warnings = [
    ...disabledClusterWarnings(ctx.desired),
    ...relativeWeightWarnings(ctx.desired),
  ];
  return { labels, warnings };
}

/** Config-only clusters: a label's steps wait only for a broader delete (addCascadeOrder). */
export function addLabelSteps(g: StepGraph, ctx: PlanContext): void {
  for (const [key, d] of ctx.labels) {
    const { project, domain, workflow } = d.key;
    const where = { project, domain, workflow };
    if (d.remove) g.add('deleteLabel', key, 'delete_execution_cluster_label', where);
    if (d.set) g.add('setLabel', key, 'set_execution_cluster_label', { ...d.key });
  }
}

/**
 * LABEL_CLUSTER_DISABLED: flyteadmin gives a disabled cluster's share to the label's others; a
 * label left with none goes where an unrouted one does (random_cluster_selector.go GetTarget).
 */
function disabledClusterWarnings(desired: DesiredState): PlanWarning[] {
  const clusters = desired.execution_clusters ?? [];
  const disabled = new Set(clusters.filter((c) => !c.enabled).map((c) => c.name));
  if (disabled.size === 0) return [];
  const enabled = clusters.filter((c) => c.enabled).map((c) => c.name);
  const routes = (l: { clusters: { cluster: string }[] }) =>
    l.clusters.some((e) => !disabled.has(e.cluster));
  const def = (desired.cluster_labels ?? []).find((l) => l.default && routes(l));
  const out: PlanWarning[] = [];
  for (const label of desired.cluster_labels ?? []) {
    const off = label.clusters.filter((e) => disabled.has(e.cluster));
    if (off.length === 0) continue;
    const all = off.length === label.clusters.length;
    out.push(
      warning('LABEL_CLUSTER_DISABLED', address('ClusterLabel', label.name), {
        label: label.name,
        clusters: off.map((e) => e.cluster),
        weights: off.map((e) => e.weight),
        all,
        default_label: def ? def.name : null,
        enabled: [...enabled],
      }),
    );
  }
  return out;
}

/**
 * LABEL_WEIGHTS_RELATIVE: flyteadmin picks a cluster with probability weight / sum of the
 * label's weights (flytestdlib/random/weighted_random_list.go), so a sum other than 1 works;
 * the warning says what each cluster gets, in case a share was meant as written.
 */
function relativeWeightWarnings(desired: DesiredState): PlanWarning[] {
  const out: PlanWarning[] = [];
  for (const label of desired.cluster_labels ?? []) {
    const sum = label.clusters.reduce((s, e) => s + Math.fround(e.weight), 0);
    if (label.clusters.length === 0 || Math.abs(sum - 1) <= LABEL_WEIGHT_TOLERANCE) continue;
    const percent = (w: number) => Number(((100 * Math.fround(w)) / sum).toFixed(1));
    out.push(
      warning('LABEL_WEIGHTS_RELATIVE', address('ClusterLabel', label.name), {
        label: label.name,
        sum: Number(sum.toFixed(6)),
        zero: sum === 0,
        clusters: label.clusters.map((e) => e.cluster),
        percents: sum === 0 ? [] : label.clusters.map((e) => percent(e.weight)),
      }),
    );
  }
  return out;
}
