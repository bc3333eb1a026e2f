/**
 * The read views of the embedded control plane's state (domain.md's Live* objects): what is
 * derived on read (Q8 availability, bound queues, member clusters) comes from the index of
 * state-records.ts. No I/O and no clock: callers pass `now`.
 */
import { BASELINE_CAPABILITIES, WILDCARD, address, type Capabilities } from '../../model/common.js';
import type {
  LiveAssignment,
  LiveCluster,
  LivePool,
  LiveQueue,
  QueueMetrics,
} from '../../model/live.js';
import {
  fail,
  indexOf,
  requireCluster,
  requireQueue,
  type ClusterRecord,
  type PoolRecord,
  type QueueRecord,
  type State,
} from './state-records.js';

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
