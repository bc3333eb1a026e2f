/**
 * The parts of a control plane (domain.md), one per kind, each its reads and its writes
 * (`PoolCalls = PoolReads & PoolWrites` …), plus the capability calls, manual steps, an apply
 * lock and the inventory. `ControlPlane` (types.ts) composes them; every part is optional, and a
 * backend provides only the parts, and the calls, it really has. A part's method names are
 * unique across parts, so one class can serve several parts and hand itself.
 */
import type {
  Assignment,
  AssignmentKey,
  Capabilities,
  PoolContract,
  QueueSpec,
} from '../model/common.js';
import type { ExecutionClusterLabel } from '../model/flyte.js';
import type { InventoryRecord } from '../model/inventory.js';
import type {
  DefaultQueueScope,
  LiveAssignment,
  LiveCluster,
  LiveDefaultQueue,
  LivePool,
  LiveScopedDefaultQueue,
  LiveQueue,
  QueueMetrics,
} from '../model/live.js';
import type { ManualInstruction, Step } from '../model/plan.js';
import type { CreateQueueRequest, RegisterClusterRequest } from '../model/requests.js';

/** The apply lock as a control plane with one of its own reports it (docs/apply.md#locking). */
export interface ApplyLockLease {
  /** Who holds it, e.g. `poolsync apply (alice@ci-runner-7, pid 4242)`. */
  holder: string;
  acquired_at: string;
  renewed_at: string;
  /** The lock is free once this passes without a renewal (taken over by the next acquirer). */
  expires_at: string;
  /** The holder whose expired lease this acquisition took over (else null). */
  taken_over_from: string | null;
}

/**
 * Capability of control planes with a server-side, lease-style apply lock (the poolsync REST
 * API and the embedded control plane), so one apply at a time holds across machines. Others
 * (Union, flyteadmin) have none: `--lock k8s:NAMESPACE/NAME` uses a Kubernetes Lease instead.
 */
export interface ApplyLockProvider {
  /**
   * Takes the lock for `id` (random, chosen by the caller), or renews it when `id` holds it.
   * Refused with FAILED_PRECONDITION naming the holder while another unexpired lease holds it.
   */
  acquireApplyLock(request: {
    id: string;
    holder: string;
    ttl_seconds: number;
  }): Promise<ApplyLockLease>;
  /** Frees the lock when `id` holds it (else a no-op). */
  releaseApplyLock(id: string): Promise<void>;
  getApplyLock(): Promise<ApplyLockLease | null>;
}

/*
 * Each kind's part is its reads and its writes (`PoolCalls = PoolReads & PoolWrites` …): what
 * reads a live state (readLiveState, the planner's edge) asks only for the reads
 * (`LiveReader`), the executor for the part a step's call goes through (partOf).
 */

/** ClusterPool: reads. */
export interface PoolReads {
  listPools(): Promise<LivePool[]>;
  getPool(name: string): Promise<LivePool>;
  /**
   * Soft deletes (Union): the deleted pools, whose names stay reserved until undeleted.
   * Absent on control planes whose deletes are final.
   */
  listDeletedPools?(): Promise<LivePool[]>;
}

/** ClusterPool: writes. */
export interface PoolWrites {
  createPool(name: string, contract: PoolContract): Promise<LivePool>;
  deletePool(name: string): Promise<void>;
  /** Soft deletes (Union): brings a deleted pool back with the contract it had. */
  undeletePool?(name: string): Promise<LivePool>;
}

export interface PoolCalls extends PoolReads, PoolWrites {}

/** Cluster: reads. */
export interface ClusterReads {
  listClusters(): Promise<LiveCluster[]>;
  getCluster(name: string): Promise<LiveCluster>;
  /** Soft deletes (Union): the deleted clusters. Absent on control planes whose deletes are final. */
  listDeletedClusters?(): Promise<LiveCluster[]>;
}

/** Cluster: writes. */
export interface ClusterWrites {
  registerCluster(request: RegisterClusterRequest): Promise<LiveCluster>;
  /** C6: only `enabled` can change in place. */
  updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster>;
  deleteCluster(name: string): Promise<void>;
  /**
   * Soft deletes (Union): brings a deleted cluster back DRAINED in the pool it had, with its
   * co-named queue (also DRAINED).
   */
  undeleteCluster?(name: string): Promise<LiveCluster>;
}

export interface ClusterCalls extends ClusterReads, ClusterWrites {}

/** Queue: reads. */
export interface QueueReads {
  listQueues(): Promise<LiveQueue[]>;
  getQueue(name: string): Promise<LiveQueue>;
  /** Q7. */
  queueMetrics(name: string): Promise<QueueMetrics>;
  /**
   * Soft deletes (Union): the deleted queues, whose names stay reserved until undeleted.
   * Absent on control planes whose deletes are final.
   */
  listDeletedQueues?(): Promise<LiveQueue[]>;
}

/** Queue: writes. */
export interface QueueWrites {
  createQueue(request: CreateQueueRequest): Promise<LiveQueue>;
  /** Q3: replaces the whole spec (with `queue_move`, a new pool moves a drained queue). */
  updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue>;
  /** Soft deletes (Union): brings a deleted queue back, DRAINED, with the spec it had. */
  undeleteQueue?(name: string): Promise<LiveQueue>;
}

export interface QueueCalls extends QueueReads, QueueWrites {}

/** PoolAssignment: reads. */
export interface AssignmentReads {
  listAssignments(): Promise<LiveAssignment[]>;
}

/** PoolAssignment: writes. */
export interface AssignmentWrites {
  /** A1: upsert. */
  setAssignment(assignment: Assignment): Promise<LiveAssignment>;
  deleteAssignment(key: AssignmentKey): Promise<void>;
}

export interface AssignmentCalls extends AssignmentReads, AssignmentWrites {}

/** DefaultQueue (Union v2 project/domain → default queue settings): reads. */
export interface DefaultQueueReads {
  /**
   * True when a read of some project/domains reads only theirs, one call each (Union: no call
   * lists settings); a live state read so says which it read (`default_queues_read`).
   */
  readonly settingsByKey?: boolean;
  /** Those of `scope` (default: all); a backend that lists them all may return all. */
  listDefaultQueues(scope?: DefaultQueueScope): Promise<LiveDefaultQueue[]>;
  /**
   * Settings of the broader scopes (organisation, domain), where the control plane has them: at
   * least those above the project/domains of `scope`.
   */
  listScopedDefaultQueues?(scope?: DefaultQueueScope): Promise<LiveScopedDefaultQueue[]>;
}

/** DefaultQueue: writes. */
export interface DefaultQueueWrites {
  /** Upsert; the queue must exist (NOT_FOUND otherwise). */
  setDefaultQueue(project: string, domain: string, queue: string): Promise<LiveDefaultQueue>;
  deleteDefaultQueue(project: string, domain: string): Promise<void>;
}

export interface DefaultQueueCalls extends DefaultQueueReads, DefaultQueueWrites {}

/**
 * ExecutionClusterLabel (flyteadmin EXECUTION_CLUSTER_LABEL attributes, project/domain[/workflow]
 * → label): reads.
 */
export interface ExecutionClusterLabelReads {
  listExecutionClusterLabels(): Promise<ExecutionClusterLabel[]>;
}

/** ExecutionClusterLabel: writes. */
export interface ExecutionClusterLabelWrites {
  /** Upsert. */
  setExecutionClusterLabel(label: ExecutionClusterLabel): Promise<ExecutionClusterLabel>;
  deleteExecutionClusterLabel(key: AssignmentKey): Promise<void>;
}

export interface ExecutionClusterLabelCalls
  extends ExecutionClusterLabelReads, ExecutionClusterLabelWrites {}

/** The capabilities a control plane reports (domain.md): the read of the capability part. */
export interface CapabilityReads {
  capabilities(): Promise<Capabilities>;
}

/** The calls the capabilities allow (rejected with FAILED_PRECONDITION while one is off). */
export interface CapabilityWrites {
  /** Capability `drain`: ACTIVE → DRAINING (→ DRAINED once idle). */
  drainQueue(name: string): Promise<LiveQueue>;
  /** Capability `drain`: DRAINING/DRAINED → ACTIVE. */
  activateQueue(name: string): Promise<LiveQueue>;
  /** Capability `queue_delete`: deletes a DRAINED queue. */
  deleteQueue(name: string): Promise<void>;
  /** Capability `cluster_move`: moves a cluster whose queues are drained to another pool in place. */
  moveCluster(name: string, pool: string): Promise<LiveCluster>;
  /** Capability `pool_update`: replaces a pool's contract in place. */
  updatePool(name: string, contract: PoolContract): Promise<LivePool>;
}

/**
 * The capabilities (domain.md) and the calls they allow. A control plane without this part
 * reports the baseline (every capability off), so no capability step is ever planned for it.
 */
export interface CapabilityCalls extends CapabilityReads, CapabilityWrites {}

/**
 * Manual steps, a capability of their own: a backend with steps it has no public API for says
 * what a person runs instead (the planner then plans them as `execution: "manual"`), and the
 * credentials the CLI of those steps reads (`apply --flyte-cli`). A backend without this part
 * makes every step by API.
 */
export interface ManualSteps {
  /**
   * The instruction for a step a person runs, or null for a step made by API. Called as a plain
   * function (the planner keeps it beside its other inputs), so it must not use `this`.
   */
  readonly instruction: (step: Step) => ManualInstruction | null;
  /**
   * The environment the CLI of the manual steps reads its credentials from (e.g. FLYTE_API_KEY):
   * `apply --flyte-cli` sets it for each child. Secret: never logged.
   */
  commandEnv?(): Record<string, string>;
}

/** The inventory of what poolsync applied (model/inventory.ts), where the control plane keeps it. */
export interface InventoryCalls {
  /** Null when none is recorded. */
  readInventory(): Promise<InventoryRecord | null>;
  writeInventory(record: InventoryRecord): Promise<void>;
}
