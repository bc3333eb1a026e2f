import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POOL_CONTRACT,
  applyOp,
  getCluster,
  getPool,
  getQueue,
  initialState,
  listClusters,
  listPools,
  listQueues,
  stateFromJson,
  stateToJson,
  type Op,
  type State,
} from '../../src/controlplane/embedded/state.js';
import { QUEUE_DEFAULTS, WILDCARD } from '../../src/model/common.js';

/** Every read view, of a state whose index was kept current write by write. */
function views(state: State) {
  return {
    pools: listPools(state),
    clusters: listClusters(state),
    queues: listQueues(state, 0),
    gets: [
      ...[...state.pools.keys()].sort().map((n) => getPool(state, n)),
      ...[...state.clusters.keys()].sort().map((n) => getCluster(state, n)),
      ...[...state.queues.keys()].sort().map((n) => getQueue(state, n, 0)),
    ],
  };
}

/** A deterministic pseudo-random sequence (no flaky seeds). */
function rng(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((s / 2 ** 31) * n);
  };
}

describe('embedded state index', () => {
  it('answers every read exactly as an index built from scratch, after every kind of write', () => {
    const state = initialState(DEFAULT_POOL_CONTRACT);
    const pick = rng(7);
    const pools = ['default', 'p1', 'p2'];
    applyOp(state, { op: 'create_pool', name: 'p1', contract: DEFAULT_POOL_CONTRACT });
    applyOp(state, { op: 'create_pool', name: 'p2', contract: DEFAULT_POOL_CONTRACT });
    views(state); // builds the index before the writes, so the writers must keep it current
    let applied = 0;
    let sawShared = false;
    for (let i = 0; i < 600; i++) {
      const clusters = [...state.clusters.values()];
      const queues = [...state.queues.values()].filter((q) => q.name !== 'default');
      const pool = pools[pick(pools.length)]!;
      const members = clusters.filter((c) => c.pool === pool).map((c) => c.name);
      const ops: Op[] = [
        { op: 'register_cluster', name: `c${pick(40)}`, pool, data_plane: null },
        { op: 'delete_cluster', name: clusters[pick(clusters.length || 1)]?.name ?? 'none' },
        {
          op: 'update_cluster',
          name: clusters[pick(clusters.length || 1)]?.name ?? 'none',
          enabled: pick(2) === 0,
        },
        {
          op: 'report_cluster_status',
          name: clusters[pick(clusters.length || 1)]?.name ?? 'none',
          report: {
            object_store_uri: DEFAULT_POOL_CONTRACT.object_store_ref.uri,
          },
        },
        {
          op: 'create_queue',
          name: `q${pick(40)}`,
          spec: {
            pool,
            clusters: pick(3) === 0 ? [WILDCARD] : members.filter(() => pick(2) === 0),
            ...QUEUE_DEFAULTS,
          },
        },
      ];
      // Capability ops (capabilities.ts) write through the same index writers.
      const someQueue = queues[pick(queues.length || 1)]?.name ?? 'none';
      const someCluster = clusters[pick(clusters.length || 1)]?.name ?? 'none';
      if (pick(3) === 0)
        ops.push(
          { op: 'drain_queue', name: someQueue },
          { op: 'delete_queue', name: someQueue, at: 0 },
          { op: 'move_cluster', name: someCluster, pool, at: 0 },
          { op: 'update_pool', name: pool, contract: DEFAULT_POOL_CONTRACT },
        );
      const q = queues[pick(queues.length || 1)];
      if (q && !q.cluster_managed) {
        const own = clusters.filter((c) => c.pool === q.spec.pool).map((c) => c.name);
        ops.push({
          op: 'update_queue',
          name: q.name,
          spec: { ...q.spec, clusters: own.filter(() => pick(2) === 0) },
        });
      }
      const op = ops[pick(ops.length)]!;
      try {
        applyOp(state, op);
        applied++;
      } catch {
        continue; // rejected ops change nothing
      }
      if (listClusters(state).some((c) => c.bound_queues.length > 1)) sawShared = true;
      if (i % 25 === 0) {
        const fresh = stateFromJson(structuredClone(stateToJson(state)));
        expect(views(state)).toEqual(views(fresh));
      }
    }
    expect(applied).toBeGreaterThan(200);
    expect(views(state)).toEqual(views(stateFromJson(structuredClone(stateToJson(state)))));
    // The walk above must really have exercised bound queues and pool members.
    expect(sawShared).toBe(true);
    expect(listPools(state).filter((p) => p.member_clusters.length > 0).length).toBeGreaterThan(1);
  });
});
