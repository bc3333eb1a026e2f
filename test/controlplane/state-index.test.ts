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
import {
  BASELINE_CAPABILITIES,
  type Capabilities,
  QUEUE_DEFAULTS,
  WILDCARD,
} from '../../src/model/common.js';

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

/** A contract another pool may take (update_pool) and a cluster may report against (C5). */
const OTHER_CONTRACT = {
  ...DEFAULT_POOL_CONTRACT,
  object_store_ref: { uri: 'file:///var/lib/union/other', endpoint: '' },
};

const ALL_CAPABILITIES = Object.fromEntries(
  Object.keys(BASELINE_CAPABILITIES).map((k) => [k, true]),
) as unknown as Capabilities;

describe('embedded state index', () => {
  it.each([
    ['the baseline', BASELINE_CAPABILITIES],
    ['every capability', ALL_CAPABILITIES],
  ])(
    'answers every read exactly as an index built from scratch, after every kind of write (%s)',
    (_, caps) => {
      const state = initialState(DEFAULT_POOL_CONTRACT, caps);
      const pick = rng(7);
      const pools = ['default', 'p1', 'p2'];
      applyOp(state, { op: 'create_pool', name: 'p1', contract: DEFAULT_POOL_CONTRACT });
      applyOp(state, { op: 'create_pool', name: 'p2', contract: DEFAULT_POOL_CONTRACT });
      views(state); // builds the index before the writes, so the writers must keep it current
      let applied = 0;
      let sawShared = false;
      let sawAvailable = 0;
      const kinds = new Set<string>();
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
              object_store_uri: (pick(4) === 0 ? OTHER_CONTRACT : DEFAULT_POOL_CONTRACT)
                .object_store_ref.uri,
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
            {
              op: 'update_pool',
              name: pool,
              contract: pick(2) === 0 ? OTHER_CONTRACT : DEFAULT_POOL_CONTRACT,
            },
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
          kinds.add(op.op);
        } catch {
          continue; // rejected ops change nothing
        }
        if (listClusters(state).some((c) => c.bound_queues.length > 1)) sawShared = true;
        // After every write, so each read above was cached before the next write (Q8's available
        // members are kept per pool, and a cluster's routing changes in place).
        const now = views(state);
        expect(now).toEqual(views(stateFromJson(structuredClone(stateToJson(state)))));
        if (now.queues.some((q) => q.available_clusters.length > 0)) sawAvailable++;
      }
      expect(applied).toBeGreaterThan(200);
      expect(views(state)).toEqual(views(stateFromJson(structuredClone(stateToJson(state)))));
      // The walk above must really have exercised bound queues and pool members.
      expect(sawShared).toBe(true);
      expect(sawAvailable).toBeGreaterThan(50);
      // Every write that changes a cluster's routing in place was applied (Q8's upkeep).
      const inPlace = ['update_cluster', 'report_cluster_status'];
      if (caps === ALL_CAPABILITIES) inPlace.push('update_pool', 'move_cluster');
      expect([...kinds]).toEqual(expect.arrayContaining(inPlace));
      expect(listPools(state).filter((p) => p.member_clusters.length > 0).length).toBeGreaterThan(
        1,
      );
    },
  );
});
