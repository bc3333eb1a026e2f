/**
 * Flyte open source vocabulary (real-apis.md §2): flyteadmin's execution cluster labels and
 * the flyte-core cluster configuration (`configmap.clusters`), which has no API.
 */
import type { ManifestSpecs } from '../gen/manifests/kinds.js';
import type { AssignmentKey, StoredSpec } from './common.js';
export { isMap } from '../util/json-shape.js';

/** flyteadmin EXECUTION_CLUSTER_LABEL (matchable_resource.proto), keyed like a pool assignment. */
export type ExecutionClusterLabel = StoredSpec<'ExecutionClusterLabel'>;

/** `clusterConfigs[].auth` (flyteadmin runtime/interfaces/cluster_configuration.go), or inCluster. */
export type ExecutionClusterAuth =
  { type: 'file_path'; tokenPath: string; certPath: string } | { type: 'in_cluster' };

/** `labelClusterMap.<label>[]`: `{id, weight}` in flyteadmin's config. */
export type ClusterLabelEntry = ManifestSpecs['ClusterLabel']['clusters'][number];

/** Within this of 1, a label's weights count as summing to 1 (no relative-weights warning). */
export const LABEL_WEIGHT_TOLERANCE = 1e-6;

/**
 * V9: why flyteadmin refuses a weight, or null. It reads a float32
 * (runtime/interfaces/cluster_configuration.go), panics below 0 or above 1
 * (flytestdlib/random/weighted_random_list.go validateEntries); 0 skips the cluster, so a weight
 * written non-zero that is 0 as a float32 (1e-320) is refused.
 */
export function weightProblem(weight: number): string | null {
  if (!Number.isFinite(weight)) return 'is not a number';
  if (weight < 0) return 'is below 0 (flyteadmin refuses it at start-up)';
  if (weight > 1) return 'is above 1 (flyteadmin refuses it at start-up)';
  if (weight !== 0 && Math.fround(weight) === 0)
    return 'is 0 as the float32 flyteadmin reads, so the cluster would get no work; write 0 to skip it, or a weight of at least 1.5e-45';
  return null;
}

/** flyteadmin's matchable resources poolsync manages (matchable_resource.proto). */
export const MATCHABLE_KIND = {
  EXECUTION_CLUSTER_LABEL: 'ExecutionClusterLabel',
  CLUSTER_ASSIGNMENT: 'PoolAssignment',
} as const;
export type MatchableResourceType = keyof typeof MATCHABLE_KIND;

/**
 * A row of flyteadmin's `resources` table (gormimpl/resource_repo.go): '' is "every" for project
 * and domain, "none" for workflow and launch plan; `value` is the label or the pool.
 */
export interface AttributeRow {
  resource_type: MatchableResourceType;
  project: string;
  domain: string;
  workflow: string;
  launch_plan: string;
  value: string;
}

/** A row's name in plans and export: `project/domain[/workflow[/launch_plan]]`, `*` for ''. */
export function attributeRowKey(row: Omit<AttributeRow, 'resource_type' | 'value'>): string {
  const parts = [row.project || '*', row.domain || '*'];
  if (row.workflow !== '' || row.launch_plan !== '') parts.push(row.workflow || '*');
  if (row.launch_plan !== '') parts.push(row.launch_plan);
  return parts.join('/');
}

/** A managed key as the row it is ('' for a level it does not name). */
export const asRow = (k: AssignmentKey) => ({
  project: k.project,
  domain: k.domain,
  workflow: k.workflow ?? '',
  launch_plan: '',
});

/**
 * Whether deleting `key` takes `row` along (another row than its own): flyteadmin's Delete is a
 * GORM struct condition on the key's non-empty fields (resource_repo.go Delete), so a
 * project-wide delete (DeleteProjectAttributes: {Project, ResourceType}) takes every row of the
 * project, a project/domain delete the workflow and launch-plan rows of P/D, a workflow delete
 * its launch-plan rows.
 */
export function deletesAlong(
  key: AssignmentKey,
  row: Omit<AttributeRow, 'resource_type' | 'value'>,
): boolean {
  const own = asRow(key);
  if (row.project !== own.project) return false;
  if (own.domain === '') return row.domain !== '' || row.workflow !== '' || row.launch_plan !== '';
  if (row.domain !== own.domain) return false;
  if (own.workflow === '') return row.workflow !== '' || row.launch_plan !== '';
  return row.workflow === own.workflow && row.launch_plan !== '';
}

/** Admin's Project.ProjectState (project.proto), in its enum's order. */
export const PROJECT_STATES = [
  'ACTIVE',
  'ARCHIVED',
  'SYSTEM_GENERATED',
  'SYSTEM_ARCHIVED',
] as const;
export type ProjectState = (typeof PROJECT_STATES)[number];

/**
 * The cluster configuration flyteadmin runs with (its ConfigMap's clusters.yaml, read at start-up:
 * executioncluster/impl/random_cluster_selector.go): this, not the repository, routes.
 */
export interface DeployedClusterConfig {
  /** e.g. `k8s:flyte/flyte-admin-clusters-config`; null: not configured. */
  source: string | null;
  /** labelClusterMap; it and the next null when not read (`unavailable` says why). */
  labels: Record<string, ClusterLabelEntry[]> | null;
  /** The enabled clusterConfigs (a label skips the others). */
  enabled_clusters: string[] | null;
  default_execution_label: string | null;
  unavailable: string | null;
}

/** How the deployed configuration routes labels, as a plan keeps it (`deployed_routing`). */
export interface DeployedRouting {
  labels: Record<string, ClusterLabelEntry[]>;
  enabled_clusters: string[];
  default_execution_label: string | null;
}

/** `d`'s routing; null when it could not be read. */
export function routingOf(d: DeployedClusterConfig): DeployedRouting | null {
  if (d.labels === null) return null;
  return {
    labels: d.labels,
    enabled_clusters: d.enabled_clusters ?? [],
    default_execution_label: d.default_execution_label,
  };
}

/** What the flyteadmin backend reads beyond the rows poolsync manages (docs/flyte-oss.md). */
export interface FlyteadminLive {
  /**
   * Rows at levels poolsync never writes (project-wide, domain-wide, launch plan), sorted by type
   * then key: shown unmanaged, and counted when a delete takes them along.
   */
  other_rows: AttributeRow[];
  /** Registered projects (ListProjects, archived ones too), sorted by id. */
  projects: { id: string; state: ProjectState }[];
  /** GetDomains, sorted. */
  domains: string[];
  deployed: DeployedClusterConfig;
}

/** `s3://bucket/prefix` → `s3://bucket` (`abfs://container@account…` alike); null for `file://`. */
export function bucketOf(uri: string): string | null {
  const m = /^([a-z0-9]+):\/\/([^/]+)/i.exec(uri);
  if (!m || m[1]!.toLowerCase() === 'file') return null;
  return `${m[1]!.toLowerCase()}://${m[2]!}`;
}
