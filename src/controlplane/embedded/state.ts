/**
 * The functional core of the embedded control plane: every rule of domain.md as an operation
 * on its state (state-records.ts, with the index its writers keep current). No I/O and no
 * clock: callers pass `now`.
 *
 * Writes are expressed as `Op` records. An op is validated and applied in one step
 * (`applyOp`); a rejected op changes nothing. Because applying is deterministic, the
 * persistence layer journals accepted ops and replays them after a restart.
 * Reads: state-views.ts; snapshots: state-json.ts (both re-exported here).
 */
import {
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  QUEUE_DEFAULTS,
  WILDCARD,
  address,
  assignmentKeyString,
  dataPlaneMismatches,
  type Assignment,
  type AssignmentKey,
  type ClusterDataPlane,
  type PoolContract,
  type QueueSpec,
} from '../../model/common.js';
import type { ConfigDriftEntry } from '../../model/live.js';
import * as capabilityRules from './capabilities.js';
import * as clusterFollows from './cluster-follows.js';
import * as softDeletes from './soft-deletes.js';
import { applyClusterLabelOp, isClusterLabelOp, type ClusterLabelOp } from './cluster-labels.js';
import { applyDefaultQueueOp, type DefaultQueueOp } from './default-queues.js';
import {
  defaultQueue,
  fail,
  indexOf,
  putCluster,
  putQueue,
  removeCluster,
  requireCluster,
  requirePool,
  requireQueue,
  type ActivityRecord,
  type State,
} from './state-records.js';

export {
  defaultQueueInUse,
  defaultQueueTargets,
  isDefaultQueueTarget,
  listDefaultQueues,
} from './default-queues.js';
export * from './state-records.js';
export * from './state-views.js';
export * from './state-json.js';

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
  | capabilityRules.CapabilityOp
  | DefaultQueueOp
  | ClusterLabelOp;

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
  const addr = address('Queue', queue);
  for (const name of spec.clusters) {
    if (name === WILDCARD) continue;
    const cluster = state.clusters.get(name);
    if (!cluster) {
      throw fail(
        'FAILED_PRECONDITION',
        `queue "${queue}" selects cluster "${name}", which does not exist (Q1)`,
        addr,
        'Q1',
      );
    }
    if (cluster.pool !== spec.pool) {
      throw fail(
        'FAILED_PRECONDITION',
        `queue "${queue}" is in pool "${spec.pool}" but selects cluster "${name}" of pool "${cluster.pool}" (Q1)`,
        addr,
        'Q1',
      );
    }
  }
}

/** The ops applied here; cluster-label and capability ops have their own modules. */
type CoreOp = Exclude<Op, capabilityRules.CapabilityOp | ClusterLabelOp>;
type OpOf<K extends CoreOp['op']> = Extract<CoreOp, { op: K }>;

const CORE_OPS: { [K in CoreOp['op']]: (state: State, op: OpOf<K>) => void } = {
  create_pool: createPool,
  delete_pool: deletePool,
  register_cluster: registerCluster,
  update_cluster: (state, op) => {
    const cluster = requireCluster(state, op.name);
    if (cluster.enabled && !op.enabled) clusterFollows.refusePinned(state, op.name, 'drained');
    cluster.enabled = op.enabled; // C6
    clusterFollows.conamedFollows(state, op.name, op.enabled);
  },
  delete_cluster: deleteCluster,
  create_queue: createQueue,
  update_queue: updateQueue,
  set_assignment: setAssignment,
  delete_assignment: deleteAssignment,
  report_cluster_status: reportClusterStatus,
  set_queue_activity: setQueueActivity,
  set_default_queue: applyDefaultQueueOp,
  delete_default_queue: applyDefaultQueueOp,
};

function isCoreOp(op: Op): op is CoreOp {
  return Object.hasOwn(CORE_OPS, op.op);
}

/** Validates `op` against the state and applies it; throws (changing nothing) when a rule rejects it. */
export function applyOp(state: State, op: Op): void {
  if (isClusterLabelOp(op)) return applyClusterLabelOp(state, op);
  if (isCoreOp(op)) return (CORE_OPS[op.op] as (state: State, op: CoreOp) => void)(state, op);
  capabilityRules.applyCapabilityOp(state, op);
}

function createPool(state: State, op: OpOf<'create_pool'>): void {
  const addr = address('ClusterPool', op.name);
  if (state.pools.has(op.name))
    throw fail('ALREADY_EXISTS', `pool "${op.name}" already exists (P3)`, addr, 'P3');
  state.pools.set(op.name, { name: op.name, contract: structuredClone(op.contract) });
}

function deletePool(state: State, op: OpOf<'delete_pool'>): void {
  const addr = address('ClusterPool', op.name);
  // P5, unless default_delete (Union: remote/_cluster_pool.py:270-274) lets it go like any pool.
  if (op.name === DEFAULT_POOL && !state.capabilities.default_delete) {
    throw fail('FAILED_PRECONDITION', 'the "default" pool can never be deleted (P5)', addr, 'P5');
  }
  if (!state.pools.has(op.name))
    throw fail('NOT_FOUND', `pool "${op.name}" does not exist`, addr, null);
  const refs = poolReferences(state, op.name);
  if (refs.clusters.length + refs.queues.length > 0) {
    const what = [
      refs.clusters.length ? `clusters ${listNames(refs.clusters)}` : '',
      refs.queues.length ? `queues ${listNames(refs.queues)}` : '',
    ].filter(Boolean);
    throw fail(
      'FAILED_PRECONDITION',
      `pool "${op.name}" is still referenced by ${what.join(' and ')}; queues cannot be deleted (Q6), so this pool can never be deleted (P5)`,
      addr,
      'P5',
    );
  }
  if (refs.assignments.length > 0) {
    throw fail(
      'FAILED_PRECONDITION',
      `pool "${op.name}" is named by assignments ${listNames(refs.assignments)}; delete them first (A3)`,
      addr,
      'A3',
    );
  }
  state.pools.delete(op.name);
}

function registerCluster(state: State, op: OpOf<'register_cluster'>): void {
  const addr = address('Cluster', op.name);
  const queue = checkRegistration(state, op, addr);
  putCluster(state, {
    name: op.name,
    pool: op.pool,
    enabled: true,
    health: 'unknown',
    unhealthy_reasons: [],
    config_drift: [],
  });
  // C2 (and the C7 trap): an existing co-named queue is left exactly as it is.
  if (!queue) {
    softDeletes.forgetDeleted(state, op.name);
    putQueue(state, {
      name: op.name,
      spec: { pool: op.pool, clusters: [op.name], ...QUEUE_DEFAULTS },
      cluster_managed: true,
    });
  }
  // C3: the org-wide default queue comes back if it is missing; not a soft-deleted one
  // (default_delete): its name stays reserved until it is undeleted.
  if (!state.queues.has(DEFAULT_QUEUE) && !state.deleted_queues?.has(DEFAULT_QUEUE))
    putQueue(state, defaultQueue());
}

/** C1, C7, N2, C4 for a new cluster; returns its co-named queue, if any. */
function checkRegistration(state: State, op: OpOf<'register_cluster'>, addr: string) {
  if (op.name === DEFAULT_POOL) {
    throw fail('INVALID_ARGUMENT', 'the cluster name "default" is reserved (C1)', addr, 'C1');
  }
  const existing = state.clusters.get(op.name);
  if (existing && existing.pool !== op.pool) {
    throw fail(
      'FAILED_PRECONDITION',
      `cluster "${op.name}" is registered in pool "${existing.pool}"; a cluster's pool is fixed for the life of the record (C7): register it under a new name in "${op.pool}"`,
      addr,
      'C7',
    );
  }
  if (existing)
    throw fail(
      'ALREADY_EXISTS',
      `cluster "${op.name}" is already registered in pool "${op.pool}" (C7)`,
      addr,
      'C7',
    );
  const pool = requirePool(state, op.pool, addr, 'C1');
  const queue = state.queues.get(op.name);
  if (queue && !queue.cluster_managed) {
    throw fail(
      'ALREADY_EXISTS',
      `the name "${op.name}" is taken by queue "${op.name}"; clusters and queues share one namespace (N2)`,
      addr,
      'N2',
    );
  }
  const drift = op.data_plane ? dataPlaneDrift(pool.contract, op.data_plane) : [];
  if (drift.length > 0) {
    throw fail(
      'FAILED_PRECONDITION',
      `cluster "${op.name}" declares a data plane that does not match pool "${op.pool}" (C4): ${drift.map(describeDrift).join('; ')}`,
      addr,
      'C4',
    );
  }
  return queue;
}

function deleteCluster(state: State, op: OpOf<'delete_cluster'>): void {
  requireCluster(state, op.name);
  clusterFollows.refusePinned(state, op.name, 'deleted');
  const conamed = clusterFollows.conamedQueueDeletedWith(state, op.name); // queue_delete: Union today
  // Kept as it was (soft_delete), before C8 empties its own selector below.
  const conamedRecord = conamed ? state.queues.get(conamed) : undefined;
  // C8: the name leaves every explicit selector; wildcard queues are unaffected.
  for (const name of indexOf(state).boundQueues(op.name)) {
    const queue = state.queues.get(name)!;
    putQueue(state, {
      ...queue,
      spec: { ...queue.spec, clusters: queue.spec.clusters.filter((c) => c !== op.name) },
    });
  }
  removeCluster(state, op.name);
  if (conamed) {
    softDeletes.keepDeleted(state, conamedRecord!);
    capabilityRules.dropQueue(state, conamed);
  }
}

function createQueue(state: State, op: OpOf<'create_queue'>): void {
  const addr = address('Queue', op.name);
  if (op.name === DEFAULT_QUEUE) {
    throw fail(
      'ALREADY_EXISTS',
      'the queue name "default" is reserved for the org-wide queue (Q2, C3)',
      addr,
      'Q2',
    );
  }
  if (state.clusters.has(op.name)) {
    throw fail(
      'ALREADY_EXISTS',
      `the name "${op.name}" is taken by cluster "${op.name}" (Q2)`,
      addr,
      'Q2',
    );
  }
  if (state.queues.has(op.name))
    throw fail('ALREADY_EXISTS', `queue "${op.name}" already exists (N2)`, addr, 'N2');
  softDeletes.checkNotReserved(state, op.name);
  requirePool(state, op.spec.pool, addr, 'Q1');
  checkSelectorMembers(state, op.name, op.spec);
  putQueue(state, { name: op.name, spec: structuredClone(op.spec), cluster_managed: false });
}

function updateQueue(state: State, op: OpOf<'update_queue'>): void {
  const addr = address('Queue', op.name);
  const queue = requireQueue(state, op.name);
  if (op.spec.pool !== queue.spec.pool) {
    // Q3 (Q4, Q5), or capability queue_move: a drained queue moves to an existing pool.
    const refused = capabilityRules.poolChangeRefusal(state, queue, op.spec.pool, op.at ?? 0);
    if (refused) throw refused;
    requirePool(state, op.spec.pool, addr, 'Q1');
  }
  const sameSelector =
    op.spec.clusters.length === queue.spec.clusters.length &&
    op.spec.clusters.every((c, i) => c === queue.spec.clusters[i]);
  if (op.name === DEFAULT_QUEUE && !sameSelector) {
    throw fail(
      'FAILED_PRECONDITION',
      'the selector of the "default" queue cannot change (Q5)',
      addr,
      'Q5',
    );
  }
  if (queue.cluster_managed && !sameSelector) {
    throw fail(
      'FAILED_PRECONDITION',
      `queue "${op.name}" is the co-named queue of cluster "${op.name}"; its selector is managed by the cluster (Q4)`,
      addr,
      'Q4',
    );
  }
  checkSelectorMembers(state, op.name, op.spec);
  putQueue(state, { ...queue, spec: structuredClone(op.spec) });
}

function setAssignment(state: State, op: OpOf<'set_assignment'>): void {
  const key = assignmentKeyString(op.assignment);
  requirePool(state, op.assignment.pool, address('PoolAssignment', key), 'A1');
  state.assignments.set(key, { ...op.assignment });
}

function deleteAssignment(state: State, op: OpOf<'delete_assignment'>): void {
  const key = assignmentKeyString(op.key);
  if (!state.assignments.delete(key)) {
    const addr = address('PoolAssignment', key);
    throw fail('NOT_FOUND', `assignment "${key}" does not exist`, addr, 'A1');
  }
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

function listNames(names: string[]): string {
  const shown = names.slice(0, 5).map((n) => `"${n}"`);
  return names.length > 5 ? `${shown.join(', ')} and ${names.length - 5} more` : shown.join(', ');
}

function poolReferences(state: State, pool: string) {
  const clusters = [...indexOf(state).members(pool)];
  const queues = [...state.queues.values()].filter((q) => q.spec.pool === pool).map((q) => q.name);
  const assignments = [...state.assignments.entries()]
    .filter(([, a]) => a.pool === pool)
    .map(([k]) => k);
  return { clusters: clusters.sort(), queues: queues.sort(), assignments: assignments.sort() };
}
