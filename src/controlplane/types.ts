/**
 * The ControlPlane interface: the calls domain.md says exist, plus the capability calls
 * (domain.md, Capabilities), which a control plane whose capabilities() reports the capability
 * off rejects with FAILED_PRECONDITION (P4, Q6, C9, C7).
 * Implementations, one folder each: embedded/ (the embedded store and its servers), rest/
 * (the client of poolsync's REST API), union/ and flyteadmin/; open.ts picks one by URL.
 */
import type {
  Assignment,
  AssignmentKey,
  Capabilities,
  PoolContract,
  QueueSpec,
} from '../model/common.js';
import type { BackendInfo } from '../model/backend.js';
import type { ExecutionClusterLabel, FlyteadminLive } from '../model/flyte.js';
import type { CreateQueueRequest, RegisterClusterRequest } from '../model/requests.js';

export type { CreateQueueRequest, RegisterClusterRequest } from '../model/requests.js';
import type {
  LiveAssignment,
  LiveCluster,
  LiveDefaultQueue,
  LivePool,
  LiveQueue,
  LiveState,
  QueueMetrics,
} from '../model/live.js';

export type { BackendInfo } from '../model/backend.js';

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

export interface ControlPlane {
  readonly backend: BackendInfo;
  /** The organisation the client acts in, for backends that have them (Union). */
  readonly organization?: string;
  /**
   * The environment the CLI of this backend's manual steps reads its credentials from (e.g.
   * FLYTE_API_KEY): `apply --flyte-cli` sets it for each child. Secret: never logged.
   */
  manualCommandEnv?(): Record<string, string>;
  /** Present when the control plane has an apply lock of its own (ApplyLockProvider). */
  readonly applyLock?: ApplyLockProvider;
  capabilities(): Promise<Capabilities>;

  listPools(): Promise<LivePool[]>;
  getPool(name: string): Promise<LivePool>;
  listClusters(): Promise<LiveCluster[]>;
  getCluster(name: string): Promise<LiveCluster>;
  listQueues(): Promise<LiveQueue[]>;
  getQueue(name: string): Promise<LiveQueue>;
  listAssignments(): Promise<LiveAssignment[]>;
  /** Q7. */
  queueMetrics(name: string): Promise<QueueMetrics>;

  createPool(name: string, contract: PoolContract): Promise<LivePool>;
  deletePool(name: string): Promise<void>;
  registerCluster(request: RegisterClusterRequest): Promise<LiveCluster>;
  /** C6: only `enabled` can change in place. */
  updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster>;
  deleteCluster(name: string): Promise<void>;
  createQueue(request: CreateQueueRequest): Promise<LiveQueue>;
  /** Q3: replaces the whole spec. */
  updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue>;
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

  /** A1: upsert. */
  setAssignment(assignment: Assignment): Promise<LiveAssignment>;
  deleteAssignment(key: AssignmentKey): Promise<void>;

  /**
   * Union v2 project/domain → default queue settings; only backends whose `backend.kinds`
   * includes `DefaultQueue` support them (the others reject the calls).
   */
  listDefaultQueues(): Promise<LiveDefaultQueue[]>;
  /** Upsert; the queue must exist (NOT_FOUND otherwise). */
  setDefaultQueue(project: string, domain: string, queue: string): Promise<LiveDefaultQueue>;
  deleteDefaultQueue(project: string, domain: string): Promise<void>;
  /**
   * flyteadmin EXECUTION_CLUSTER_LABEL attributes (project/domain[/workflow] → label). A backend
   * without them rejects the calls with FAILED_PRECONDITION naming itself (kindUnsupported).
   */
  listExecutionClusterLabels(): Promise<ExecutionClusterLabel[]>;
  /** Upsert. */
  setExecutionClusterLabel(label: ExecutionClusterLabel): Promise<ExecutionClusterLabel>;
  deleteExecutionClusterLabel(key: AssignmentKey): Promise<void>;

  /**
   * Optional: the lists readLiveState reads, as objects shared from read to read and frozen,
   * the same objects for as long as the control plane does not change (the embedded control
   * plane opened with shareReads: list-views.ts), or null when this instance does not share.
   * readLiveState takes them when given, so that a long-running process tells an unchanged
   * state by identity (plan/same-objects.ts). The list methods still return copies.
   */
  sharedLists?(): Promise<LiveLists | null>;
  /**
   * The flyteadmin backend: its other attribute rows, projects, domains and deployed cluster
   * configuration (LiveState.flyteadmin). Absent on other backends.
   */
  flyteadminState?(): Promise<FlyteadminLive>;

  /** Releases connections / file handles / locks. */
  close(): Promise<void>;
}

/** Every list of a live state, as a backend reads them (readLiveState sorts them). */
export interface LiveLists {
  pools: readonly LivePool[];
  clusters: readonly LiveCluster[];
  queues: readonly LiveQueue[];
  assignments: readonly LiveAssignment[];
  /** Null when the backend has no default-queue settings (DefaultQueue not in its kinds). */
  defaultQueues: readonly LiveDefaultQueue[] | null;
  /** Null when the backend has no execution cluster labels. */
  labels: readonly ExecutionClusterLabel[] | null;
}

/** Reads every kind (in parallel where the implementation allows) into a LiveState. */
export async function readLiveState(cp: ControlPlane): Promise<LiveState> {
  // One Promise.all: a failing read rejects once, with no other read left unobserved.
  const [capabilities, lists, flyteadmin] = await Promise.all([
    cp.capabilities(),
    (async () => (await cp.sharedLists?.()) ?? readLists(cp))(),
    cp.flyteadminState ? cp.flyteadminState() : null,
  ]);
  const { pools, clusters, queues, assignments, defaultQueues, labels } = lists;
  const byName = <T extends { name: string }>(a: T, b: T) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  return {
    capabilities,
    pools: sortedCopy(pools, byName),
    clusters: sortedCopy(clusters, byName),
    queues: sortedCopy(queues, byName),
    assignments: sortedCopy(
      assignments,
      (a, b) =>
        compareStrings(a.project, b.project) ||
        compareStrings(a.domain, b.domain) ||
        compareStrings(a.workflow ?? '', b.workflow ?? ''),
    ),
    ...(defaultQueues ? { default_queues: sortDefaultQueues(defaultQueues) } : {}),
    ...labelsField(labels ?? []),
    ...(flyteadmin ? { flyteadmin } : {}),
  };
}

/**
 * `list` in order; most backends list in order already, which is checked first. A frozen list
 * in order (the shared views of an unchanged embedded state, list-views.ts) is returned as it
 * is: nothing can change it, and a copy per read was a daemon run's garbage (issue 23 item 11).
 */
function sortedCopy<T>(list: readonly T[], compare: (a: T, b: T) => number): T[] {
  for (let i = 1; i < list.length; i++)
    if (compare(list[i - 1]!, list[i]!) > 0) return [...list].sort(compare);
  return Object.isFrozen(list) ? (list as T[]) : [...list];
}

/** Code-unit order, as `<` (the order every list of a live state is in). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The lists of every kind `cp.backend` has, read in parallel. */
export async function readLists(cp: ControlPlane): Promise<LiveLists> {
  const withDefaultQueues = cp.backend.kinds.includes('DefaultQueue');
  const withLabels = cp.backend.kinds.includes('ExecutionClusterLabel');
  const [pools, clusters, queues, assignments, defaultQueues, labels] = await Promise.all([
    cp.listPools(),
    cp.listClusters(),
    cp.listQueues(),
    cp.listAssignments(),
    withDefaultQueues ? cp.listDefaultQueues() : null,
    withLabels ? cp.listExecutionClusterLabels() : null,
  ]);
  return { pools, clusters, queues, assignments, defaultQueues, labels };
}

/** By project, then domain. */
export function sortDefaultQueues(list: readonly LiveDefaultQueue[]): LiveDefaultQueue[] {
  const key = (d: LiveDefaultQueue) => `${d.project}\u0000${d.domain}`;
  return [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function sortByKey<T extends AssignmentKey>(items: readonly T[]): T[] {
  const k = (a: T) => [a.project, a.domain, a.workflow ?? ''].join('\u0000');
  return [...items].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

/** Present only when there are labels, so live states of backends without them stay as they were. */
function labelsField(labels: readonly ExecutionClusterLabel[]): {
  execution_cluster_labels?: ExecutionClusterLabel[];
} {
  return labels.length > 0 ? { execution_cluster_labels: sortByKey(labels) } : {};
}
