/**
 * The embedded control plane's state as stored, and its index (state.ts applies the rules to
 * it, state-views.ts reads it, state-json.ts writes it).
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
  type Assignment,
  type Capabilities,
  type PoolContract,
  type QueueSpec,
} from '../../model/common.js';
import type { ExecutionClusterLabel } from '../../model/flyte.js';
import type { LiveCluster, LiveDefaultQueue } from '../../model/live.js';
import { ControlPlaneError } from '../errors.js';

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
  /** Capability `soft_delete`: deleted queues, by name (soft-deletes.ts). */
  deleted_queues?: Map<string, QueueRecord>;
}

/** A sensible default-pool contract (P1) for a control plane provisioned on one machine. */
export const DEFAULT_POOL_CONTRACT: PoolContract = {
  object_store_ref: { uri: 'file:///var/lib/union/default', endpoint: '' },
  secret_store: { type: 'KUBERNETES', locator: 'union' },
  image_registry: null,
};

export const fail = (
  code: ControlPlaneError['code'],
  message: string,
  addr: string | null,
  rule: string | null,
): ControlPlaneError => new ControlPlaneError(code, message, addr, rule);

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
  if (!pool)
    throw fail('NOT_FOUND', `${from}: pool "${name}" does not exist (${rule})`, from, rule);
  return pool;
}

export function requireCluster(state: State, name: string): ClusterRecord {
  const cluster = state.clusters.get(name);
  if (!cluster)
    throw fail('NOT_FOUND', `cluster "${name}" does not exist`, address('Cluster', name), null);
  return cluster;
}

export function requireQueue(state: State, name: string): QueueRecord {
  const queue = state.queues.get(name);
  if (!queue)
    throw fail('NOT_FOUND', `queue "${name}" does not exist`, address('Queue', name), null);
  return queue;
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

export function indexOf(state: State): StateIndex {
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
