/**
 * Cluster changes: register (C1, C2, C4, N2), enable/disable in place (C6), replace when the
 * pool changes (C7), prune (delete / unmanaged). Warns CONAMED_QUEUE_ORPHANED (C7) and
 * DATA_PLANE_UNVERIFIED (a move that no data-plane report can confirm).
 */
import {
  address,
  dataPlaneMismatches,
  type ClusterDataPlane,
  type PoolContract,
} from '../model/common.js';
import { reportedDataPlane } from '../model/capabilities.js';
import type { DesiredCluster } from '../model/desired.js';
import type { LiveCluster } from '../model/live.js';
import type { PlanWarning } from '../model/plan.js';
import { makeChange } from './change.js';
import { knownContract, type ClusterDecision, type PoolDecision } from './context.js';
import { PlanIndex } from './plan-index.js';
import { clusterForm, diffForms, type Form } from './forms.js';
import { reasonOf, reasonText, warning } from './reasons.js';
import type { Reason } from '../model/plan.js';
import { deletedCluster, planClusterUndelete } from './cluster-undelete.js';

/** What the cluster pass returns: its decisions, the clusters that leave their pool, its warnings. */
export interface ClusterPass {
  readonly clusters: ReadonlyMap<string, ClusterDecision>;
  /** Clusters whose record is deleted (delete or replace): C8 removes them from selectors. */
  readonly deletedClusters: ReadonlySet<string>;
  /** Clusters moved to another pool in place (capability `cluster_move`). */
  readonly movedClusters: ReadonlySet<string>;
  readonly warnings: readonly PlanWarning[];
}

/** What the cluster pass reads: the index and the pool pass's decisions (C4, undelete). */
interface ClusterInput {
  readonly ix: PlanIndex;
  readonly pools: ReadonlyMap<string, PoolDecision>;
  /** Declared queues whose repointing is blocked: their pins stay (pinnedReason). */
  readonly stuck: ReadonlySet<string>;
  /** Where the warnings found go (returned in ClusterPass). */
  readonly warnings: PlanWarning[];
}

export function planClusters(
  ix: PlanIndex,
  pools: ReadonlyMap<string, PoolDecision>,
  stuck: ReadonlySet<string> = new Set(),
): ClusterPass {
  const input: ClusterInput = { ix, pools, stuck, warnings: [] };
  const clusters = new Map<string, ClusterDecision>();
  const deletedClusters = new Set<string>();
  const movedClusters = new Set<string>();
  for (const name of PlanIndex.union(ix.dClusters.keys(), ix.lClusters.keys())) {
    const d = planCluster(input, name);
    if (!d) continue;
    clusters.set(name, d);
    if (d.deletes) deletedClusters.add(name);
    if (d.moves && !d.undeletes) movedClusters.add(name);
  }
  return { clusters, deletedClusters, movedClusters, warnings: input.warnings };
}

function planCluster(ctx: ClusterInput, name: string): ClusterDecision | undefined {
  const ix = ctx.ix;
  const d = ix.dClusters.get(name);
  const l = ix.lClusters.get(name);
  const before = l ? clusterForm(l.pool, l.enabled) : null;

  if (!d && l) return planUndeclaredCluster(ctx, name, l, before);
  if (!d) return undefined;
  // soft_delete: a declared name of a deleted cluster is undeleted (cluster-undelete.ts).
  const deleted = l ? undefined : deletedCluster(ix, name);
  if (deleted) return planClusterUndelete(ix, ctx.pools, d, deleted);

  const after = clusterForm(d.pool, d.enabled);
  if (l && l.pool === d.pool && !ix.forceReplace.has(address('Cluster', name))) {
    const diff = diffForms(before, after);
    const drains = l.enabled && !d.enabled;
    const pinned = drains ? pinnedReason(ctx, name, 'drain') : null;
    if (pinned) return leftAsItIs(name, l, before, after, diff, pinned);
    // Union refuses a drain while apps are assigned to the cluster, which no read shows.
    const note =
      drains && ix.caps.unpin_first ? reasonText(reasonOf('CLUSTER_DRAIN_APPS', {})) : null;
    return {
      change: makeChange(
        'Cluster',
        name,
        diff.length ? 'update' : 'noop',
        before,
        after,
        diff,
        null,
        null,
        note ? { note } : undefined,
      ),
      registers: false,
      deletes: false,
      final: { pool: d.pool, enabled: d.enabled, health: l.health },
    };
  }
  if (l && ix.caps.cluster_move) return planMove(ctx, name, l, d.pool, d.enabled, d.data_plane);
  return planRegistration(ctx, name, d, l, before, after);
}

/** An undeclared live cluster: pruned (deleted) when in scope, otherwise left unmanaged. */
function planUndeclaredCluster(
  ctx: ClusterInput,
  name: string,
  l: LiveCluster,
  before: Form | null,
): ClusterDecision {
  const { ix } = ctx;
  if (!ix.prunes('Cluster', name)) {
    return {
      change: ix.unmanagedChange('Cluster', name, before),
      registers: false,
      deletes: false,
      final: { pool: l.pool, enabled: l.enabled, health: l.health },
    };
  }
  const pinned = deleteBlockedReason(ctx, name);
  if (pinned) return leftAsItIs(name, l, before, null, diffForms(before, null), pinned);
  return {
    change: makeChange('Cluster', name, 'delete', before, null, diffForms(before, null)),
    registers: false,
    deletes: true,
    final: null,
  };
}

/** A registration is needed: a new cluster, or the second half of a replace (C7). */
function planRegistration(
  ctx: ClusterInput,
  name: string,
  d: DesiredCluster,
  l: LiveCluster | undefined,
  before: Form | null,
  after: Form,
): ClusterDecision {
  const blocked =
    registrationBlockedReason(ctx, name, d.pool, d.data_plane) ??
    (l ? deleteBlockedReason(ctx, name) : null);
  const diff = diffForms(before, after, (path) => path === 'pool');
  if (blocked) {
    return {
      change: makeChange('Cluster', name, 'blocked', before, before, diff, blocked),
      registers: false,
      deletes: false,
      final: l ? { pool: l.pool, enabled: l.enabled, health: l.health } : null,
    };
  }
  warnOrphanedQueue(ctx, name, d.pool, l?.pool ?? null);
  return {
    change: makeChange('Cluster', name, l ? 'replace' : 'create', before, after, diff),
    registers: true,
    deletes: l !== undefined,
    final: { pool: d.pool, enabled: d.enabled, health: 'unknown' },
  };
}

/**
 * Capability `cluster_move` (C7 lifted): the pool changes in place once the queues that route
 * only to the cluster are drained (or idle); the co-named queue moves with it, so there is no
 * delete and re-register and no orphaned co-named queue (C7's trap). Blocked only by a data
 * plane that is reported or declared and differs from the destination's contract (C4); one
 * that is not reported is not a mismatch: the move is planned with DATA_PLANE_UNVERIFIED.
 */
function planMove(
  ctx: ClusterInput,
  name: string,
  l: LiveCluster,
  pool: string,
  enabled: boolean,
  declared: ClusterDataPlane | null,
): ClusterDecision {
  const before = clusterForm(l.pool, l.enabled);
  const after = clusterForm(pool, enabled);
  const diff = diffForms(before, after);
  const contract = knownContract(ctx.pools, pool);
  const reported = reportedBy(ctx.ix, l);
  const blocked =
    pinnedReason(ctx, name, 'move') ?? moveBlockedReason(pool, contract, reported, declared);
  if (blocked) {
    return {
      change: makeChange('Cluster', name, 'blocked', before, before, diff, blocked),
      registers: false,
      deletes: false,
      final: { pool: l.pool, enabled: l.enabled, health: l.health },
    };
  }
  const note = reasonText(
    reasonOf('CLUSTER_MOVED_IN_PLACE', {
      from: l.pool,
      pool,
      drain: ctx.ix.caps.drain,
      queue: address('Queue', name),
    }),
  )!;
  const change = makeChange('Cluster', name, 'update', before, after, diff, null, null, { note });
  if (!reported) warnUnverified(ctx, l, pool, contract, declared);
  return {
    change,
    registers: false,
    deletes: false,
    moves: true,
    final: { pool, enabled, health: l.health },
  };
}

/**
 * unpin_first (remote/_cluster.py:330-331, 363-365, 450-451): Union refuses to drain, move or
 * delete a cluster another live queue pins; why, naming the queues still pinning it when the
 * step runs (PlanIndex.pinsLeft), or null.
 */
function pinnedReason(
  { ix, stuck }: Pick<ClusterInput, 'ix' | 'stuck'>,
  name: string,
  action: 'drain' | 'move' | 'delete',
): Reason | null {
  const pins = ix.pinsLeft(name, stuck);
  if (pins.length === 0) return null;
  return reasonOf('CLUSTER_PINNED', {
    action,
    queues: pins.map((q) => address('Queue', q)),
    unmanaged: pins.filter((q) => !ix.dQueues.has(q)).map((q) => address('Queue', q)),
  });
}

/**
 * Why Union refuses to delete the cluster: another queue pins it, or (queue_delete) its
 * co-named queue, which goes with it, is one a setting names once the plan is applied.
 */
function deleteBlockedReason(ctx: Pick<ClusterInput, 'ix' | 'stuck'>, name: string): Reason | null {
  const { ix } = ctx;
  const pinned = pinnedReason(ctx, name, 'delete');
  if (pinned) return pinned;
  const settings = ix.conamedCascades(name) ? ix.settingQueues.get(name) : undefined;
  return settings
    ? reasonOf('CLUSTER_CONAMED_UNDELETABLE', { name, settings: [...settings] })
    : null;
}

/** A live cluster whose change is blocked: nothing is sent for it; it stays as it is. */
function leftAsItIs(
  name: string,
  l: LiveCluster,
  before: Form | null,
  after: Form | null,
  diff: ReturnType<typeof diffForms>,
  reason: Reason,
): ClusterDecision {
  return {
    change: makeChange('Cluster', name, 'blocked', before, after ?? before, diff, reason),
    registers: false,
    deletes: false,
    final: { pool: l.pool, enabled: l.enabled, health: l.health },
  };
}

/** C4: why a move in place is blocked: a reported or declared data plane that differs from the contract. */
function moveBlockedReason(
  pool: string,
  contract: PoolContract | null,
  reported: ClusterDataPlane | null,
  declared: ClusterDataPlane | null,
): Reason | null {
  if (!contract) return null;
  const r = reported ? dataPlaneMismatches(contract, reported) : [];
  const d = declared ? dataPlaneMismatches(contract, declared) : [];
  if (r.length === 0 && d.length === 0) return null;
  return reasonOf('CLUSTER_MOVE_DATA_PLANE_MISMATCH', {
    pool: address('ClusterPool', pool),
    reports_fields: r.map((x) => x.field),
    reports_declared: r.map((x) => x.declared),
    reports_contract: r.map((x) => x.contract),
    declares_fields: d.map((x) => x.field),
    declares_declared: d.map((x) => x.declared),
    declares_contract: d.map((x) => x.contract),
  });
}

/** C5: what the cluster reported, or null when nothing was (or nothing can be rebuilt). */
function reportedBy(ctx: PlanIndex, l: LiveCluster): ClusterDataPlane | null {
  const pool = ctx.lPools.get(l.pool);
  // Drift is relative to the live contract: an unknown one rebuilds nothing.
  if (!pool || pool.contract_known === false) return null;
  return reportedDataPlane(pool.contract, l);
}

/** DATA_PLANE_UNVERIFIED: a move planned without any report to check it against (C4, C5). */
function warnUnverified(
  ctx: ClusterInput,
  l: LiveCluster,
  pool: string,
  contract: PoolContract | null,
  declared: ClusterDataPlane | null,
): void {
  const addr = address('Cluster', l.name);
  ctx.warnings.push(
    warning('DATA_PLANE_UNVERIFIED', addr, {
      cluster: addr,
      pool,
      pool_address: address('ClusterPool', pool),
      data_plane_reported: l.data_plane_reported !== false,
      health: l.health,
      live_pool: l.pool,
      contract_known: contract !== null,
      object_store: contract?.object_store_ref.uri ?? null,
      secret_type: contract?.secret_store.type ?? null,
      secret_locator: contract?.secret_store.locator ?? null,
      image_registry: contract?.image_registry?.locator ?? null,
      declared: declared !== null,
    }),
  );
}

/** N2 and C4: what would make the control plane reject the registration. */
function registrationBlockedReason(
  ctx: ClusterInput,
  name: string,
  pool: string,
  dataPlane: ClusterDataPlane | null,
): Reason | null {
  const queue = ctx.ix.lQueues.get(name);
  if (queue && !queue.cluster_managed)
    return reasonOf('CLUSTER_NAME_TAKEN', {
      name,
      queue: address('Queue', name),
      pool: queue.pool,
      reserved: ctx.ix.caps.soft_delete === true,
    });
  // A deleted queue keeps its name (a deleted cluster's own comes back with its undelete).
  const deleted = queue ? undefined : ctx.ix.lDeletedQueues.get(name);
  if (deleted && ctx.ix.caps.soft_delete)
    return reasonOf('CLUSTER_NAME_RESERVED', { name, pool: deleted.pool });
  const contract = knownContract(ctx.pools, pool);
  if (dataPlane && contract) {
    const m = dataPlaneMismatches(contract, dataPlane);
    if (m.length > 0) {
      return reasonOf('REGISTRATION_DATA_PLANE_MISMATCH', {
        pool: address('ClusterPool', pool),
        fields: m.map((x) => x.field),
        declared: m.map((x) => x.declared),
        contract: m.map((x) => x.contract),
      });
    }
  }
  return null;
}

/**
 * C7: re-registering a name whose co-named queue survives (a replace now, or an earlier
 * delete) creates no queue (C2); the old one keeps its pool and an empty selector (C8).
 */
function warnOrphanedQueue(
  ctx: ClusterInput,
  name: string,
  pool: string,
  livePool: string | null,
): void {
  const queue = ctx.ix.lQueues.get(name);
  // With queue_delete the delete takes the old co-named queue with it (conamed-cascade.ts).
  if (!queue || !queue.cluster_managed || ctx.ix.conamedCascades(name)) return;
  const addr = address('Cluster', name);
  ctx.warnings.push(
    warning('CONAMED_QUEUE_ORPHANED', addr, {
      cluster: addr,
      from: livePool,
      to: pool,
      queue: address('Queue', name),
      name,
      pool: queue.pool,
    }),
  );
}
