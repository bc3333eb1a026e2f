/** LiveState: what a ControlPlane reports (domain.md). Produced by src/controlplane. */
import type { Assignment, Capabilities, PoolContract, QueueSpec } from './common.js';
import type { ExecutionClusterLabel, FlyteadminLive } from './flyte.js';

export interface LivePool {
  name: string;
  contract: PoolContract;
  /** P6: derived from the clusters registered into it, sorted. */
  member_clusters: string[];
  /**
   * false when the control plane does not show the contract (Union's public API); `contract`
   * is then a placeholder that the planner and export do not compare or write as real.
   */
  contract_known?: false;
}

export type ClusterHealth = 'unknown' | 'healthy' | 'unhealthy';

export interface ConfigDriftEntry {
  field: string;
  contract: string;
  reported: string;
}

export interface LiveCluster {
  name: string;
  pool: string;
  enabled: boolean;
  health: ClusterHealth;
  unhealthy_reasons: string[];
  config_drift: ConfigDriftEntry[];
  /** Queues whose selector names this cluster explicitly, sorted. */
  bound_queues: string[];
  /**
   * false when the control plane does not report the cluster's data plane (Union's API gives
   * health and reasons only): `config_drift` is then empty because nothing is known, not
   * because the cluster matches (reportedDataPlane, model/capabilities.ts).
   */
  data_plane_reported?: false;
  /**
   * Union: DeleteCluster left it DELETING (its work is being moved off); listed among the deleted
   * clusters only, and it cannot be undeleted until its deletion finishes.
   */
  deleting?: true;
}

/** Capability `drain`: ACTIVE → DRAINING → DRAINED. */
export type QueueState = 'active' | 'draining' | 'drained';

export interface LiveQueue extends QueueSpec {
  name: string;
  /** Capability `drain`; absent means `active` (control planes without the capability). */
  state?: QueueState;
  /** C2: created by a cluster registration; its pool and selector follow the cluster (Q4). */
  cluster_managed: boolean;
  /** Q8: enabled and healthy clusters this queue routes to, sorted. */
  available_clusters: string[];
  /**
   * Numbers of spec fields the control plane sent that poolsync does not manage (Union queue
   * fields its .proto does not declare), sorted; absent when there are none. A queue update
   * writes them back unchanged (read-modify-write); the plan says so.
   */
  unknown_fields?: number[];
}

export type LiveAssignment = Assignment;

/** Q7. */
export interface QueueMetrics {
  runs_in_flight: number;
  actions_in_flight: number;
  depth: number;
}

export interface LiveState {
  /** Each list sorted by name (assignments by key string). */
  pools: LivePool[];
  clusters: LiveCluster[];
  queues: LiveQueue[];
  assignments: LiveAssignment[];
  capabilities: Capabilities;
  /**
   * Union v2: project/domain → default queue (`run.default_queue` settings), sorted by
   * project/domain; absent for control planes without such settings.
   */
  default_queues?: LiveDefaultQueue[];
  /**
   * Union: `run.default_queue` at the scopes above project/domain (the organisation, a
   * domain), sorted (the organisation first); absent when there are none. Read so the planner
   * never drains or deletes a queue they name; poolsync writes project/domain settings only.
   */
  default_queue_scopes?: LiveScopedDefaultQueue[];
  /**
   * The project/domains whose default-queue settings were read, sorted, when not all were
   * (Union reads them one by one: src/plan/fingerprint.ts); the plan records it, so a check of the
   * live state reads the same. Absent: all were read.
   */
  default_queues_read?: { project: string; domain: string }[];
  /**
   * Soft-deleted queues (Union), sorted by name: their names stay reserved until undeleted;
   * absent for control planes whose deletes are final.
   */
  deleted_queues?: LiveQueue[];
  /**
   * Soft-deleted pools and clusters (Union: listed with `EXISTS deleted_at`), sorted by name:
   * their names stay reserved until undeleted; absent when there are none.
   */
  deleted_pools?: LivePool[];
  deleted_clusters?: LiveCluster[];
  /** flyteadmin EXECUTION_CLUSTER_LABEL attributes, sorted by key; absent when there are none. */
  execution_cluster_labels?: ExecutionClusterLabel[];
  /**
   * The flyteadmin backend only: other attribute rows, projects, domains and the deployed
   * cluster configuration. Its presence also tells the planner that a delete takes the narrower
   * rows of its project/domain along (gormimpl/resource_repo.go, plan/flyteadmin.ts).
   */
  flyteadmin?: FlyteadminLive;
  /**
   * The inventory: the addresses poolsync applied to this control plane (model/inventory.ts),
   * sorted; null when none is recorded yet; absent when it was not read (src/apply/inventory.ts
   * reads it beside the live state).
   */
  inventory?: readonly string[] | null;
  /** What `poolsync state forget` took out of management (the inventory's `forgotten`): never pruned. */
  forgotten?: readonly string[];
}

/** A default-queue setting of the organisation (no domain) or of a domain. */
export interface LiveScopedDefaultQueue {
  domain?: string;
  queue: string;
}

export interface LiveDefaultQueue {
  project: string;
  domain: string;
  queue: string;
}

/**
 * The project/domain default-queue settings a live-state read asks for: every one (`all`), or
 * those of these project/domains. Union has no call that lists settings (one call per
 * project/domain): a plan reads only those it needs (src/plan/fingerprint.ts); backends with
 * a list read them all either way.
 */
export type DefaultQueueScope = 'all' | readonly { project: string; domain: string }[];

/** The settings a plan needs read, once the inventory is known (src/plan/fingerprint.ts). */
export type SettingsNeed = (inventory: readonly string[] | null | undefined) => DefaultQueueScope;
