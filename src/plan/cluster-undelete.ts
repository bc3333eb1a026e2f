/**
 * Soft deletes (capability `soft_delete`, Union today), read from Union's client
 * (flyteplugins-union 0.19.1, remote/_cluster.py `delete` and `undelete`):
 * - a deleted cluster keeps its name reserved: CreateCluster of it is refused until
 *   `ClusterService/UndeleteCluster`, so a declared cluster of that name is undeleted;
 * - it comes back with the spec and pool it had, always DRAINED, and takes work only once
 *   activated (`update_cluster` enabled: UpdateClusterState ACTIVE);
 * - its co-named queue comes back with it, DRAINED, and is activated with it; undeleting the
 *   cluster is the only way back for that queue (queues.ts plans it as caused by the cluster);
 * - its pool must be live: a deleted pool is undeleted first (pool-undelete.ts), and a pool that
 *   stays deleted blocks the cluster's undelete;
 * - a cluster declared in another pool is moved there once back (UpdateCluster, `cluster_move`:
 *   its co-named queue is DRAINED then, as a move requires).
 */
import { address, dataPlaneMismatches, type QueueSpec } from '../model/common.js';
import type { DesiredCluster } from '../model/desired.js';
import type { LiveCluster, LiveQueue } from '../model/live.js';
import type { Reason } from '../model/plan.js';
import { reasonOf, reasonText } from './reasons.js';
import { makeChange } from './change.js';
import {
  knownContract,
  type ClusterDecision,
  type PoolDecision,
  type QueueDecision,
} from './context.js';
import type { PlanIndex } from './plan-index.js';
import { clusterForm, diffForms, queueForm, sameQueueSpec } from './forms.js';
import { decision } from './queue-decision.js';
import type { QueueOwn } from './queue-frame.js';

/** The deleted cluster of this declared name, when the control plane has soft deletes. */
export function deletedCluster(ctx: PlanIndex, name: string): LiveCluster | undefined {
  return ctx.caps.soft_delete ? ctx.lDeletedClusters.get(name) : undefined;
}

/** Why the deleted cluster cannot come back as the repository declares it, or null. */
function clusterUndeleteBlockedReason(
  ctx: PlanIndex,
  pools: ReadonlyMap<string, PoolDecision>,
  d: DesiredCluster,
  deleted: LiveCluster,
): Reason | null {
  const name = d.name;
  if (deleted.deleting) return reasonOf('CLUSTER_UNDELETE_DELETING', { name });
  if (!pools.get(deleted.pool)?.finalContract) {
    return reasonOf('CLUSTER_UNDELETE_POOL_DELETED', {
      name,
      pool: deleted.pool,
      pool_address: address('ClusterPool', deleted.pool),
    });
  }
  if (d.pool === deleted.pool) return null;
  if (!ctx.caps.cluster_move)
    return reasonOf('CLUSTER_UNDELETE_NO_MOVE', { name, from: deleted.pool, to: d.pool });
  const contract = knownContract(pools, d.pool);
  const m = contract && d.data_plane ? dataPlaneMismatches(contract, d.data_plane) : [];
  const poolAddress = address('ClusterPool', d.pool);
  if (!pools.get(d.pool)?.finalContract)
    return reasonOf('CLUSTER_UNDELETE_POOL_MISSING', { pool: d.pool, pool_address: poolAddress });
  if (m.length > 0) {
    return reasonOf('CLUSTER_UNDELETE_DATA_PLANE', {
      pool_address: poolAddress,
      fields: m.map((x) => x.field),
      declared: m.map((x) => x.declared),
    });
  }
  return null;
}

export function planClusterUndelete(
  ctx: PlanIndex,
  pools: ReadonlyMap<string, PoolDecision>,
  d: DesiredCluster,
  deleted: LiveCluster,
): ClusterDecision {
  const name = d.name;
  const after = clusterForm(d.pool, d.enabled);
  // It comes back DRAINED (enabled false) in the pool it had.
  const diff = diffForms(clusterForm(deleted.pool, false), after);
  const reason = clusterUndeleteBlockedReason(ctx, pools, d, deleted);
  if (reason) {
    return {
      change: makeChange('Cluster', name, 'blocked', null, null, diffForms(null, after), reason),
      registers: false,
      deletes: false,
      final: null,
    };
  }
  const moves = d.pool !== deleted.pool;
  const note = reasonText(
    reasonOf('CLUSTER_UNDELETED', {
      name,
      from: deleted.pool,
      to: moves ? d.pool : null,
      enabled: d.enabled,
    }),
  )!;
  const change = makeChange('Cluster', name, 'create', null, after, diff, null, null, { note });
  return {
    change,
    registers: false,
    deletes: false,
    undeletes: { pool: deleted.pool },
    ...(moves ? { moves: true } : {}),
    final: { pool: d.pool, enabled: d.enabled, health: deleted.health },
  };
}

/**
 * The deleted co-named queue of a cluster this plan undeletes: it comes back with the cluster
 * (DRAINED, its old settings, in the cluster's pool), is activated with it, and is updated to
 * `target` when that differs (its pool and selector follow the cluster, Q4).
 */
export function planConamedUndelete(
  own: QueueOwn,
  target: QueueSpec,
  deleted: LiveQueue,
  cluster: Pick<ClusterDecision, 'final'>,
): QueueDecision {
  const { name } = own;
  const back: QueueSpec = { ...deleted, pool: cluster.final!.pool, clusters: [name] };
  const call = sameQueueSpec(back, target) ? null : ({ op: 'update_queue', spec: target } as const);
  return decision(own, {
    live: null,
    call,
    createdBy: null,
    action: 'create',
    final: target,
    diff: diffForms(queueForm(back), queueForm(target)),
    causedBy: address('Cluster', name),
    note: reasonText(
      reasonOf('CONAMED_QUEUE_UNDELETED', { cluster: address('Cluster', name), updated: !!call }),
    )!,
  });
}
