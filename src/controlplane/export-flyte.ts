/**
 * Export of flyteadmin's execution cluster labels (export.ts does the other kinds). flyteadmin
 * exposes the label of each project/domain[/workflow] but not labelClusterMap or clusterConfigs
 * (config files, no API), so the warning says what to add for the folder to validate (V11).
 * Rows at levels poolsync never writes (project-wide, domain-wide, launch plan) have no
 * manifest: each is named in a warning, as the plan shows it unmanaged.
 */
import { MATCHABLE_KIND, attributeRowKey } from '../model/flyte.js';
import { assignmentKeyString } from '../model/common.js';
import type { LiveState } from '../model/live.js';
import { assignmentManifestName, manifestFile, type ExportedFile } from './export.js';

export function exportExecutionClusterLabels(live: LiveState): {
  files: ExportedFile[];
  warnings: string[];
} {
  const labels = live.execution_cluster_labels ?? [];
  const taken = new Set<string>();
  const files = labels.map((l) => {
    const name = assignmentManifestName({ ...l, pool: l.label }, taken);
    const spec = {
      project: l.project,
      domain: l.domain,
      workflow: l.workflow ?? undefined,
      label: l.label,
    };
    return manifestFile('ExecutionClusterLabel', name, spec, assignmentKeyString(l));
  });
  const named = [...new Set(labels.map((l) => l.label))].sort();
  const warnings =
    named.length > 0
      ? [
          `the execution cluster labels name ${named.map((n) => `'${n}'`).join(', ')}: flyteadmin has no API for labelClusterMap or clusterConfigs, so add a ClusterLabel and its ExecutionCluster documents for each (from configmap.clusters of your flyte-core values, docs/flyte-oss.md) before the folder validates (V11)`,
        ]
      : [];
  return { files, warnings };
}

/** One warning naming the flyteadmin rows at levels no manifest describes; none when there are none. */
export function otherRowWarnings(live: LiveState): string[] {
  const rows = live.flyteadmin?.other_rows ?? [];
  if (rows.length === 0) return [];
  const named = rows.map(
    (r) =>
      `${MATCHABLE_KIND[r.resource_type]}/${attributeRowKey(r)} (${r.resource_type === 'EXECUTION_CLUSTER_LABEL' ? 'label' : 'pool'} ${r.value})`,
  );
  return [
    `flyteadmin has ${rows.length} row${rows.length === 1 ? '' : 's'} at levels poolsync does not manage (project-wide, domain-wide or launch plan), not exported: ` +
      `${named.join(', ')}. They stay as they are; plans show them as unmanaged, and a delete of a broader row names them before it takes them along (docs/flyte-oss.md)`,
  ];
}
