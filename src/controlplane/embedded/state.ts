/**
 * The functional core of the embedded control plane: its state, every rule of domain.md as
 * an operation on that state, and the read views. No I/O and no clock: callers pass `now`.
 *
 * Writes are expressed as `Op` records. An op is validated and applied in one step
 * (`applyOp`); a rejected op changes nothing. Because applying is deterministic, the
 * persistence layer journals accepted ops and replays them after a restart.
 *
 * The index (keep it current when you add an op). Reads that would otherwise scan every
 * object — a pool's member clusters, the queues whose selectors name a cluster — come from
 * an index built once per state (on the first read) and kept current by the writers below,
 * so a write and a get cost the same at 10 objects and at 100,000. The rule is one line:
 *   **never write `state.clusters` or `state.queues` directly; call `putCluster`,
 *   `removeCluster`, `putQueue` or `removeQueue`** (replacing a queue's `spec` is a write:
 *   `putQueue(state, { ...queue, spec })`). Changing a cluster's `enabled`, `health`,
 *   reasons or drift in place is fine: those are not indexed (availability is derived on
 *   read from the indexed members). Pools, assignments and activity are not indexed; a new
 *   indexed view belongs in `StateIndex` together with its upkeep in the four writers.
 */
import {
  BASELINE_CAPABILITIES,
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  QUEUE_DEFAULTS,
  WILDCARD,
  address,
  assignmentKeyString,
  dataPlaneMismatches,
  type Assignment,
  type AssignmentKey,
  type Capabilities,
  type ClusterDataPlane,
  type PoolContract,
  type QueueSpec,
} from '../../model/common.js';
import type {
  ConfigDriftEntry,
  LiveAssignment,
  LiveCluster,
  LivePool,
  LiveQueue,
  QueueMetrics,
} from '../../model/live.js';
import { ControlPlaneError } from '../errors.js';
import * as capabilityRules from './capabilities.js';
import type { LiveDefaultQueue } from '../../model/live.js';
import { applyDefaultQueueOp, listDefaultQueues, type DefaultQueueOp } from './default-queues.js';

export {
  defaultQueueInUse,
  defaultQueueTargets,
  isDefaultQueueTarget,
  listDefaultQueues,
} from './default-queues.js';
import type { ExecutionClusterLabel } from '../../model/flyte.js';
import {
  applyClusterLabelOp,
  clusterLabelsFromJson,
  clusterLabelsToJson,
  isClusterLabelOp,
  type ClusterLabelOp,
} from './cluster-labels.js';

export interface PoolRecord {
  name: string;
  contract: PoolContract;
}

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
  /** Capabilities of this control plane (stored with its state, capabilities.ts). */
  capabilities: Capabilities;
  /** Capability `drain`: queues drained (DRAINING, or DRAINED once idle). */
  draining: Set<string>;
  /** Union v2 project/domain → default queue, keyed by `project/domain` (default-queues.ts). */
  default_queues: Map<string, LiveDefaultQueue>;
  /** flyteadmin EXECUTION_CLUSTER_LABEL attributes by key string (cluster-labels.ts). */
  execution_cluster_labels?: Map<string, ExecutionClusterLabel>;
}

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

/** A sensible default-pool contract (P1) for a control plane provisioned on one machine. */
export const DEFAULT_POOL_CONTRACT: PoolContract = {
  object_store_ref: { uri: 'file:///var/lib/union/default', endpoint: '' },
  secret_store: { type: 'KUBERNETES', locator: 'union' },
  image_registry: null,
};

const fail = (
  code: ControlPlaneError['code'],
  message: string,
  addr: string | null,
  rule: string | null,
): ControlPlaneError => new ControlPlaneError(code, message, addr, rule);

function defaultQueue(): QueueRecord {
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

function requirePool(state: State, name: string, from: string, rule: string): PoolRecord {
  const pool = state.pools.get(name);
  if (!pool)
    throw fail('NOT_FOUND', `${from}: pool "${name}" does not exist (${rule})`, from, rule);
  return pool;
}

function requireCluster(state: State, name: string): ClusterRecord {
  const cluster = state.clusters.get(name);
  if (!cluster)
    throw fail('NOT_FOUND', `cluster "${name}" does not exist`, address('Cluster', name), null);
  return cluster;
}

function requireQueue(state: State, name: string): QueueRecord {
  const queue = state.queues.get(name);
  if (!queue)
    throw fail('NOT_FOUND', `queue "${name}" does not exist`, address('Queue', name), null);
  return queue;
}

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

/** Validates `op` against the state and applies it; throws (changing nothing) when a rule rejects it. */
export function applyOp(state: State, op: Op): void {
  if (isClusterLabelOp(op)) return applyClusterLabelOp(state, op);
  switch (op.op) {
    case 'create_pool': {
      const addr = address('ClusterPool', op.name);
      if (state.pools.has(op.name))
        throw fail('ALREADY_EXISTS', `pool "${op.name}" already exists (P3)`, addr, 'P3');
      state.pools.set(op.name, { name: op.name, contract: structuredClone(op.contract) });
      return;
    }
    case 'delete_pool': {
      const addr = address('ClusterPool', op.name);
      if (op.name === DEFAULT_POOL) {
        throw fail(
          'FAILED_PRECONDITION',
          'the "default" pool can never be deleted (P5)',
          addr,
          'P5',
        );
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
      return;
    }
    case 'register_cluster': {
      const addr = address('Cluster', op.name);
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
      if (op.data_plane) {
        const drift = dataPlaneDrift(pool.contract, op.data_plane);
        if (drift.length > 0) {
          throw fail(
            'FAILED_PRECONDITION',
            `cluster "${op.name}" declares a data plane that does not match pool "${op.pool}" (C4): ${drift.map(describeDrift).join('; ')}`,
            addr,
            'C4',
          );
        }
      }
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
        putQueue(state, {
          name: op.name,
          spec: { pool: op.pool, clusters: [op.name], ...QUEUE_DEFAULTS },
          cluster_managed: true,
        });
      }
      // C3: the org-wide default queue comes back if it is missing.
      if (!state.queues.has(DEFAULT_QUEUE)) putQueue(state, defaultQueue());
      return;
    }
    case 'update_cluster': {
      requireCluster(state, op.name).enabled = op.enabled; // C6
      return;
    }
    case 'delete_cluster': {
      requireCluster(state, op.name);
      const conamed = capabilityRules.conamedQueueDeletedWith(state, op.name); // queue_delete: Union today
      // C8: the name leaves every explicit selector; wildcard queues are unaffected.
      for (const name of indexOf(state).boundQueues(op.name)) {
        const queue = state.queues.get(name)!;
        putQueue(state, {
          ...queue,
          spec: { ...queue.spec, clusters: queue.spec.clusters.filter((c) => c !== op.name) },
        });
      }
      removeCluster(state, op.name);
      if (conamed) capabilityRules.dropQueue(state, conamed);
      return;
    }
    case 'create_queue': {
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
      requirePool(state, op.spec.pool, addr, 'Q1');
      checkSelectorMembers(state, op.name, op.spec);
      putQueue(state, {
        name: op.name,
        spec: structuredClone(op.spec),
        cluster_managed: false,
      });
      return;
    }
    case 'update_queue': {
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
      return;
    }
    case 'set_assignment': {
      const key = assignmentKeyString(op.assignment);
      requirePool(state, op.assignment.pool, address('PoolAssignment', key), 'A1');
      state.assignments.set(key, { ...op.assignment });
      return;
    }
    case 'delete_assignment': {
      const key = assignmentKeyString(op.key);
      if (!state.assignments.delete(key)) {
        throw fail(
          'NOT_FOUND',
          `assignment "${key}" does not exist`,
          address('PoolAssignment', key),
          'A1',
        );
      }
      return;
    }
    case 'report_cluster_status': {
      const cluster = requireCluster(state, op.name);
      const contract = state.pools.get(cluster.pool)!.contract;
      const drift = dataPlaneDrift(contract, op.report);
      // C5: one reason per mismatching field; the differences are the config drift.
      cluster.health = drift.length === 0 ? 'healthy' : 'unhealthy';
      cluster.unhealthy_reasons = drift.map(describeDrift);
      cluster.config_drift = drift;
      return;
    }
    case 'set_queue_activity': {
      requireQueue(state, op.name);
      const { runs_in_flight, actions_in_flight, at, finish_over_ms } = op;
      state.activity.set(op.name, { runs_in_flight, actions_in_flight, at, finish_over_ms });
      return;
    }
    case 'set_default_queue':
    case 'delete_default_queue':
      applyDefaultQueueOp(state, op);
      return;
    default:
      capabilityRules.applyCapabilityOp(state, op);
  }
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

// ---------------------------------------------------------------- views

const byName = (a: { name: string }, b: { name: string }) =>
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

// ---------------------------------------------------------------- the index (see the header)

/** Derived lookups over one state; built on the first read, then kept current by the writers. */
class StateIndex {
  /** Pool name → names of its member clusters. */
  private readonly membersByPool = new Map<string, Set<string>>();
  /** Cluster name → names of the queues whose selector names it explicitly. */
  private readonly boundByCluster = new Map<string, Set<string>>();
  /** Sorted copies of `membersByPool` entries, dropped when the pool's membership changes. */
  private readonly sortedMembers = new Map<string, string[]>();

  constructor(state: State) {
    for (const c of state.clusters.values()) this.addCluster(c);
    for (const q of state.queues.values()) this.addQueue(q);
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

  /** Queues whose selector names `cluster` explicitly, sorted by name. */
  boundQueues(cluster: string): string[] {
    return [...(this.boundByCluster.get(cluster) ?? [])].sort();
  }

  addCluster(c: ClusterRecord): void {
    addTo(this.membersByPool, c.pool, c.name);
    this.sortedMembers.delete(c.pool);
  }

  dropCluster(c: ClusterRecord): void {
    this.membersByPool.get(c.pool)?.delete(c.name);
    this.sortedMembers.delete(c.pool);
  }

  addQueue(q: QueueRecord): void {
    for (const c of q.spec.clusters) if (c !== WILDCARD) addTo(this.boundByCluster, c, q.name);
  }

  dropQueue(q: QueueRecord): void {
    for (const c of q.spec.clusters) this.boundByCluster.get(c)?.delete(q.name);
  }
}

const indexes = new WeakMap<State, StateIndex>();

function indexOf(state: State): StateIndex {
  let idx = indexes.get(state);
  if (!idx) {
    idx = new StateIndex(state);
    indexes.set(state, idx);
  }
  return idx;
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

/** Adds or replaces a cluster record, keeping the index current. */
export function putCluster(state: State, record: ClusterRecord): void {
  const idx = indexes.get(state);
  const old = state.clusters.get(record.name);
  if (idx && old) idx.dropCluster(old);
  state.clusters.set(record.name, record);
  idx?.addCluster(record);
}

/** Removes a cluster record (no-op when absent), keeping the index current. */
export function removeCluster(state: State, name: string): void {
  const old = state.clusters.get(name);
  if (!old) return;
  indexes.get(state)?.dropCluster(old);
  state.clusters.delete(name);
}

/** Adds or replaces a queue record (also for a new spec), keeping the index current. */
export function putQueue(state: State, record: QueueRecord): void {
  const idx = indexes.get(state);
  const old = state.queues.get(record.name);
  if (idx && old) idx.dropQueue(old);
  state.queues.set(record.name, record);
  idx?.addQueue(record);
}

/** Removes a queue record (no-op when absent), keeping the index current. */
export function removeQueue(state: State, name: string): void {
  const old = state.queues.get(name);
  if (!old) return;
  indexes.get(state)?.dropQueue(old);
  state.queues.delete(name);
}

// ---------------------------------------------------------------- views (continued)

/** Q8: the enabled, healthy members of a pool, sorted. */
function availableInPool(state: State, pool: string): string[] {
  return indexOf(state)
    .members(pool)
    .filter((name) => routable(state.clusters.get(name)!));
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

function queueView(
  state: State,
  q: QueueRecord,
  availableOf: (pool: string) => string[] = (pool) => availableInPool(state, pool),
): LiveQueue {
  // Q8: the selector's enabled, healthy clusters (for "*": those of the queue's pool).
  const available =
    q.spec.clusters.length === 1 && q.spec.clusters[0] === WILDCARD
      ? [...availableOf(q.spec.pool)]
      : q.spec.clusters
          .filter((name) => {
            const c = state.clusters.get(name);
            return c !== undefined && c.pool === q.spec.pool && routable(c);
          })
          .sort();
  return {
    name: q.name,
    ...q.spec,
    clusters: [...q.spec.clusters],
    cluster_managed: q.cluster_managed,
    available_clusters: available,
  };
}

export function listPools(state: State): LivePool[] {
  const idx = indexOf(state);
  return [...state.pools.values()].sort(byName).map((p) => poolView(p, [...idx.members(p.name)]));
}

export function getPool(state: State, name: string): LivePool {
  const pool = state.pools.get(name);
  if (!pool)
    throw fail('NOT_FOUND', `pool "${name}" does not exist`, address('ClusterPool', name), null);
  return poolView(pool, [...indexOf(state).members(name)]);
}

export function listClusters(state: State): LiveCluster[] {
  const idx = indexOf(state);
  return [...state.clusters.values()]
    .sort(byName)
    .map((c) => clusterView(c, idx.boundQueues(c.name)));
}

export function getCluster(state: State, name: string): LiveCluster {
  return clusterView(requireCluster(state, name), indexOf(state).boundQueues(name));
}

export function listQueues(state: State): LiveQueue[] {
  const byPool = new Map<string, string[]>();
  const available = (pool: string): string[] => {
    let list = byPool.get(pool);
    if (!list) byPool.set(pool, (list = availableInPool(state, pool)));
    return list;
  };
  return [...state.queues.values()].sort(byName).map((q) => queueView(state, q, available));
}

export function getQueue(state: State, name: string): LiveQueue {
  return queueView(state, requireQueue(state, name));
}

export function listAssignments(state: State): LiveAssignment[] {
  return [...state.assignments.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, a]) => ({ ...a }));
}

/** Q7: in-flight counts at `now`; depth is in flight plus waiting (nothing waits in the simulation). */
export function queueMetrics(state: State, name: string, now: number): QueueMetrics {
  requireQueue(state, name);
  const a = state.activity.get(name);
  if (!a) return { runs_in_flight: 0, actions_in_flight: 0, depth: 0 };
  let remaining = 1;
  if (a.finish_over_ms !== null) {
    remaining = a.finish_over_ms === 0 ? 0 : Math.max(0, 1 - (now - a.at) / a.finish_over_ms);
  }
  const runs = Math.ceil(a.runs_in_flight * remaining);
  const actions = Math.ceil(a.actions_in_flight * remaining);
  return { runs_in_flight: runs, actions_in_flight: actions, depth: runs };
}

// ---------------------------------------------------------------- serialisation

/** The JSON form of a state (snapshots): plain sorted arrays, stable across versions. */
export interface StateJson {
  pools: PoolRecord[];
  clusters: ClusterRecord[];
  queues: QueueRecord[];
  assignments: Assignment[];
  activity: ({ name: string } & ActivityRecord)[];
  /** Absent in states written before capabilities: all off. */
  capabilities?: Capabilities;
  draining?: string[];
  /** Absent in snapshots written before default-queue settings existed. */
  default_queues?: LiveDefaultQueue[];
  /** Absent in snapshots written before execution cluster labels. */
  execution_cluster_labels?: ExecutionClusterLabel[];
}

export function stateToJson(state: State): StateJson {
  return {
    pools: [...state.pools.values()].sort(byName),
    clusters: [...state.clusters.values()].sort(byName),
    queues: [...state.queues.values()].sort(byName),
    assignments: listAssignments(state),
    activity: [...state.activity.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, a]) => ({ name, ...a })),
    capabilities: { ...state.capabilities },
    draining: [...state.draining].sort(),
    // Only when set, so snapshots of control planes without settings keep their old form.
    ...(state.default_queues.size > 0 ? { default_queues: listDefaultQueues(state) } : {}),
    ...clusterLabelsToJson(state),
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
    ...clusterLabelsFromJson(json.execution_cluster_labels),
  };
}
