/**
 * The functional core of the embedded control plane: every rule of domain.md as an operation
 * on its state (with the index its writers keep current), its read views and its snapshots.
 * No I/O and no clock: callers pass `now`.
 *
 * Writes are expressed as `Op` records. An op is validated and applied in one step
 * (`applyOp`); a rejected op changes nothing. Because applying is deterministic, the
 * persistence layer journals accepted ops and replays them after a restart.
 */
import {
  address,
  type Assignment,
  type AssignmentKey,
  assignmentKeyString,
  BASELINE_CAPABILITIES,
  type Capabilities,
  type ClusterDataPlane,
  dataPlaneMismatches,
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  defaultQueueKeyString,
  type ObjectKind,
  type PoolContract,
  QUEUE_DEFAULTS,
  type QueueSpec,
  WILDCARD,
} from '../../model/common.js';
import type {
  ConfigDriftEntry,
  LiveCluster,
  LiveDefaultQueue,
  LivePool,
  LiveQueue,
  QueueMetrics,
  QueueState,
} from '../../model/live.js';
import type { ExecutionClusterLabel } from '../../model/flyte.js';
import { capabilityOff, ControlPlaneError } from '../errors.js';
import {
  assignmentShape,
  capabilitiesShape,
  defaultQueueShape,
  executionClusterLabelShape,
  poolContractShape,
  queueSpecShape,
  storedClusterShape,
} from '../../model/shapes.js';
import {
  bool,
  listOf,
  nullable,
  num,
  record,
  type Shape,
  shapeProblem,
  str,
} from '../../util/json-shape.js';
import {
  formatCapabilities,
  reportedDataPlane,
  sameCapabilities,
} from '../../model/capabilities.js';
import { UserError } from '../../util/user-error.js';
import { sameJson } from '../../util/same-json.js';

/** Accepted writes, as journaled. Inputs are already validated (validate.ts). */
export type Op =
  | { op: 'create_pool'; name: string; contract: PoolContract }
  | { op: 'delete_pool'; name: string }
  | { op: 'register_cluster'; name: string; pool: string; data_plane: ClusterDataPlane | null }
  | { op: 'update_cluster'; name: string; enabled: boolean }
  | { op: 'delete_cluster'; name: string }
  | { op: 'create_queue'; name: string; spec: QueueSpec }
  | { op: 'update_queue'; name: string; spec: QueueSpec; at?: number } // at: for queue_move
  | { op: 'set_assignment'; assignment: Assignment }
  | { op: 'delete_assignment'; key: AssignmentKey }
  | { op: 'report_cluster_status'; name: string; report: ClusterDataPlane }
  | ({ op: 'set_queue_activity'; name: string } & ActivityRecord)
  // The capabilities' ops (their rules: below).
  | { op: 'set_capabilities'; capabilities: Capabilities }
  | { op: 'drain_queue'; name: string }
  | { op: 'activate_queue'; name: string }
  | { op: 'delete_queue'; name: string; at: number }
  | { op: 'undelete_queue'; name: string }
  | { op: 'undelete_pool'; name: string }
  | { op: 'undelete_cluster'; name: string }
  | { op: 'move_cluster'; name: string; pool: string; at: number }
  | { op: 'update_pool'; name: string; contract: PoolContract }
  | { op: 'set_default_queue'; project: string; domain: string; queue: string }
  | { op: 'delete_default_queue'; project: string; domain: string }
  | { op: 'set_execution_cluster_label'; label: ExecutionClusterLabel }
  | { op: 'delete_execution_cluster_label'; key: AssignmentKey };

// ---------------------------------------------------------------- data plane (C4, C5)

/** Compares declared/reported data-plane values with a pool contract; undeclared values are skipped. */
export function dataPlaneDrift(contract: PoolContract, dp: ClusterDataPlane): ConfigDriftEntry[] {
  return dataPlaneMismatches(contract, dp).map((m) => ({
    field: m.field,
    contract: m.contract,
    reported: m.declared,
  }));
}

function describeDrift(d: ConfigDriftEntry): string {
  return `${d.field} is ${JSON.stringify(d.reported)} but the pool contract says ${JSON.stringify(d.contract)}`;
}

// ---------------------------------------------------------------- apply

/** Q1: every named cluster exists and is a member of the queue's pool. */
function checkSelectorMembers(state: State, queue: string, spec: QueueSpec): void {
  for (const name of spec.clusters) {
    if (name === WILDCARD) continue;
    const cluster = state.clusters.get(name);
    if (!cluster) {
      throw precondition(
        `queue "${queue}" selects cluster "${name}", which does not exist (Q1)`,
        address('Queue', queue),
        'Q1',
      );
    }
    if (cluster.pool !== spec.pool) {
      throw precondition(
        `queue "${queue}" is in pool "${spec.pool}" but selects cluster "${name}" of pool "${cluster.pool}" (Q1)`,
        address('Queue', queue),
        'Q1',
      );
    }
  }
}

type OpOf<K extends Op['op']> = Extract<Op, { op: K }>;

const OPS: { [K in Op['op']]: (state: State, op: OpOf<K>) => void } = {
  create_pool: createPool,
  delete_pool: deletePool,
  register_cluster: registerCluster,
  update_cluster: (state, op) => {
    const cluster = requireCluster(state, op.name);
    if (cluster.enabled && !op.enabled) refusePinned(state, op.name, 'drained');
    cluster.enabled = op.enabled; // C6
    conamedFollows(state, op.name, op.enabled);
  },
  delete_cluster: deleteCluster,
  create_queue: createQueue,
  update_queue: updateQueue,
  set_assignment: setAssignment,
  delete_assignment: deleteAssignment,
  report_cluster_status: reportClusterStatus,
  set_queue_activity: setQueueActivity,
  set_default_queue: setDefaultQueue,
  delete_default_queue: deleteDefaultQueue,
  set_capabilities: setCapabilities,
  drain_queue: (state, op) => drainQueue(state, op.name),
  activate_queue: (state, op) => activateQueue(state, op.name),
  delete_queue: (state, op) => deleteQueue(state, op.name, op.at),
  undelete_queue: (state, op) => undeleteQueue(state, op.name),
  undelete_pool: undeletePool,
  undelete_cluster: undeleteCluster,
  move_cluster: moveCluster,
  update_pool: updatePool,
  set_execution_cluster_label: setClusterLabel,
  delete_execution_cluster_label: deleteClusterLabel,
};

/** Whether `name` is an op of this build (a journal line of a newer one may be another). */
export const isOpName = (name: string): name is Op['op'] => Object.hasOwn(OPS, name);

export function applyOp(state: State, op: Op): void {
  try {
    (OPS[op.op] as (state: State, op: Op) => void)(state, op);
  } finally {
    // Q8's index: these ops may change a cluster's enabled or health in place (not via put).
    if (!ROUTING_KEPT.has(op.op)) indexes.get(state)?.forgetAvailable();
  }
}

/**
 * The ops that never change a cluster's `enabled` or `health` in place: the index's available
 * members (Q8) outlive them. Any other op, a new one included, drops them all.
 */
const ROUTING_KEPT: ReadonlySet<Op['op']> = new Set<Op['op']>([
  'create_pool',
  'delete_pool',
  'undelete_pool',
  'register_cluster',
  'create_queue',
  'update_queue',
  'delete_queue',
  'undelete_queue',
  'drain_queue',
  'activate_queue',
  'set_queue_activity',
  'set_assignment',
  'delete_assignment',
  'set_default_queue',
  'delete_default_queue',
  'set_execution_cluster_label',
  'delete_execution_cluster_label',
]);

function createPool(state: State, op: OpOf<'create_pool'>): void {
  const addr = address('ClusterPool', op.name);
  if (state.pools.has(op.name)) throw exists(`pool "${op.name}" already exists (P3)`, addr, 'P3');
  checkNameKept(state, 'deleted_pools', addr);
  state.pools.set(op.name, { name: op.name, contract: structuredClone(op.contract) });
}

function deletePool(state: State, op: OpOf<'delete_pool'>): void {
  const addr = address('ClusterPool', op.name);
  // P5, unless default_delete (Union: remote/_cluster_pool.py:270-274) lets it go like any pool.
  if (op.name === DEFAULT_POOL && !state.capabilities.default_delete) {
    throw precondition('the "default" pool can never be deleted (P5)', addr, 'P5');
  }
  findPool(state, op.name);
  const refs = poolReferences(state, op.name);
  if (refs.clusters.length + refs.queues.length > 0) {
    const what = [
      refs.clusters.length ? `clusters ${listNames(refs.clusters)}` : '',
      refs.queues.length ? `queues ${listNames(refs.queues)}` : '',
    ].filter(Boolean);
    throw precondition(
      `pool "${op.name}" is still referenced by ${what.join(' and ')}; ${poolReferencesFix(state, refs)}`,
      addr,
      'P5',
    );
  }
  if (refs.assignments.length > 0) {
    throw precondition(
      `pool "${op.name}" is named by assignments ${listNames(refs.assignments)}; delete them first (A3)`,
      addr,
      'A3',
    );
  }
  if (state.capabilities.soft_delete)
    (state.deleted_pools ??= new Map()).set(op.name, state.pools.get(op.name)!);
  state.pools.delete(op.name);
}

function registerCluster(state: State, op: OpOf<'register_cluster'>): void {
  const addr = address('Cluster', op.name);
  const queue = checkRegistration(state, op, addr);
  put(state, {
    name: op.name,
    pool: op.pool,
    enabled: true,
    health: 'unknown',
    unhealthy_reasons: [],
    config_drift: [],
  });
  // C2 (and the C7 trap): an existing co-named queue is left exactly as it is.
  if (!queue) {
    state.deleted_queues?.delete(op.name); // soft_delete: a deleted record under the name goes
    put(state, {
      name: op.name,
      spec: { pool: op.pool, clusters: [op.name], ...QUEUE_DEFAULTS },
      cluster_managed: true,
    });
  }
  // C3: the org-wide default queue comes back if it is missing; not a soft-deleted one
  // (default_delete): its name stays reserved until it is undeleted.
  if (!state.queues.has(DEFAULT_QUEUE) && !state.deleted_queues?.has(DEFAULT_QUEUE))
    put(state, defaultQueue());
}

/** C1, C7, N2, C4 for a new cluster; returns its co-named queue, if any. */
function checkRegistration(state: State, op: OpOf<'register_cluster'>, addr: string) {
  if (op.name === DEFAULT_POOL) {
    const reserved = 'the cluster name "default" is reserved (C1)';
    throw new ControlPlaneError('INVALID_ARGUMENT', reserved, addr, 'C1');
  }
  const existing = state.clusters.get(op.name);
  if (existing && existing.pool !== op.pool) {
    throw precondition(
      `cluster "${op.name}" is registered in pool "${existing.pool}"; a cluster's pool is fixed for the life of the record (C7): register it under a new name in "${op.pool}"`,
      addr,
      'C7',
    );
  }
  if (existing)
    throw exists(
      `cluster "${op.name}" is already registered in pool "${op.pool}" (C7)`,
      addr,
      'C7',
    );
  checkNameKept(state, 'deleted_clusters', addr);
  const pool = requirePool(state, op.pool, addr, 'C1');
  const queue = state.queues.get(op.name);
  if (queue && !queue.cluster_managed) {
    throw exists(
      `the name "${op.name}" is taken by queue "${op.name}"; clusters and queues share one namespace (N2)`,
      addr,
      'N2',
    );
  }
  const drift = op.data_plane ? dataPlaneDrift(pool.contract, op.data_plane) : [];
  if (drift.length > 0) {
    throw precondition(
      `cluster "${op.name}" declares a data plane that does not match pool "${op.pool}" (C4): ${drift.map(describeDrift).join('; ')}`,
      addr,
      'C4',
    );
  }
  return queue;
}

function deleteCluster(state: State, op: OpOf<'delete_cluster'>): void {
  requireCluster(state, op.name);
  refusePinned(state, op.name, 'deleted');
  // Taken before C8 empties its selector, so soft_delete keeps it as it was.
  const conamed = conamedQueueDeletedWith(state, op.name);
  unselect(state, op.name);
  // Kept only when its co-named queue goes with it (queue_delete, as on Union); else that queue
  // stays behind (C7) and the delete is final.
  if (state.capabilities.soft_delete && state.capabilities.queue_delete)
    (state.deleted_clusters ??= new Map()).set(
      op.name,
      structuredClone(state.clusters.get(op.name)!),
    );
  remove(state, 'clusters', op.name);
  if (conamed) {
    keepDeleted(state, conamed);
    dropQueue(state, op.name);
  }
}

/** C8: `cluster` leaves every explicit selector; wildcard queues are unaffected. */
function unselect(state: State, cluster: string): void {
  for (const name of indexOf(state).boundQueues(cluster)) {
    const queue = state.queues.get(name)!;
    const clusters = queue.spec.clusters.filter((c) => c !== cluster);
    put(state, { ...queue, spec: { ...queue.spec, clusters } });
  }
}

function createQueue(state: State, op: OpOf<'create_queue'>): void {
  const addr = address('Queue', op.name);
  if (op.name === DEFAULT_QUEUE) {
    throw exists(
      'the queue name "default" is reserved for the org-wide queue (Q2, C3)',
      addr,
      'Q2',
    );
  }
  if (state.clusters.has(op.name)) {
    throw exists(`the name "${op.name}" is taken by cluster "${op.name}" (Q2)`, addr, 'Q2');
  }
  if (state.queues.has(op.name)) throw exists(`queue "${op.name}" already exists (N2)`, addr, 'N2');
  checkNotReserved(state, op.name);
  requirePool(state, op.spec.pool, addr, 'Q1');
  checkSelectorMembers(state, op.name, op.spec);
  // The op's spec is the state's own, not copied again: embedded.ts made it (validate.ts), or
  // the journal's JSON did (a copy per create was 60 MB of a 100,000-object apply, issue 63).
  put(state, { name: op.name, spec: op.spec, cluster_managed: false });
}

function updateQueue(state: State, op: OpOf<'update_queue'>): void {
  const addr = address('Queue', op.name);
  const queue = requireQueue(state, op.name);
  if (op.spec.pool !== queue.spec.pool) {
    // Q3 (Q4, Q5), or capability queue_move: a drained queue moves to an existing pool.
    checkPoolChange(state, queue, op.spec.pool, op.at ?? 0);
    requirePool(state, op.spec.pool, addr, 'Q1');
  }
  const sameSelector = sameJson(op.spec.clusters, queue.spec.clusters);
  if (op.name === DEFAULT_QUEUE && !sameSelector) {
    throw precondition('the selector of the "default" queue cannot change (Q5)', addr, 'Q5');
  }
  if (queue.cluster_managed && !sameSelector) {
    throw precondition(
      `queue "${op.name}" is the co-named queue of cluster "${op.name}"; its selector is managed by the cluster (Q4)`,
      addr,
      'Q4',
    );
  }
  checkSelectorMembers(state, op.name, op.spec);
  put(state, { ...queue, spec: op.spec }); // the op's own, as in createQueue
}

function setAssignment(state: State, op: OpOf<'set_assignment'>): void {
  const key = assignmentKeyString(op.assignment);
  requirePool(state, op.assignment.pool, address('PoolAssignment', key), 'A1');
  state.assignments.set(key, { ...op.assignment });
}

function deleteAssignment(state: State, op: OpOf<'delete_assignment'>): void {
  const key = assignmentKeyString(op.key);
  if (!state.assignments.delete(key))
    throw notFound(`assignment "${key}" does not exist`, address('PoolAssignment', key), 'A1');
}

function reportClusterStatus(state: State, op: OpOf<'report_cluster_status'>): void {
  const cluster = requireCluster(state, op.name);
  const contract = state.pools.get(cluster.pool)!.contract;
  const drift = dataPlaneDrift(contract, op.report);
  // C5: one reason per mismatching field; the differences are the config drift.
  cluster.health = drift.length === 0 ? 'healthy' : 'unhealthy';
  cluster.unhealthy_reasons = drift.map(describeDrift);
  cluster.config_drift = drift;
}

function setQueueActivity(state: State, op: OpOf<'set_queue_activity'>): void {
  requireQueue(state, op.name);
  const { runs_in_flight, actions_in_flight, at, finish_over_ms } = op;
  state.activity.set(op.name, { runs_in_flight, actions_in_flight, at, finish_over_ms });
}

/** The first five names (quoted unless `quote` is ''), then how many more. */
function listNames(names: string[], quote = '"'): string {
  const shown = names.slice(0, 5).map((n) => `${quote}${n}${quote}`);
  return names.length > 5 ? `${shown.join(', ')} and ${names.length - 5} more` : shown.join(', ');
}

/** What frees a referenced pool (P5): nothing without queue_delete (Q6), else deleting what refers to it. */
function poolReferencesFix(state: State, refs: { clusters: string[]; queues: string[] }): string {
  if (!state.capabilities.queue_delete)
    return 'queues cannot be deleted (Q6), so this pool can never be deleted (P5)';
  // A cluster's co-named queue goes with the cluster's delete or move (C2).
  const queues = refs.queues.filter(
    (q) => !(refs.clusters.includes(q) && state.queues.get(q)?.cluster_managed),
  );
  const todo = [
    refs.clusters.length ? `delete or move clusters ${listNames(refs.clusters)}` : '',
    queues.length ? `drain and delete queues ${listNames(queues)}` : '',
  ].filter(Boolean);
  return `this control plane deletes queues (queue_delete, Q6), so ${todo.join(' and ')}, then delete the pool again (P5)`;
}

function poolReferences(state: State, pool: string) {
  const clusters = [...indexOf(state).members(pool)];
  const queues = [...state.queues.values()].filter((q) => q.spec.pool === pool).map((q) => q.name);
  const assignments = [...state.assignments.entries()]
    .filter(([, a]) => a.pool === pool)
    .map(([k]) => k);
  return { clusters: clusters.sort(), queues: queues.sort(), assignments: assignments.sort() };
}

/**
 * The state as stored. A pool's member clusters and the queues whose selectors name a cluster
 * come from an index built on the first read and kept current by the writers, so a write and a
 * get cost the same at 10 objects and at 100,000. The rule:
 *   **never write `state.clusters` or `state.queues` directly; call `put` or `remove`**
 *   (replacing a queue's `spec` is a write). A cluster's `enabled`, `health`, reasons and drift
 *   may change in place, in an op not listed in ROUTING_KEPT: applyOp then drops the index's
 *   available members (Q8). A new indexed view belongs in `StateIndex` with its upkeep in `add`
 *   and `drop`.
 */
export type PoolRecord = Pick<LivePool, 'name' | 'contract'>;

/** A cluster as stored; its bound queues are derived from the queues' selectors on read. */
export type ClusterRecord = Omit<LiveCluster, 'bound_queues'>;

export interface QueueRecord {
  name: string;
  spec: QueueSpec;
  cluster_managed: boolean;
}

/** Q7 simulation: in-flight counts set at `at` (ms epoch), optionally falling to 0 linearly. */
export interface ActivityRecord {
  runs_in_flight: number;
  actions_in_flight: number;
  at: number;
  finish_over_ms: number | null;
}

export interface State {
  pools: Map<string, PoolRecord>;
  clusters: Map<string, ClusterRecord>;
  queues: Map<string, QueueRecord>;
  /** Keyed by assignmentKeyString. */
  assignments: Map<string, Assignment>;
  activity: Map<string, ActivityRecord>;
  capabilities: Capabilities;
  /** Capability `drain`: queues drained (DRAINING, or DRAINED once idle). */
  draining: Set<string>;
  /** Union v2 project/domain → default queue, keyed by `project/domain`. */
  default_queues: Map<string, LiveDefaultQueue>;
  /** flyteadmin EXECUTION_CLUSTER_LABEL attributes by key string. */
  execution_cluster_labels?: Map<string, ExecutionClusterLabel>;
  /** Capability `soft_delete`: deleted queues, pools and clusters by name, as they were. */
  deleted_queues?: Map<string, QueueRecord>;
  deleted_pools?: Map<string, PoolRecord>;
  deleted_clusters?: Map<string, ClusterRecord>;
}

/** A sensible default-pool contract (P1) for a control plane provisioned on one machine. */
export const DEFAULT_POOL_CONTRACT: PoolContract = {
  object_store_ref: { uri: 'file:///var/lib/union/default', endpoint: '' },
  secret_store: { type: 'KUBERNETES', locator: 'union' },
  image_registry: null,
};

const precondition = (message: string, addr: string | null, rule: string | null) =>
  new ControlPlaneError('FAILED_PRECONDITION', message, addr, rule);

const exists = (message: string, addr: string | null, rule: string | null) =>
  new ControlPlaneError('ALREADY_EXISTS', message, addr, rule);

const notFound = (message: string, addr: string, rule: string | null = null) =>
  new ControlPlaneError('NOT_FOUND', message, addr, rule);

export function defaultQueue(): QueueRecord {
  return {
    name: DEFAULT_QUEUE,
    spec: { pool: DEFAULT_POOL, clusters: [WILDCARD], ...QUEUE_DEFAULTS },
    cluster_managed: false,
  };
}

/** P1: a freshly provisioned organisation. */
export function initialState(
  defaultContract: PoolContract,
  caps: Capabilities = BASELINE_CAPABILITIES,
): State {
  return {
    pools: new Map([
      [DEFAULT_POOL, { name: DEFAULT_POOL, contract: structuredClone(defaultContract) }],
    ]),
    clusters: new Map(),
    queues: new Map([[DEFAULT_QUEUE, defaultQueue()]]),
    assignments: new Map(),
    activity: new Map(),
    capabilities: { ...caps },
    draining: new Set(),
    default_queues: new Map(),
  };
}

export function requirePool(state: State, name: string, from: string, rule: string): PoolRecord {
  const pool = state.pools.get(name);
  if (!pool) throw notFound(`${from}: pool "${name}" does not exist (${rule})`, from, rule);
  return pool;
}

/** The record of `name` in `map`, else NOT_FOUND: `${what} "name" does not exist`. */
function found<R>(map: Map<string, R>, name: string, kind: ObjectKind, what: string): R {
  const record = map.get(name);
  if (!record) throw notFound(`${what} "${name}" does not exist`, address(kind, name));
  return record;
}

const findPool = (state: State, name: string) => found(state.pools, name, 'ClusterPool', 'pool');
const requireCluster = (state: State, name: string) =>
  found(state.clusters, name, 'Cluster', 'cluster');
const requireQueue = (state: State, name: string) => found(state.queues, name, 'Queue', 'queue');

// ---------------------------------------------------------------- the index (see State)

class StateIndex {
  /** Pool name → names of its member clusters. */
  private readonly membersByPool = new Map<string, Set<string>>();
  /** Cluster name → names of the queues whose selector names it explicitly. */
  private readonly boundByCluster = new Map<string, Set<string>>();
  /** Sorted copies of `membersByPool` entries, dropped when the pool's membership changes. */
  private readonly sortedMembers = new Map<string, string[]>();
  /**
   * Q8: a pool's enabled, healthy members, sorted; dropped with its membership and by every op
   * that may change a member's routing in place (applyOp), so a queue's view costs its size,
   * not its pool's (issue 79: each of 70,000 creates filtered its pool's members).
   */
  private readonly availableByPool = new Map<string, readonly string[]>();

  constructor(state: State) {
    for (const c of state.clusters.values()) this.add(c);
    for (const q of state.queues.values()) this.add(q);
  }

  /** A pool's member clusters, sorted by name (shared: callers copy before handing it out). */
  members(pool: string): readonly string[] {
    let sorted = this.sortedMembers.get(pool);
    if (!sorted) {
      sorted = [...(this.membersByPool.get(pool) ?? [])].sort();
      this.sortedMembers.set(pool, sorted);
    }
    return sorted;
  }

  /** Q8: the enabled, healthy members of a pool, sorted (shared, as `members`). */
  available(state: State, pool: string): readonly string[] {
    let list = this.availableByPool.get(pool);
    if (!list) {
      list = this.members(pool).filter((name) => routable(state.clusters.get(name)!));
      this.availableByPool.set(pool, list);
    }
    return list;
  }

  forgetAvailable(): void {
    this.availableByPool.clear();
  }

  boundQueues(cluster: string): string[] {
    return [...(this.boundByCluster.get(cluster) ?? [])].sort();
  }

  add(r: ClusterRecord | QueueRecord): void {
    if ('spec' in r) {
      for (const c of r.spec.clusters) if (c !== WILDCARD) addTo(this.boundByCluster, c, r.name);
      return;
    }
    addTo(this.membersByPool, r.pool, r.name);
    this.sortedMembers.delete(r.pool);
    this.availableByPool.delete(r.pool);
  }

  drop(r: ClusterRecord | QueueRecord): void {
    if ('spec' in r) {
      for (const c of r.spec.clusters) this.boundByCluster.get(c)?.delete(r.name);
      return;
    }
    this.membersByPool.get(r.pool)?.delete(r.name);
    this.sortedMembers.delete(r.pool);
    this.availableByPool.delete(r.pool);
  }
}

const indexes = new WeakMap<State, StateIndex>();

export function indexOf(state: State): StateIndex {
  let idx = indexes.get(state);
  if (!idx) indexes.set(state, (idx = new StateIndex(state)));
  return idx;
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

/** Adds or replaces a cluster or queue record (also for a new spec), keeping the index current. */
function put(state: State, record: ClusterRecord | QueueRecord): void {
  const records: Map<string, typeof record> = 'spec' in record ? state.queues : state.clusters;
  const idx = indexes.get(state);
  const old = records.get(record.name);
  if (idx && old) idx.drop(old);
  records.set(record.name, record);
  idx?.add(record);
}

/** Removes a cluster or queue record (no-op when absent), keeping the index current. */
function remove(state: State, kind: 'clusters' | 'queues', name: string): void {
  const old = state[kind].get(name);
  if (!old) return;
  indexes.get(state)?.drop(old);
  state[kind].delete(name);
}

// ---------------------------------------------------------------- read views (domain.md's Live*)

export const byName = (a: { name: string }, b: { name: string }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

export function capabilities(state: State): Capabilities {
  // A state stored before a capability existed has it off.
  return { ...BASELINE_CAPABILITIES, ...state.capabilities };
}

function routable(c: ClusterRecord): boolean {
  return c.enabled && c.health === 'healthy'; // C6, Q8
}

function poolView(pool: PoolRecord, members: string[]): LivePool {
  return { name: pool.name, contract: structuredClone(pool.contract), member_clusters: members };
}

function clusterView(c: ClusterRecord, bound: string[]): LiveCluster {
  return {
    name: c.name,
    pool: c.pool,
    enabled: c.enabled,
    health: c.health,
    unhealthy_reasons: [...c.unhealthy_reasons],
    config_drift: c.config_drift.map((d) => ({ ...d })),
    bound_queues: bound,
  };
}

/** The queue at `now`: with `drain`, its drain state changes with time alone (Q7). */
function queueView(state: State, q: QueueRecord, now: number): LiveQueue {
  const { spec } = q;
  // Q8: the selector's enabled, healthy clusters (for "*": those of the queue's pool).
  const available =
    spec.clusters.length === 1 && spec.clusters[0] === WILDCARD
      ? [...indexOf(state).available(state, spec.pool)]
      : availableOf(state, spec);
  // Its members set in place rather than spread in (an empty object spread a view without
  // `drain`): 230 bytes a view rather than 380 (an apply of 100,000 creates answers 70,000).
  const view: LiveQueue = {
    name: q.name,
    ...spec,
    cluster_managed: q.cluster_managed,
    available_clusters: available,
  };
  view.clusters = spec.clusters.slice(); // keeps its place among the spec's members
  if (state.capabilities.drain) view.state = queueStateAt(state, q.name, now);
  return view;
}

/** An explicit selector's routable clusters (Q8), sorted: a loop, not a closure a view. */
function availableOf(state: State, spec: QueueSpec): string[] {
  const out: string[] = [];
  for (const name of spec.clusters) {
    const c = state.clusters.get(name);
    if (c !== undefined && c.pool === spec.pool && routable(c)) out.push(name);
  }
  return out.sort();
}

export function listPools(state: State): LivePool[] {
  const idx = indexOf(state);
  return sortedByName(state.pools).map((p) => poolView(p, [...idx.members(p.name)]));
}

export function getPool(state: State, name: string): LivePool {
  return poolView(findPool(state, name), [...indexOf(state).members(name)]);
}

export function listClusters(state: State): LiveCluster[] {
  const idx = indexOf(state);
  return sortedByName(state.clusters).map((c) => clusterView(c, idx.boundQueues(c.name)));
}

export function getCluster(state: State, name: string): LiveCluster {
  return clusterView(requireCluster(state, name), indexOf(state).boundQueues(name));
}

export function listQueues(state: State, now: number): LiveQueue[] {
  return sortedByName(state.queues).map((q) => queueView(state, q, now));
}

export function getQueue(state: State, name: string, now: number): LiveQueue {
  return queueView(state, requireQueue(state, name), now);
}

/** A keyed list's values (assignments, default-queue settings, labels), copied, sorted by key. */
export function byKey<V extends object>(map: Map<string, V> | undefined): V[] {
  return inKeyOrder(map).map((v) => ({ ...v }));
}

/**
 * A map's values in the order of their keys, by code unit as `byName`. The keys are sorted, not
 * the records by a comparator: about twice as fast for 100,000 (each snapshot sorts them all).
 */
function inKeyOrder<V>(map: Map<string, V> | undefined): V[] {
  return map ? [...map.keys()].sort().map((key) => map.get(key)!) : [];
}

/** The records of a map keyed by their names (pools, clusters, queues, the deleted ones), by name. */
function sortedByName<V extends { name: string }>(map: Map<string, V> | undefined): V[] {
  return inKeyOrder(map);
}

/** Q7: in-flight counts at `now`; depth is in flight plus waiting (nothing waits in the simulation). */
export function queueMetrics(state: State, name: string, now: number): QueueMetrics {
  requireQueue(state, name);
  const { runs, actions } = countsAt(state.activity.get(name), now);
  return { runs_in_flight: runs, actions_in_flight: actions, depth: runs };
}

/** Q7: recorded in-flight counts at `now`, falling linearly to 0 over finish_over_ms when set. */
function countsAt(a: ActivityRecord | undefined, now: number) {
  if (!a) return { runs: 0, actions: 0 };
  const over = a.finish_over_ms;
  const remaining = over === null ? 1 : over === 0 ? 0 : Math.max(0, 1 - (now - a.at) / over);
  return {
    runs: Math.ceil(a.runs_in_flight * remaining),
    actions: Math.ceil(a.actions_in_flight * remaining),
  };
}

/**
 * The JSON form of a state (snapshots): plain sorted arrays, stable across versions. Older
 * snapshots lack the optional fields (capabilities: all off); those after `draining` are also
 * left out when empty, so older snapshots keep their form.
 */
export interface StateJson {
  pools: PoolRecord[];
  clusters: ClusterRecord[];
  queues: QueueRecord[];
  assignments: Assignment[];
  activity: ({ name: string } & ActivityRecord)[];
  capabilities?: Capabilities;
  draining?: string[];
  default_queues?: LiveDefaultQueue[];
  execution_cluster_labels?: ExecutionClusterLabel[];
  /** Capability `soft_delete`. */
  deleted_queues?: QueueRecord[];
  deleted_pools?: PoolRecord[];
  deleted_clusters?: ClusterRecord[];
}

export function stateToJson(state: State): StateJson {
  // The records themselves, not copies (byKey): the snapshot only reads them.
  const labels = inKeyOrder(state.execution_cluster_labels);
  const deleted = sortedByName(state.deleted_queues);
  const deletedPools = sortedByName(state.deleted_pools);
  const deletedClusters = sortedByName(state.deleted_clusters);
  return {
    pools: sortedByName(state.pools),
    clusters: sortedByName(state.clusters),
    queues: sortedByName(state.queues),
    assignments: inKeyOrder(state.assignments),
    activity: [...state.activity.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, a]) => ({ name, ...a })),
    capabilities: { ...state.capabilities },
    draining: [...state.draining].sort(),
    ...(state.default_queues.size > 0 ? { default_queues: inKeyOrder(state.default_queues) } : {}),
    ...(labels.length > 0 ? { execution_cluster_labels: labels } : {}),
    ...(deleted.length > 0 ? { deleted_queues: deleted } : {}),
    ...(deletedPools.length > 0 ? { deleted_pools: deletedPools } : {}),
    ...(deletedClusters.length > 0 ? { deleted_clusters: deletedClusters } : {}),
  };
}

export function stateFromJson(json: StateJson): State {
  return {
    pools: new Map(json.pools.map((p) => [p.name, p])),
    clusters: new Map(json.clusters.map((c) => [c.name, c])),
    queues: new Map(json.queues.map((q) => [q.name, q])),
    assignments: new Map(json.assignments.map((a) => [assignmentKeyString(a), a])),
    activity: new Map(json.activity.map(({ name, ...a }) => [name, a])),
    capabilities: { ...BASELINE_CAPABILITIES, ...json.capabilities },
    draining: new Set(json.draining ?? []),
    default_queues: new Map(
      (json.default_queues ?? []).map((d) => [`${d.project}/${d.domain}`, d]),
    ),
    execution_cluster_labels: new Map(
      (json.execution_cluster_labels ?? []).map((l) => [assignmentKeyString(l), { ...l }]),
    ),
    deleted_queues: new Map((json.deleted_queues ?? []).map((q) => [q.name, q])),
    deleted_pools: new Map((json.deleted_pools ?? []).map((p) => [p.name, p])),
    deleted_clusters: new Map((json.deleted_clusters ?? []).map((c) => [c.name, c])),
  };
}

const stateJsonShape = record(
  {
    pools: listOf(record({ name: str, contract: poolContractShape })),
    clusters: listOf(storedClusterShape),
    queues: listOf(record({ name: str, spec: queueSpecShape, cluster_managed: bool })),
    assignments: listOf(assignmentShape),
    activity: listOf(
      record({
        name: str,
        runs_in_flight: num,
        actions_in_flight: num,
        at: num,
        finish_over_ms: nullable(num),
      }),
    ),
  },
  {
    capabilities: capabilitiesShape,
    draining: listOf(str),
    default_queues: listOf(defaultQueueShape),
    execution_cluster_labels: listOf(executionClusterLabelShape),
    deleted_queues: listOf(record({ name: str, spec: queueSpecShape, cluster_managed: bool })),
    deleted_pools: listOf(record({ name: str, contract: poolContractShape })),
    deleted_clusters: listOf(storedClusterShape),
  },
);

/** Why a snapshot's `state` is not a StateJson (`state.pools[2].contract is missing`), or null. */
export function stateJsonProblem(value: unknown): string | null {
  return shapeProblem('state', stateJsonShape, value);
}

const contractPart = record({ contract: poolContractShape });
const specPart = record({ spec: queueSpecShape });
/** The ops that carry a kind's record: checked, and their absent fields filled, as a snapshot's. */
const OP_PARTS: Partial<Record<Op['op'], Shape>> = {
  create_pool: contractPart,
  update_pool: contractPart,
  create_queue: specPart,
  update_queue: specPart,
  set_assignment: record({ assignment: assignmentShape }),
  set_execution_cluster_label: record({ label: executionClusterLabelShape }),
};

/**
 * Why a journaled op's record is not one (`op.spec.depth is not a number`), or null; a field
 * added since it was journaled is set to its default in place (model/shapes.ts).
 */
export function journaledOpProblem(op: Op): string | null {
  const shape = OP_PARTS[op.op];
  return shape ? shapeProblem('op', shape, op) : null;
}

/**
 * The capability rules of the embedded control plane (domain.md, Capabilities; Union's newer
 * behaviour: real-apis.md, docs/union.md "Union's rules in the plan"), as ops on its state:
 * each call is refused with the baseline rule (C9, Q6, C7, P4) while its capability is off.
 * - `drain`: a queue goes ACTIVE → DRAINING on `drain_queue`, and is DRAINED once it has no
 *   run and no action in flight (the Q7 activity model); `activate_queue` makes it ACTIVE
 *   again. The `default` queue is never drained (Q5: always active) unless `default_delete`.
 *   A cluster's co-named queue drains and activates with it (U25, U27).
 * - `queue_delete`: deletes a DRAINED queue (without `drain`: one with nothing in flight).
 *   Never `default`, never the co-named queue of a registered cluster (Q4: it follows it)
 *   unless deletes are soft (`soft_delete`: Union undeletes it while the cluster is live).
 *   A cluster delete also deletes its co-named queue (Union today, U30).
 * - `cluster_move`: moves a cluster to another pool in place, once its co-named queue, which
 *   moves with it, is drained (remote/_cluster.py:328-331); other selectors drop it (as C8).
 * - `pool_update`: replaces a pool's contract, refused when a member cluster's reported data
 *   plane would not match it (C4); the members' health is re-evaluated (C5).
 * - `queue_move`: an update_queue may change the pool of a drained queue (idle without
 *   `drain`); never `default` or a co-named queue (Q4, Q5).
 * - `unpin_first`: a cluster another live queue pins explicitly is not drained, moved or
 *   deleted (U23, U26, U31; remote/_cluster.py:330-331, 363-365, 450-451); without it a move
 *   or delete drops it from those selectors (C8).
 */

/** Q7 in-flight work at `now` (runs and actions). */
function inFlight(activity: ActivityRecord | undefined, now: number): number {
  const { runs, actions } = countsAt(activity, now);
  return runs + actions;
}

/** A queue's drain state at `now`: DRAINING until its in-flight work is done, then DRAINED. */
export function queueStateAt(state: State, name: string, now: number): QueueState {
  if (!state.draining.has(name)) return 'active';
  return inFlight(state.activity.get(name), now) === 0 ? 'drained' : 'draining';
}

/** Drained (with `drain`) or idle (without): nothing can still be running on the queue. */
function settled(state: State, name: string, at: number): string | null {
  if (state.capabilities.drain) {
    const s = queueStateAt(state, name, at);
    return s === 'drained'
      ? null
      : s === 'active'
        ? 'is active: drain it first and wait until it is drained'
        : 'is still draining (work in flight): wait until it is drained';
  }
  const n = inFlight(state.activity.get(name), at);
  return n === 0 ? null : `still has ${n} runs and actions in flight (Q7): wait until it is idle`;
}

function setCapabilities(state: State, op: OpOf<'set_capabilities'>): void {
  if (state.capabilities.drain && !op.capabilities.drain && state.draining.size > 0) {
    const inactive = [...state.draining].sort();
    throw precondition(
      `cannot turn drain off while queues ${inactive.map((n) => `"${n}"`).join(', ')} are draining or drained: activate or delete them first`,
      'capabilities',
      'C9',
    );
  }
  state.capabilities = { ...op.capabilities };
}

function drainQueue(state: State, name: string): void {
  const addr = address('Queue', name);
  if (!state.capabilities.drain) throw capabilityOff('drain', addr);
  requireQueue(state, name);
  // Q5, unless default_delete (Union today) lets `default` drain like any other queue.
  if (name === DEFAULT_QUEUE && !state.capabilities.default_delete) {
    throw precondition(
      'the "default" queue is always active and cannot be drained (Q5)',
      addr,
      'Q5',
    );
  }
  state.draining.add(name); // even one a default-queue setting names (defaultQueueInUse)
}

function activateQueue(state: State, name: string): void {
  const addr = address('Queue', name);
  if (!state.capabilities.drain) throw capabilityOff('drain', addr);
  // A co-named queue follows its cluster: not active while it is drained (remote/_queue.py:965-966).
  if (requireQueue(state, name).cluster_managed && state.clusters.get(name)?.enabled === false)
    throw precondition(
      `queue "${name}" follows its cluster, which is drained: activate the cluster`,
      addr,
      'Q4',
    );
  state.draining.delete(name);
}

function deleteQueue(state: State, name: string, at: number): void {
  const addr = address('Queue', name);
  if (!state.capabilities.queue_delete) throw capabilityOff('queue_delete', addr);
  const queue = requireQueue(state, name);
  if (name === DEFAULT_QUEUE && !state.capabilities.default_delete) {
    throw precondition('the "default" queue can never be deleted (P1, C3)', addr, 'P1');
  }
  // With soft deletes (Union) a co-named queue goes like any other and undeletes while its
  // cluster is live (remote/_queue.py:1051-1053); deleted for good, Q4 keeps it.
  if (queue.cluster_managed && state.clusters.has(name) && !state.capabilities.soft_delete) {
    throw precondition(
      `queue "${name}" is the co-named queue of cluster "${name}" and follows it (Q4): delete or move the cluster instead`,
      addr,
      'Q4',
    );
  }
  const named = defaultQueueInUse(state, name);
  if (named) throw named;
  const why = settled(state, name, at);
  if (why) throw precondition(`queue "${name}" ${why}, then delete it`, addr, 'Q6');
  keepDeleted(state, queue);
  dropQueue(state, name);
}

function moveCluster(state: State, op: OpOf<'move_cluster'>): void {
  const addr = address('Cluster', op.name);
  if (!state.capabilities.cluster_move) throw capabilityOff('cluster_move', addr);
  const cluster = requireCluster(state, op.name);
  const pool = requirePool(state, op.pool, addr, 'C1');
  if (cluster.pool === op.pool) return;
  refusePinned(state, op.name, 'moved');
  checkMoveSettled(state, op, addr);
  const reported = reportedDataPlane(state.pools.get(cluster.pool)!.contract, cluster);
  const mismatches = reported ? dataPlaneMismatches(pool.contract, reported) : [];
  if (mismatches.length > 0) {
    throw precondition(
      `cluster "${op.name}" cannot move to pool "${op.pool}": its reported data plane does not match that pool's contract (C4): ${mismatches
        .map(
          (m) =>
            `${m.field} is ${JSON.stringify(m.declared)}, the contract says ${JSON.stringify(m.contract)}`,
        )
        .join('; ')}`,
      addr,
      'C4',
    );
  }
  // A reporting cluster matches the new contract (checked above): healthy there (C5).
  put(state, { ...cluster, pool: op.pool, ...(reported ? healthy() : {}) });
  const conamed = state.queues.get(op.name);
  // As C8: the cluster is no longer a member of the other queues' pools (Q1).
  unselect(state, op.name);
  // C2: the co-named queue follows its cluster (no delete, so no orphan, C7).
  if (conamed?.cluster_managed)
    put(state, { ...conamed, spec: { ...conamed.spec, pool: op.pool, clusters: [op.name] } });
}

/**
 * The co-named queue moves with its cluster, so it must be drained first (idle without `drain`;
 * remote/_cluster.py:328-331). No other queue is asked anything: Union asks nothing of them.
 */
function checkMoveSettled(state: State, op: OpOf<'move_cluster'>, addr: string): void {
  const conamed = state.queues.get(op.name);
  const why = conamed?.cluster_managed && settled(state, op.name, op.at);
  if (why) {
    throw precondition(
      `cluster "${op.name}" cannot move to pool "${op.pool}": its co-named queue "${op.name}" moves with it and ${why}`,
      addr,
      'C7',
    );
  }
}

function updatePool(state: State, op: OpOf<'update_pool'>): void {
  const addr = address('ClusterPool', op.name);
  if (!state.capabilities.pool_update) throw capabilityOff('pool_update', addr);
  const pool = findPool(state, op.name);
  const members = [...state.clusters.values()].filter((c) => c.pool === op.name);
  const bad: string[] = [];
  const next = members.map((c) => {
    const reported = reportedDataPlane(pool.contract, c);
    const mismatches = reported ? dataPlaneMismatches(op.contract, reported) : [];
    if (mismatches.length > 0)
      bad.push(
        `"${c.name}" (${mismatches.map((m) => `${m.field} ${JSON.stringify(m.declared)}`).join(', ')})`,
      );
    return { cluster: c, reported };
  });
  if (bad.length > 0) {
    throw precondition(
      `pool "${op.name}" cannot take this contract: member clusters report a data plane that would not match it (C4): ${bad.sort().join('; ')}`,
      addr,
      'C4',
    );
  }
  pool.contract = structuredClone(op.contract);
  // C5 against the new contract: every reporting member matches it now.
  for (const { cluster, reported } of next) if (reported) Object.assign(cluster, healthy());
}

/** C5: what a cluster whose reported data plane matches its pool's contract reports. */
const healthy = () => ({ health: 'healthy' as const, unhealthy_reasons: [], config_drift: [] });

/** Q3 (Q4 for a co-named queue, Q5 for `default`), unless `queue_move` and the queue is settled. */
function checkPoolChange(state: State, queue: QueueRecord, pool: string, at: number): void {
  const addr = address('Queue', queue.name);
  const rule = queue.name === DEFAULT_QUEUE ? 'Q5' : queue.cluster_managed ? 'Q4' : 'Q3';
  if (rule !== 'Q3' || !state.capabilities.queue_move) {
    throw precondition(
      `queue "${queue.name}" is in pool "${queue.spec.pool}"; a queue's pool can never change (${rule}): create a new queue in "${pool}"`,
      addr,
      rule,
    );
  }
  const why = settled(state, queue.name, at);
  if (why) {
    throw precondition(
      `queue "${queue.name}" cannot move to pool "${pool}" (queue_move): it ${why}, then move it`,
      addr,
      'Q3',
    );
  }
}

/** Removes a queue with its drain state and activity. */
export function dropQueue(state: State, name: string): void {
  remove(state, 'queues', name);
  state.draining.delete(name);
  state.activity.delete(name);
}

/** Refuses a state whose stored capabilities are not `asked`. */
export function checkCapabilities(
  path: string,
  asked: Capabilities | undefined,
  state: State,
): void {
  if (asked && !sameCapabilities(asked, state.capabilities))
    throw new UserError(
      `control-plane state ${path} has capabilities ${formatCapabilities(state.capabilities)} ` +
        `(set when it was created or with \`poolsync control-plane capabilities --set\`), not ` +
        `${formatCapabilities(asked)}: capabilities are stored with the state. Leave them out ` +
        `to use the stored ones, or change them with \`poolsync control-plane capabilities --state ${path} --set ${formatCapabilities(asked)}\``,
    );
}

/**
 * With `drain`, a cluster's co-named queue drains with its cluster and is activated with it,
 * even one drained on its own (Union: remote/_cluster.py:361-363, 396-398).
 */
export function conamedFollows(state: State, cluster: string, enabled: boolean): void {
  const queue = state.queues.get(cluster);
  if (!state.capabilities.drain || !queue?.cluster_managed) return;
  if (enabled) state.draining.delete(cluster);
  else state.draining.add(cluster);
}

/** unpin_first: refuses to drain, move or delete a cluster another live queue pins. */
export function refusePinned(
  state: State,
  cluster: string,
  what: 'drained' | 'moved' | 'deleted',
): void {
  if (!state.capabilities.unpin_first) return;
  const pins = indexOf(state)
    .boundQueues(cluster)
    .filter((q) => q !== cluster);
  if (pins.length > 0)
    throw precondition(
      `cluster "${cluster}" cannot be ${what}: queue${pins.length === 1 ? '' : 's'} ${pins.map((q) => `"${q}"`).join(', ')} ` +
        `${pins.length === 1 ? 'pins' : 'pin'} it explicitly; unpin it first (remote/_cluster.py)`,
      address('Cluster', cluster),
      'C8',
    );
}

/**
 * `queue_delete` (real-apis.md; Union docs, clusters page: "deleting a cluster puts its
 * co-named queue into deletion with it"): the co-named queue a cluster delete takes along, or
 * null (C8 leaves it with an empty selector). Refused while a default-queue setting names it,
 * as deleting that queue is.
 */
export function conamedQueueDeletedWith(state: State, cluster: string): QueueRecord | null {
  const queue = state.queues.get(cluster);
  if (!state.capabilities.queue_delete || !queue?.cluster_managed) return null;
  const named = defaultQueueInUse(state, cluster);
  if (named) {
    throw precondition(
      `cluster "${cluster}" cannot be deleted: its co-named queue would be deleted with it, but ${named.message}`,
      address('Cluster', cluster),
      named.rule ?? 'Q4',
    );
  }
  return queue;
}

/**
 * Capability `soft_delete` (Union today: flyteplugins-union 0.19.1 remote/_queue.py): a deleted
 * queue (also one a cluster delete takes along) is kept, its name reserved (create is
 * ALREADY_EXISTS), until undelete_queue brings it back with its spec, DRAINED (with `drain`),
 * once its pool and named clusters are live and in that pool. A co-named queue whose cluster is
 * deleted comes back only with its cluster. Registering a cluster under a deleted queue's name
 * replaces that record. Off, a delete is final (the baseline rule).
 */

export function keepDeleted(state: State, queue: QueueRecord): void {
  if (!state.capabilities.soft_delete) return;
  (state.deleted_queues ??= new Map()).set(queue.name, structuredClone(queue));
}

export function checkNotReserved(state: State, name: string): void {
  if (!state.deleted_queues?.has(name)) return;
  throw exists(
    `queue "${name}" was deleted and its name stays reserved (soft_delete): undelete it instead of creating it`,
    address('Queue', name),
    'N2',
  );
}

export function listDeletedQueues(state: State): LiveQueue[] {
  return sortedByName(state.deleted_queues).map((q) => ({
    name: q.name,
    ...structuredClone(q.spec),
    state: 'drained' as const,
    cluster_managed: q.cluster_managed,
    available_clusters: [],
  }));
}

export function undeleteQueue(state: State, name: string): void {
  const addr = address('Queue', name);
  if (!state.capabilities.soft_delete) throw capabilityOff('soft_delete', addr);
  const q = state.deleted_queues?.get(name);
  if (!q) throw notDeleted(state.queues.has(name), `queue "${name}"`, addr, 'Q1');
  const refuse = (why: string) => precondition(`queue "${name}" ${why}`, addr, 'Q1');
  if (q.cluster_managed && !state.clusters.has(name))
    throw refuse(
      `is the co-named queue of cluster "${name}", which is deleted: it cannot be undeleted alone`,
    );
  if (!state.pools.has(q.spec.pool))
    throw refuse(`cannot be undeleted: its pool "${q.spec.pool}" does not exist`);
  for (const c of q.spec.clusters) {
    if (c === WILDCARD) continue;
    if (state.clusters.get(c)?.pool !== q.spec.pool)
      throw refuse(
        `cannot be undeleted: it names cluster "${c}", which is not in pool "${q.spec.pool}"`,
      );
  }
  state.deleted_queues!.delete(name);
  put(state, q);
  // It comes back DRAINED: it takes no work until activated.
  if (state.capabilities.drain) state.draining.add(name);
}

/**
 * Capability `soft_delete` for pools and clusters (Union: remote/_cluster_pool.py:262-264,
 * 290-291; remote/_cluster.py:441-443, 485-498): a deleted pool or cluster (a cluster with
 * `queue_delete` too) is kept as it was, its name reserved (ALREADY_EXISTS), until undeleted:
 * a pool with its contract; a cluster DRAINED in its pool, which must be live, with its deleted
 * co-named queue (DRAINED, its old settings) or the registration's (C2), and `default` (C3).
 */
function checkNameKept(state: State, kind: 'deleted_pools' | 'deleted_clusters', addr: string) {
  const name = addr.slice(addr.indexOf('/') + 1);
  if (!state[kind]?.has(name)) return;
  const what = kind === 'deleted_pools' ? 'pool' : 'cluster';
  throw exists(
    `${what} "${name}" was deleted and its name stays reserved (soft_delete): undelete it instead`,
    addr,
    null,
  );
}

export function listDeletedPools(state: State): LivePool[] {
  return sortedByName(state.deleted_pools).map((p) => poolView(p, []));
}

export function listDeletedClusters(state: State): LiveCluster[] {
  return sortedByName(state.deleted_clusters).map((c) => clusterView(c, []));
}

function undeletePool(state: State, op: OpOf<'undelete_pool'>): void {
  const addr = address('ClusterPool', op.name);
  if (!state.capabilities.soft_delete) throw capabilityOff('soft_delete', addr);
  const pool = state.deleted_pools?.get(op.name);
  if (!pool) throw notDeleted(state.pools.has(op.name), `pool "${op.name}"`, addr);
  state.deleted_pools!.delete(op.name);
  state.pools.set(op.name, pool);
}

function undeleteCluster(state: State, op: OpOf<'undelete_cluster'>): void {
  const { name } = op;
  const addr = address('Cluster', name);
  if (!state.capabilities.soft_delete) throw capabilityOff('soft_delete', addr);
  const cluster = state.deleted_clusters?.get(name);
  if (!cluster) throw notDeleted(state.clusters.has(name), `cluster "${name}"`, addr);
  if (!state.pools.has(cluster.pool))
    throw precondition(
      `cluster "${name}" cannot be undeleted: its pool "${cluster.pool}" is deleted; undelete the pool first`,
      addr,
      null,
    );
  const own = state.deleted_queues?.get(name);
  const live = state.queues.get(name);
  if (live && !live.cluster_managed)
    throw exists(`the name "${name}" is taken by queue "${name}" (N2)`, addr, 'N2');
  state.deleted_clusters!.delete(name);
  put(state, { ...cluster, enabled: false });
  if (!live) {
    state.deleted_queues?.delete(name);
    const back = own?.cluster_managed ? own.spec : QUEUE_DEFAULTS;
    const spec = { ...back, pool: cluster.pool, clusters: [name] };
    put(state, { name, spec, cluster_managed: true });
  }
  conamedFollows(state, name, false);
  if (!state.queues.has(DEFAULT_QUEUE) && !state.deleted_queues?.has(DEFAULT_QUEUE))
    put(state, defaultQueue());
}

/** An undelete of what is not deleted: refused when it is live, NOT_FOUND when it never was. */
function notDeleted(live: boolean, what: string, addr: string, rule: string | null = null) {
  return live
    ? precondition(`${what} is not deleted: there is nothing to undelete`, addr, rule)
    : notFound(`no deleted ${what}`, addr);
}

// Union v2's project/domain → default queue settings: a setting names a queue that must exist,
// and a queue a setting names cannot go away (see `defaultQueueInUse`).

function setDefaultQueue(state: State, op: OpOf<'set_default_queue'>): void {
  const key = defaultQueueKeyString(op);
  const addr = address('DefaultQueue', key);
  if (!state.queues.has(op.queue))
    throw notFound(`${addr}: queue "${op.queue}" does not exist; create it first`, addr);
  state.default_queues.set(key, { project: op.project, domain: op.domain, queue: op.queue });
}

function deleteDefaultQueue(state: State, op: OpOf<'delete_default_queue'>): void {
  const key = defaultQueueKeyString(op);
  if (!state.default_queues.delete(key))
    throw notFound(`default-queue setting "${key}" does not exist`, address('DefaultQueue', key));
}

/**
 * The FAILED_PRECONDITION a queue delete answers while settings name the queue (their
 * `project/domain` keys, sorted), or null. Such a queue can be drained (remote/_queue.py:934-938).
 */
export function defaultQueueInUse(state: State, queue: string): ControlPlaneError | null {
  const keys: string[] = [];
  for (const [key, d] of state.default_queues) if (d.queue === queue) keys.push(key);
  if (keys.length === 0) return null;
  return precondition(
    `queue "${queue}" is the default queue of ${listNames(keys.sort(), '')}; it cannot be deleted until those settings name another queue or are deleted`,
    address('Queue', queue),
    null,
  );
}

// flyteadmin's EXECUTION_CLUSTER_LABEL attributes. Like flyteadmin, the label value is not
// checked against labelClusterMap (a config file the control plane reads at execution time);
// poolsync's V11 checks it before anything is sent.

function setClusterLabel(state: State, op: OpOf<'set_execution_cluster_label'>): void {
  const { project, domain, workflow, label } = op.label;
  const labels = (state.execution_cluster_labels ??= new Map());
  labels.set(assignmentKeyString(op.label), { project, domain, workflow, label });
}

function deleteClusterLabel(state: State, op: OpOf<'delete_execution_cluster_label'>): void {
  const key = assignmentKeyString(op.key);
  if (!state.execution_cluster_labels?.delete(key)) {
    const addr = address('ExecutionClusterLabel', key);
    throw notFound(`no execution cluster label is set for ${key}`, addr);
  }
}
