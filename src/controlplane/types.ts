/**
 * The ControlPlane interface: one optional part per kind (domain.md), the capability calls
 * (domain.md, Capabilities: FAILED_PRECONDITION while off: P4, Q6, C9, C7), manual steps, an
 * apply lock and the inventory. A backend provides the parts it has, and what it manages
 * follows from them (`managedKinds`, the one source of the planner's BACKEND_KIND check).
 * Method names are unique across parts, so one class can serve several (`pools: PoolCalls =
 * this`). Implementations, one folder each (embedded/, rest/, union/, flyteadmin/): open.ts.
 */
import {
  type Assignment,
  type AssignmentKey,
  BASELINE_CAPABILITIES,
  type Capabilities,
  type ObjectKind,
  type PoolContract,
  type QueueSpec,
} from '../model/common.js';
import type { BackendInfo, BackendProfile } from '../model/backend.js';
import type {
  DeployedClusterConfig,
  ExecutionClusterLabel,
  FlyteadminLive,
} from '../model/flyte.js';
import type {
  DefaultQueueScope,
  LiveAssignment,
  LiveCluster,
  LiveDefaultQueue,
  LivePool,
  LiveQueue,
  LiveScopedDefaultQueue,
  LiveState,
  QueueMetrics,
} from '../model/live.js';
import { ControlPlaneError } from './errors.js';
import type { InventoryRecord } from '../model/inventory.js';
import type { ManualInstruction, Step } from '../model/plan.js';
import type { CreateQueueRequest, RegisterClusterRequest } from '../model/requests.js';

export type { CreateQueueRequest, RegisterClusterRequest } from '../model/requests.js';
export type { BackendInfo, BackendProfile } from '../model/backend.js';

export interface ControlPlane {
  /** Its name and config-only kinds; the kinds it manages: `backendInfo(cp)`. */
  readonly backend: BackendProfile;
  /** The organisation the client acts in, for backends that have them (Union). */
  readonly organization?: string;
  /** Present when some steps have no public API: what a person runs instead. */
  readonly manual?: ManualSteps;

  readonly pools?: PoolCalls;
  readonly clusters?: ClusterCalls;
  readonly queues?: QueueCalls;
  readonly assignments?: AssignmentCalls;
  readonly defaultQueues?: DefaultQueueCalls;
  readonly executionClusterLabels?: ExecutionClusterLabelCalls;
  readonly capabilityCalls?: CapabilityCalls;
  readonly applyLock?: ApplyLockProvider;
  /** Kept by the control plane, so every process reads the same one (src/apply/inventory.ts). */
  readonly inventory?: InventoryCalls;

  /** flyteadmin only: the planner's LiveState.flyteadmin. */
  flyteadminState?(): Promise<FlyteadminLive>;
  /** flyteadmin only: the cluster configuration it runs with, read as every plan reads it. */
  deployedClusterConfig?(): Promise<DeployedClusterConfig>;

  /**
   * True once the token endpoint refused this client's credentials: it sends them no more, so
   * the daemon opens a new client for its next call (reading the key again, src/daemon/unit.ts).
   */
  credentialsRefused?(): boolean;

  close(): Promise<void>;
}

/** The manifest kind each kind part of a ControlPlane manages, in the order kinds are listed. */
const KIND_PARTS = {
  pools: 'ClusterPool',
  clusters: 'Cluster',
  queues: 'Queue',
  assignments: 'PoolAssignment',
  defaultQueues: 'DefaultQueue',
  executionClusterLabels: 'ExecutionClusterLabel',
} as const satisfies { [P in keyof ControlPlane]?: ObjectKind };

/** The other parts, and what they are, for messages. */
const OTHER_PARTS = {
  capabilityCalls: 'capability calls (drain, queue delete, cluster move, pool update)',
  applyLock: 'an apply lock of its own',
} as const;

export type PartName = keyof typeof KIND_PARTS | keyof typeof OTHER_PARTS;

export function managedKinds(cp: ControlPlane): ObjectKind[] {
  const parts = Object.keys(KIND_PARTS) as (keyof typeof KIND_PARTS)[];
  return parts.filter((part) => cp[part] !== undefined).map((part) => KIND_PARTS[part]);
}

/** The backend as the planner sees it: its profile, the kinds its parts manage, its manual steps. */
export function backendInfo(cp: ControlPlane): BackendInfo {
  const manualStep = cp.manual?.instruction;
  return { ...cp.backend, kinds: managedKinds(cp), ...(manualStep ? { manualStep } : {}) };
}

/** The part a step's call goes through; refused only for a plan made against another backend. */
export function partOf<P extends PartName>(
  cp: ControlPlane,
  part: P,
  objectAddress: string | null = null,
): NonNullable<ControlPlane[P]> {
  const calls = cp[part];
  if (calls === undefined) {
    const subject =
      part in KIND_PARTS
        ? `${KIND_PARTS[part as keyof typeof KIND_PARTS]} objects`
        : OTHER_PARTS[part as keyof typeof OTHER_PARTS];
    throw new ControlPlaneError(
      'FAILED_PRECONDITION',
      `${objectAddress ? `${objectAddress}: ` : ''}the ${cp.backend.name} control plane does not manage ${subject}; run \`poolsync plan\` against it again`,
      objectAddress,
    );
  }
  return calls as NonNullable<ControlPlane[P]>;
}

/** The capabilities a control plane reports; the baseline (all off) without capability calls. */
export async function readCapabilities(cp: ControlPlane): Promise<Capabilities> {
  return cp.capabilityCalls ? cp.capabilityCalls.capabilities() : { ...BASELINE_CAPABILITIES };
}

/** Every list of a live state, as a backend reads them (readLiveState sorts them). */
export interface LiveLists {
  pools: readonly LivePool[];
  clusters: readonly LiveCluster[];
  queues: readonly LiveQueue[];
  assignments: readonly LiveAssignment[];
  /** Null without the part (`defaultQueues`, `executionClusterLabels`). */
  defaultQueues: readonly LiveDefaultQueue[] | null;
  /** The organisation's and domains' settings. */
  defaultQueueScopes?: readonly LiveScopedDefaultQueue[];
  labels: readonly ExecutionClusterLabel[] | null;
  /** Soft-deleted (listDeleted…). */
  deletedQueues?: readonly LiveQueue[];
  deletedPools?: readonly LivePool[];
  deletedClusters?: readonly LiveCluster[];
}

/**
 * Of the default-queue settings, those of `settings`. `shared`: frozen lists shared from read to
 * read (the daemon's state cache), so an unchanged state is told by identity (sameObjects,
 * incremental/plan-reuse.ts).
 */
export async function readLiveState(
  cp: ControlPlane,
  settings: DefaultQueueScope = 'all',
  shared?: () => Promise<LiveLists | null>,
): Promise<LiveState> {
  const caps = readCapabilities(cp);
  // One Promise.all: a failing read rejects once, with no other read left unobserved.
  const [capabilities, lists, flyteadmin] = await Promise.all([
    caps,
    (async () => (await shared?.()) ?? readLists(cp, settings, caps))(),
    cp.flyteadminState?.() ?? null,
  ]);
  const { pools, clusters, queues, assignments, defaultQueues, labels, deletedQueues } = lists;
  const { deletedPools, deletedClusters } = lists;
  const scopes = lists.defaultQueueScopes ?? [];
  const checked = { pools, clusters, queues, assignments, labels, default_queues: defaultQueues };
  const deleted = { deleted_queues: deletedQueues, deleted_pools: deletedPools };
  const more = { deleted_clusters: deletedClusters, default_queue_scopes: scopes, flyteadmin };
  for (const [what, list] of Object.entries({ ...checked, ...deleted, ...more }))
    checkLiveStrings(what, list);
  const byName = (a: { name: string }, b: { name: string }) => compareStrings(a.name, b.name);
  return {
    capabilities,
    pools: sortedCopy(pools, byName),
    clusters: sortedCopy(clusters, byName),
    queues: sortedCopy(queues, byName),
    assignments: sortedCopy(assignments, byKey),
    ...settingsRead(cp, settings, defaultQueues, scopes),
    // Only when there are labels, so live states of backends without them stay as they were.
    ...(labels?.length ? { execution_cluster_labels: [...labels].sort(byKey) } : {}),
    ...(deletedQueues?.length ? { deleted_queues: sortedCopy(deletedQueues, byName) } : {}),
    ...(deletedPools?.length ? { deleted_pools: sortedCopy(deletedPools, byName) } : {}),
    ...(deletedClusters?.length ? { deleted_clusters: sortedCopy(deletedClusters, byName) } : {}),
    ...(flyteadmin ? { flyteadmin } : {}),
  };
}

/**
 * `list` in order (most backends list in order already: checked first). A frozen list in order
 * is returned as it is: nothing can change it, and a copy per read was a daemon run's garbage
 * (issue 23 item 11).
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

function settingsRead(
  cp: ControlPlane,
  settings: DefaultQueueScope,
  defaultQueues: readonly LiveDefaultQueue[] | null,
  scopes: readonly LiveScopedDefaultQueue[],
): Pick<LiveState, 'default_queues' | 'default_queue_scopes' | 'default_queues_read'> {
  const read = settings !== 'all' && cp.defaultQueues?.settingsByKey === true;
  return {
    ...(defaultQueues ? { default_queues: [...defaultQueues].sort(byKey) } : {}),
    ...(scopes.length ? { default_queue_scopes: sortedCopy(scopes, byScope) } : {}),
    ...(read ? { default_queues_read: [...settings].sort(byKey) } : {}),
  };
}

/**
 * `before` with the default-queue settings of `settings` read again. A change between the two
 * reads gives a live fingerprint no state had: `apply` refuses the plan as stale.
 */
export async function readSettingsAgain(
  cp: ControlPlane,
  before: LiveState,
  settings: DefaultQueueScope,
): Promise<LiveState> {
  const [defaultQueues, scopes] = await Promise.all([
    cp.defaultQueues?.listDefaultQueues(settings) ?? null,
    cp.defaultQueues?.listScopedDefaultQueues?.(settings) ?? [],
  ]);
  checkLiveStrings('default_queues', defaultQueues);
  checkLiveStrings('default_queue_scopes', scopes);
  const lists = { ...before };
  delete lists.default_queues;
  delete lists.default_queue_scopes;
  delete lists.default_queues_read;
  return { ...lists, ...settingsRead(cp, settings, defaultQueues, scopes) };
}

/**
 * The lists of every part, read in parallel; the deleted ones only with soft_delete (the planner
 * reads them only then; a server without it would answer three empty lists).
 */
async function readLists(
  cp: ControlPlane,
  settings: DefaultQueueScope,
  caps: Promise<Capabilities>,
): Promise<LiveLists> {
  const ifSoftDelete = async <T>(read: () => Promise<T> | undefined) =>
    (await caps).soft_delete ? read() : undefined;
  const reads = {
    pools: cp.pools?.listPools() ?? [],
    clusters: cp.clusters?.listClusters() ?? [],
    queues: cp.queues?.listQueues() ?? [],
    assignments: cp.assignments?.listAssignments() ?? [],
    defaultQueues: cp.defaultQueues?.listDefaultQueues(settings) ?? null,
    labels: cp.executionClusterLabels?.listExecutionClusterLabels() ?? null,
    deletedQueues: ifSoftDelete(() => cp.queues?.listDeletedQueues?.()),
    defaultQueueScopes: cp.defaultQueues?.listScopedDefaultQueues?.(settings),
    deletedPools: ifSoftDelete(() => cp.pools?.listDeletedPools?.()),
    deletedClusters: ifSoftDelete(() => cp.clusters?.listDeletedClusters?.()),
  } satisfies { [K in keyof Required<LiveLists>]: LiveLists[K] | Promise<LiveLists[K]> };
  const read = Object.entries(reads).map(async ([list, got]) => [list, await got] as const);
  return Object.fromEntries(await Promise.all(read)) as unknown as LiveLists;
}

/** The organisation first, then by domain. */
function byScope(a: LiveScopedDefaultQueue, b: LiveScopedDefaultQueue): number {
  return (
    compareStrings(a.project ?? '', b.project ?? '') ||
    compareStrings(a.domain ?? '', b.domain ?? '')
  );
}

function byKey(a: KeyParts, b: KeyParts): number {
  return (
    compareStrings(a.project, b.project) ||
    compareStrings(a.domain, b.domain) ||
    compareStrings(a.workflow ?? '', b.workflow ?? '')
  );
}

type KeyParts = { project: string; domain: string; workflow?: string | null };

/** A control plane's own apply lock (docs/apply.md#locking). */
export interface ApplyLockLease {
  /** Who holds it, e.g. `poolsync apply (alice@ci-runner-7, pid 4242)`. */
  holder: string;
  acquired_at: string;
  renewed_at: string;
  /** Free once this passes without a renewal (taken over by the next acquirer). */
  expires_at: string;
  /** The holder whose expired lease this acquisition took over. */
  taken_over_from: string | null;
}

export interface ApplyLockRequest {
  id: string;
  holder: string;
  ttl_seconds: number;
}

/**
 * A server-side lease (REST API, embedded), so one apply at a time holds across machines.
 * Union and flyteadmin have none: `--lock k8s:NAMESPACE/NAME` uses a Kubernetes Lease instead.
 */
export interface ApplyLockProvider {
  /**
   * Takes the lock for `id` (random, the caller's), or renews it when `id` holds it under the
   * same `holder` (another holder of that id takes it over); while another unexpired lease
   * holds it, FAILED_PRECONDITION naming the holder.
   */
  acquireApplyLock(request: ApplyLockRequest): Promise<ApplyLockLease>;
  /** A no-op unless `id` holds it. */
  releaseApplyLock(id: string): Promise<void>;
  getApplyLock(): Promise<ApplyLockLease | null>;
}

// Soft deletes (capability soft_delete): `listDeleted…` lists the deleted objects, whose names
// stay reserved until `undelete…`; both absent where deletes are final.

export interface PoolCalls {
  listPools(): Promise<LivePool[]>;
  getPool(name: string): Promise<LivePool>;
  listDeletedPools?(): Promise<LivePool[]>;
  createPool(name: string, contract: PoolContract): Promise<LivePool>;
  deletePool(name: string): Promise<void>;
  /** Back with the contract it had. */
  undeletePool?(name: string): Promise<LivePool>;
}

export interface ClusterCalls {
  listClusters(): Promise<LiveCluster[]>;
  getCluster(name: string): Promise<LiveCluster>;
  listDeletedClusters?(): Promise<LiveCluster[]>;
  /** C1. Answers nothing, as createQueue: the executor reads nothing back. */
  registerCluster(request: RegisterClusterRequest): Promise<void>;
  /** C6: only `enabled` can change in place. */
  updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster>;
  deleteCluster(name: string): Promise<void>;
  /** Back DRAINED in the pool it had, with its co-named queue (also DRAINED). */
  undeleteCluster?(name: string): Promise<LiveCluster>;
}

export interface QueueCalls {
  listQueues(): Promise<LiveQueue[]>;
  getQueue(name: string): Promise<LiveQueue>;
  /** Q7. */
  queueMetrics(name: string): Promise<QueueMetrics>;
  listDeletedQueues?(): Promise<LiveQueue[]>;
  /** Q1. Answers nothing: the executor reads nothing back (what a server answers may be dropped). */
  createQueue(request: CreateQueueRequest): Promise<void>;
  /** The spec createQueue makes of `request`, where the backend adds to it (Union: a scheduling). */
  createdSpec?(request: CreateQueueRequest): QueueSpec;
  /** Q3: replaces the whole spec (with `queue_move`, a new pool moves a drained queue). */
  updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue>;
  /** Back DRAINED, with the spec it had. */
  undeleteQueue?(name: string): Promise<LiveQueue>;
}

export interface AssignmentCalls {
  listAssignments(): Promise<LiveAssignment[]>;
  /** A1: upsert. */
  setAssignment(assignment: Assignment): Promise<LiveAssignment>;
  deleteAssignment(key: AssignmentKey): Promise<void>;
  /** Where a delete takes narrower rows along (flyteadmin): theirs, live, by `project/domain/…`. */
  assignmentsDeletedWith?(key: AssignmentKey): Promise<string[]>;
}

export interface DefaultQueueCalls {
  /**
   * A read of some project/domains reads only theirs, one call each (Union: no call lists
   * settings); a live state read so says which it read (`default_queues_read`).
   */
  readonly settingsByKey?: boolean;
  /** Those of `scope` (default: all), or all. */
  listDefaultQueues(scope?: DefaultQueueScope): Promise<LiveDefaultQueue[]>;
  /** Organisation and domain settings: at least those above the project/domains of `scope`. */
  listScopedDefaultQueues?(scope?: DefaultQueueScope): Promise<LiveScopedDefaultQueue[]>;
  /** Upsert; the queue must exist (NOT_FOUND otherwise). */
  setDefaultQueue(project: string, domain: string, queue: string): Promise<LiveDefaultQueue>;
  deleteDefaultQueue(project: string, domain: string): Promise<void>;
}

export interface ExecutionClusterLabelCalls {
  listExecutionClusterLabels(): Promise<ExecutionClusterLabel[]>;
  /** Upsert. */
  setExecutionClusterLabel(label: ExecutionClusterLabel): Promise<ExecutionClusterLabel>;
  deleteExecutionClusterLabel(key: AssignmentKey): Promise<void>;
  /** As assignmentsDeletedWith. */
  labelsDeletedWith?(key: AssignmentKey): Promise<string[]>;
}

/** The capabilities and their calls; without this part, the baseline (readCapabilities). */
export interface CapabilityCalls {
  capabilities(): Promise<Capabilities>;
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
 * Steps a backend has no public API for: what a person runs instead (planned as `execution:
 * "manual"`; `apply --flyte-cli` runs it).
 */
export interface ManualSteps {
  /**
   * Null for a step made by API. Called as a plain function (the planner keeps it beside its
   * other inputs), so it must not use `this`.
   */
  readonly instruction: (step: Step) => ManualInstruction | null;
}

/** The inventory of what poolsync applied (model/inventory.ts). */
export interface InventoryCalls {
  readInventory(): Promise<InventoryRecord | null>;
  writeInventory(record: InventoryRecord): Promise<void>;
}

/**
 * UTF-16 code units one string of a live state may hold. What a control plane reports is input
 * too (issue 38, item 11): a flyteadmin label of 10 MB made `export` overflow the stack, ~12 MB
 * of Union names took `plan --output json` past a 256 MB heap. No real name, label, URI or
 * reason needs more than a few hundred bytes (Kubernetes names 253, label values 63), so such a
 * state is refused as it is read, before anything plans, renders or exports it.
 */
export const MAX_LIVE_STRING = 4096;

/** Shown of a refused value: enough to find it, not enough to flood a terminal. */
const SHOWN = 40;

/** `value`: a list of a live state named `what`; frozen lists are embedded views, checked already. */
export function checkLiveStrings(what: string, value: unknown): void {
  if (Object.isFrozen(value) && Array.isArray(value)) return;
  const hit = findIn(value, 0);
  if (hit === null) return;
  throw new ControlPlaneError(
    'INVALID_ARGUMENT',
    `it reported a value of ${hit.length.toLocaleString('en-US')} characters at ${what}${hit.at}` +
      ` (${JSON.stringify(hit.start)}…): more than ${MAX_LIVE_STRING} characters, which no name, label or setting needs;` +
      ` poolsync does not plan, render or export it. Fix or remove that object with the control plane's own tool`,
  );
}

interface Found {
  at: string;
  length: number;
  start: string;
}

/**
 * The first string over the bound, `at` relative to `value` (`[3].spec.x`). The path is built
 * on the way back up, for the one found only: a path per node cost ~20 ms of a cold plan.
 */
function findIn(value: unknown, depth: number): Found | null {
  if (typeof value === 'string')
    return value.length > MAX_LIVE_STRING
      ? { at: '', length: value.length, start: value.slice(0, SHOWN) }
      : null;
  if (typeof value !== 'object' || value === null || depth > 16) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'number' || typeof item === 'boolean') continue;
      const hit = findIn(item, depth + 1);
      if (hit) return { ...hit, at: `[${i}]${hit.at}` };
    }
    return null;
  }
  for (const key in value) {
    if (key.length > MAX_LIVE_STRING)
      return { at: ` (a field name)`, length: key.length, start: key.slice(0, SHOWN) };
    const hit = findIn((value as Record<string, unknown>)[key], depth + 1);
    if (hit) return { ...hit, at: `.${key}${hit.at}` };
  }
  return null;
}
