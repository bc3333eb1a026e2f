/** Valid Flyte OSS manifests → the DesiredState lists, defaults applied and sorted. */
import { assignmentKeyString } from '../model/common.js';
import type {
  DesiredClusterLabel,
  DesiredExecutionCluster,
  DesiredExecutionClusterLabel,
} from '../model/desired.js';
import type { FlyteGrouped } from './rules-multicluster.js';
import { comparePaths } from './walk.js';

export function buildFlyteDesired(g: FlyteGrouped): {
  execution_clusters: DesiredExecutionCluster[];
  cluster_labels: DesiredClusterLabel[];
  execution_cluster_labels: DesiredExecutionClusterLabel[];
} {
  const byName = <T extends { name: string }>(a: T, b: T) => comparePaths(a.name, b.name);
  return {
    execution_clusters: g.executionClusters
      .map((c) => ({
        name: c.name,
        endpoint: c.auth?.type === 'in_cluster' ? null : c.endpoint,
        enabled: c.enabled ?? true,
        auth: c.auth ?? { type: 'in_cluster' as const },
        annotations: c.annotations,
        source: c.source,
      }))
      .sort(byName),
    cluster_labels: g.labels
      .map((l) => ({
        name: l.name,
        clusters: l.clusters.map((e) => ({ cluster: e.cluster, weight: e.weight })),
        ...(l.isDefault ? { default: true } : {}),
        annotations: l.annotations,
        source: l.source,
      }))
      .sort(byName),
    execution_cluster_labels: g.executionClusterLabels
      .map((e) => ({
        ...e.key,
        label: e.label,
        name: e.name,
        annotations: e.annotations,
        source: e.source,
      }))
      .sort((a, b) => comparePaths(assignmentKeyString(a), assignmentKeyString(b))),
  };
}
