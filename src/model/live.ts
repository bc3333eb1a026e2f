/** LiveState: what a ControlPlane reports (domain.md). Produced by src/controlplane. */
import type { Applier } from './appliers.js';
import type {
  Assignment,
  Capabilities,
  ClusterSettings,
  DefaultQueueSetting,
  PoolContract,
  QueueSpec,
} from './common.js';
import type { ExecutionClusterLabel, FlyteadminLive } from './flyte.js';
import type { Guardrails } from './desired.js';

export interface LivePool {
  name: string;
  contract: PoolContract;
  /** P6: derived from the clusters registered into it, sorted. */
  member_clusters: string[];
  /** false when hidden (Union): `contract` is a placeholder, never compared or exported as real. */
  contract_known?: false;
}

export type ClusterHealth = 'unknown' | 'healthy' | 'unhealthy';

export interface ConfigDriftEntry {
  field: string;
  contract: string;
  reported: string;
}

export interface LiveCluster extends ClusterSettings {
  name: string;
  health: ClusterHealth;
  unhealthy_reasons: string[];
  config_drift: ConfigDriftEntry[];
  /** Queues whose selector names this cluster explicitly, sorted. */
  bound_queues: string[];
  /**
   * false when the control plane does not report data planes (Union): an empty `config_drift`
   * then means unknown, not matching (reportedDataPlane, model/capabilities.ts).
   */
  data_plane_reported?: false;
  /** Union: DeleteCluster left it DELETING: listed as deleted, undeletable only once done. */
  deleting?: true;
}

/**
 * Capability `drain`: ACTIVE → DRAINING → DRAINED. `deleting` (Union): a delete asked while it
 * was draining, listed until its work is done; every state change is refused until then
 * (remote/_queue.py:938-939, 965, 990-996, 1044-1045).
 */
export type QueueState = 'active' | 'draining' | 'drained' | 'deleting';

export interface LiveQueue extends QueueSpec {
  name: string;
  /** Capability `drain`; absent means `active` (control planes without the capability). */
  state?: QueueState;
  /** C2: created by a cluster registration; its pool and selector follow the cluster (Q4). */
  cluster_managed: boolean;
  /** Q8: enabled and healthy clusters this queue routes to, sorted. */
  available_clusters: string[];
  /**
   * Numbers of spec fields sent that Union's .proto does not declare, sorted; absent if none. A
   * queue update writes them back unchanged (read-modify-write); the plan says so.
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
  /** Each list sorted by name (assignments by key string), as are the optional ones below. */
  pools: LivePool[];
  clusters: LiveCluster[];
  queues: LiveQueue[];
  assignments: LiveAssignment[];
  capabilities: Capabilities;
  /** Union v2: project/domain → default queue (`run.default_queue`); absent without settings. */
  default_queues?: LiveDefaultQueue[];
  /**
   * Union: `run.default_queue` above project/domain (the organisation first, then domains): read
   * so the planner never drains or deletes a queue they name; never written.
   */
  default_queue_scopes?: LiveScopedDefaultQueue[];
  /**
   * The project/domains whose settings were read, when not all were (Union reads them one by one,
   * src/plan/fingerprint.ts): the plan records it, so a check reads the same.
   */
  default_queues_read?: { project: string; domain: string }[];
  /** Soft-deleted (Union: `EXISTS deleted_at`): names reserved until undeleted; absent: none. */
  deleted_queues?: LiveQueue[];
  deleted_pools?: LivePool[];
  deleted_clusters?: LiveCluster[];
  /** flyteadmin EXECUTION_CLUSTER_LABEL attributes. */
  execution_cluster_labels?: ExecutionClusterLabel[];
  /**
   * flyteadmin only; its presence tells the planner a delete takes the narrower rows of its
   * project/domain along (gormimpl/resource_repo.go, plan/flyteadmin.ts).
   */
  flyteadmin?: FlyteadminLive;
  /**
   * The inventory's addresses (model/inventory.ts); null when none is recorded yet, absent when
   * not read (src/apply/inventory.ts reads it beside the live state).
   */
  inventory?: readonly string[] | null;
  /**
   * Per repository, the addresses of `inventory` it applied (the inventory's `repositories`); one
   * in none was recorded without its repository. Absent: a state built in-process, whose whole
   * inventory is the planned repository's (src/plan/prune-scope.ts, ownership).
   */
  inventory_owners?: Readonly<Record<string, readonly string[]>>;
  /** What `poolsync state forget` took out of management (the inventory's `forgotten`): never pruned. */
  forgotten?: readonly string[];
  /** Applied with `poolsync/prevent-destroy: "true"` (the inventory's marks): never destroyed. */
  prevent_destroy?: readonly string[];
  /** Applied with `poolsync/confirm-destroy: "true"`: destroyed only once a person approves. */
  confirm_destroy?: readonly string[];
  /** The inventory's `cluster_waits`: queues later deletes of each cluster watch too (C9). */
  cluster_waits?: Readonly<Record<string, readonly string[]>>;
  /**
   * Addresses an apply from here that never completed set out to delete, live now with another
   * pool, contract, queue or label than it showed: made again by another client, no longer in
   * `inventory` (src/apply/inventory.ts). Absent: none.
   */
  made_again?: Readonly<Record<string, MadeAgain>>;
  /**
   * The inventory's budgets (model/inventory.ts): each repository's, of the last commit it applied,
   * and `guardrails`, recorded without a repository, binding one with none of its own.
   */
  guardrails?: Guardrails;
  repository_guardrails?: Readonly<Record<string, Guardrails>>;
  /** The inventory's `appliers` (model/appliers.ts): who last updated each object, per repository. */
  appliers?: Readonly<Record<string, readonly Applier[]>>;
}

/** What differs: the field (`pool`, `contract`, `queue`, `label`), as shown then and now (null: a contract). */
export interface MadeAgain {
  field: string;
  was: string | null;
  now: string | null;
}

/** A default-queue setting of the organisation (no domain) or of a domain. */
export interface LiveScopedDefaultQueue {
  domain?: string;
  queue: string;
  /**
   * An archived project's own level (issue 73 item 7): not managed, but Union refuses to delete
   * a queue it names as any other (remote/_queue.py:1011-1014).
   */
  project?: string;
  /** The level could not be read (`queue` is then ''): no queue may be deleted unseen. */
  unreadable?: true;
}

export type LiveDefaultQueue = DefaultQueueSetting;

/**
 * The default-queue settings a live-state read asks for. Union has no call that lists them (one
 * per project/domain): a plan reads only those it needs (src/plan/fingerprint.ts).
 */
export type DefaultQueueScope = 'all' | readonly { project: string; domain: string }[];

/** The settings a plan needs read, once the inventory is known (src/plan/fingerprint.ts). */
export type SettingsNeed = (inventory: readonly string[] | null | undefined) => DefaultQueueScope;
