/** DesiredState: the validated repository, defaults applied (src/manifests → src/plan). */
import type {
  Assignment,
  ClusterDataPlane,
  DefaultQueueSetting,
  ObjectKind,
  PoolContract,
  QueueSpec,
} from './common.js';
import type { ClusterLabelEntry, ExecutionClusterAuth, ExecutionClusterLabel } from './flyte.js';
import type { RepoConfigFile } from '../gen/manifests/kinds.js';

export interface SourceLocation {
  /** Relative to the repository folder, forward slashes; line and column 1-based. */
  file: string;
  line: number;
  column: number;
}

export type Annotations = Record<string, string>;

export const PREVENT_DESTROY_ANNOTATION = 'poolsync/prevent-destroy';
/** Argo CD's `Delete=confirm`: a delete or replace waits for a person's approval (docs/plan.md, Protection). */
export const CONFIRM_DESTROY_ANNOTATION = 'poolsync/confirm-destroy';

/**
 * `poolsync/contract: unknown` on a ClusterPool (with `spec: {}`, as `export` writes it: Union's
 * API hides contracts): the planner never compares, creates or updates it.
 */
export const CONTRACT_ANNOTATION = 'poolsync/contract';
export const CONTRACT_UNKNOWN = 'unknown';

interface Declared {
  /** metadata.name; for an object whose identity is a key (A1, V11, V12), free text. */
  name: string;
  annotations: Annotations;
  source: SourceLocation;
}

export interface DesiredPool extends Declared {
  /** null: marked unknown (CONTRACT_ANNOTATION). */
  contract: PoolContract | null;
}

export interface DesiredCluster extends Declared {
  /** The pool: the first, when `spec.pools` lists several (then all in `pools`). */
  pool: string;
  /** Union self-managed's pool map (docs/union-self-managed.md); C7 refuses it on registration. */
  pools?: string[];
  enabled: boolean;
  /** Declared data plane (validated against the pool contract, V6); never sent on update. */
  data_plane: ClusterDataPlane | null;
}

export interface DesiredQueue extends Declared {
  spec: QueueSpec;
  /** Where its first Union cap or scheduling is written, when one is: QUEUE_CAPS points there. */
  caps_source?: SourceLocation;
}

export interface DesiredAssignment extends Assignment, Declared {}

/** Union v2: executions of project/domain without a queue of their own go to `queue`. */
export interface DesiredDefaultQueue extends DefaultQueueSetting, Declared {}

export interface RepoConfig {
  prune: boolean;
  ignore: string[];
  /** poolsync.yaml `repository:`: the name its objects are recorded under (src/ops/repository.ts). */
  repository?: string;
  /** poolsync.yaml `manage:`: the kinds this repository manages, hence may prune (docs/plan.md). */
  manage?: ObjectKind[];
  /** Kinds with a document: the prune scope without `manage`. Absent (hand-built): every kind. */
  declared_kinds?: ObjectKind[];
  /**
   * poolsync.yaml `acceptCascade:`: addresses whose delete may take rows poolsync does not
   * manage along (flyteadmin, plan/flyteadmin.ts); `--accept-cascade` adds to it for one run.
   */
  accept_cascade?: string[];
  /**
   * poolsync.yaml `absent:`: objects absence alone never deletes that the repository wants
   * deleted (`Queue/default`: capability default_delete, plan/queues.ts).
   */
  absent?: string[];
  /** Generated files kept in the repository (poolsync.yaml `render`, docs/flyte-oss.md). */
  render?: RenderConfig;
  /** poolsync.yaml `environments:` in order (docs/environments.md); absent: one environment. */
  environments?: Environment[];
  /**
   * poolsync.yaml `policies:` (docs/policies.md): Rego policies and their owners; `line`, where
   * `path` is written, for messages.
   */
  policies?: { path: string; owners: string[]; line?: number };
  /** The environment this state was loaded for (`--env NAME`); absent without environments. */
  environment?: string;
  /** poolsync.yaml `approvers:` (docs/daemon.md#approvers); absent: no rule, who may today. */
  approvers?: ApproverRules;
  /** poolsync.yaml `guardrails:`, the environment's over the top level's (docs/plan.md, Guardrails). */
  guardrails?: Guardrails;
}

/** What an approver rule allows (docs/daemon.md#approvers): `suspend` is suspend and resume. */
export const APPROVER_ACTIONS = ['approve', 'sync', 'suspend', 'override'] as const;
export type ApproverAction = (typeof APPROVER_ACTIONS)[number];

/**
 * poolsync.yaml `approvers:` as written: per environment (or `*`, every one), principals for
 * every action or per action (`*`: the rest). Principal strings: src/vcs/principals.ts.
 */
export type ApproverRules = Record<
  string,
  readonly string[] | Partial<Record<ApproverAction | '*', readonly string[]>>
>;

/** A destroy budget (poolsync.yaml `guardrails:`); an absent bound is no bound. */
export type Guardrails = NonNullable<RepoConfigFile['guardrails']>;

/** An entry of poolsync.yaml `environments:` as written (schemas/repo-config.schema.json). */
export type EnvironmentEntry = NonNullable<RepoConfigFile['environments']>[string];

/**
 * An environment as read: its control-plane URL as written (a `file:` path relative to the
 * config folder), its folders and patch files relative to the config folder (no trailing slash).
 */
export interface Environment extends Omit<EnvironmentEntry, 'patches' | 'driftInterval'> {
  name: string;
  patches: string[];
  driftIntervalMs?: number;
}

/** poolsync.yaml `render`: each target's file (and flyte-core's base values and Secret). */
export type RenderConfig = NonNullable<RepoConfigFile['render']>;

export interface DesiredState {
  /** Each list sorted by name (assignments by key string); names unique (V1, V8). */
  pools: DesiredPool[];
  clusters: DesiredCluster[];
  queues: DesiredQueue[];
  assignments: DesiredAssignment[];
  /** Sorted by project/domain, keys unique (V12); absent (hand-built states) means none. */
  default_queues?: DesiredDefaultQueue[];
  /** Flyte OSS config-only kinds (docs/flyte-oss.md); absent in states built before them. */
  execution_clusters?: DesiredExecutionCluster[];
  cluster_labels?: DesiredClusterLabel[];
  /** flyteadmin's EXECUTION_CLUSTER_LABEL attributes, sorted by key string. */
  execution_cluster_labels?: DesiredExecutionClusterLabel[];
  config: RepoConfig;
  commit: string | null;
}

/** flyte-core `configmap.clusters.clusterConfigs[]` (docs/flyte-oss.md). */
export interface DesiredExecutionCluster extends Declared {
  endpoint: string | null;
  enabled: boolean;
  auth: ExecutionClusterAuth;
}

/** flyte-core `configmap.clusters.labelClusterMap.<name>`. */
export interface DesiredClusterLabel extends Declared {
  clusters: ClusterLabelEntry[];
  /** `spec.default: true`: flyte-core's `defaultExecutionLabel` (at most one label, V10). */
  default?: boolean;
}

export interface DesiredExecutionClusterLabel extends ExecutionClusterLabel, Declared {}
