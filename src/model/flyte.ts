/**
 * Flyte open source vocabulary (real-apis.md §2): flyteadmin's execution cluster labels and
 * the flyte-core cluster configuration (`configmap.clusters`), which has no API.
 */
import type { AssignmentKey } from './common.js';

/**
 * flyteadmin `MatchableResource` EXECUTION_CLUSTER_LABEL (matchable_resource.proto):
 * project/domain[/workflow] → label. Keyed like a pool assignment (assignmentKeyString).
 */
export interface ExecutionClusterLabel extends AssignmentKey {
  label: string;
}

/** `clusterConfigs[].auth` (flyteadmin runtime/interfaces/cluster_configuration.go), or inCluster. */
export type ExecutionClusterAuth =
  { type: 'file_path'; tokenPath: string; certPath: string } | { type: 'in_cluster' };

/** `labelClusterMap.<label>[]`: `{id, weight}` in flyteadmin's config. */
export interface ClusterLabelEntry {
  cluster: string;
  weight: number;
}

/** V9: the weights of a label sum to 1 within this tolerance (flyteadmin reads them as float32). */
export const LABEL_WEIGHT_TOLERANCE = 1e-6;

/**
 * The bucket of an object store URI: `s3://bucket/prefix` → `s3://bucket`,
 * `abfs://container@account.dfs.core.windows.net/path` → `abfs://container@account…`.
 * null for `file://` (a local path has no bucket).
 */
export function bucketOf(uri: string): string | null {
  const m = /^([a-z0-9]+):\/\/([^/]+)/i.exec(uri);
  if (!m || m[1]!.toLowerCase() === 'file') return null;
  return `${m[1]!.toLowerCase()}://${m[2]!}`;
}
