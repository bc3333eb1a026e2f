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
import { warning } from './reasons.js';
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
  /** Where the warnings found go (returned in ClusterPass). */
  readonly warnings: PlanWarning[];
}

export function planClusters(ix: PlanIndex, pools: ReadonlyMap<string, PoolDecision>): ClusterPass {
  const input: ClusterInput = { ix, pools, warnings: [] };
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

  if (!d && l) return planUndeclaredCluster(ix, name, l, before);
  if (!d) return undefined;
  // soft_delete: a declared name of a deleted cluster is undeleted (cluster-undelete.ts).
  const deleted = l ? undefined : deletedCluster(ix, name);
  if (deleted) return planClusterUndelete(ix, ctx.pools, d, deleted);

  const after = clusterForm(d.pool, d.enabled);
  if (l && l.pool === d.pool && !ix.forceReplace.has(address('Cluster', name))) {
    const diff = diffForms(before, after);
    return {
      change: makeChange('Cluster', name, diff.length ? 'update' : 'noop', before, after, diff),
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
  ix: PlanIndex,
  name: string,
  l: LiveCluster,
  before: Form | null,
): ClusterDecision {
  if (!ix.prunes('Cluster', name)) {
    return {
      change: makeChange(
        'Cluster',
        name,
        'unmanaged',
        before,
        before,
        [],
        ix.unmanagedReason('Cluster'),
      ),
      registers: false,
      deletes: false,
      final: { pool: l.pool, enabled: l.enabled, health: l.health },
    };
  }
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
  const blocked = registrationBlockedReason(ctx, name, d.pool, d.data_plane);
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
  const reasons = moveBlockedReasons(pool, contract, reported, declared);
  if (reasons.length > 0) {
    return {
      change: makeChange(
        'Cluster',
        name,
        'blocked',
        before,
        before,
        diff,
        `the cluster can move in place (cluster_move), but ${reasons.join('; and ')}. Redeploy it with the destination pool's values first.`,
      ),
      registers: false,
      deletes: false,
      final: { pool: l.pool, enabled: l.enabled, health: l.health },
    };
  }
  const change = makeChange('Cluster', name, 'update', before, after, diff);
  change.note =
    `moved in place from pool "${l.pool}" to "${pool}" (cluster_move) after the queues that route only to it ` +
    `are ${ctx.ix.caps.drain ? 'drained' : 'idle'}: no delete and re-register, so its co-named ${address('Queue', name)} ` +
    `moves with it and nothing is orphaned (no C7 trap)`;
  if (!reported) warnUnverified(ctx, l, pool, contract, declared);
  return {
    change,
    registers: false,
    deletes: false,
    moves: true,
    final: { pool, enabled, health: l.health },
  };
}

/** C4: why a move in place is blocked: a reported or declared data plane that differs from the contract. */
function moveBlockedReasons(
  pool: string,
  contract: PoolContract | null,
  reported: ClusterDataPlane | null,
  declared: ClusterDataPlane | null,
): string[] {
  const reasons: string[] = [];
  if (contract) {
    for (const [what, dp] of [
      ['reports', reported],
      ['declares', declared],
    ] as const) {
      const m = dp ? dataPlaneMismatches(contract, dp) : [];
      if (m.length > 0) {
        reasons.push(
          `it ${what} a data plane that does not match the contract of ${address('ClusterPool', pool)} (C4): ` +
            m
              .map(
                (x) =>
                  `${x.field} is ${JSON.stringify(x.declared)}, the contract says ${JSON.stringify(x.contract)}`,
              )
              .join('; '),
        );
      }
    }
  }
  return reasons;
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
  const why =
    l.data_plane_reported === false
      ? "the control plane does not report a cluster's data plane (only its health)"
      : l.health === 'unknown'
        ? 'the cluster has not reported its data plane yet (health unknown)'
        : `the contract of its current pool "${l.pool}" is not known, so its report cannot be read`;
  const what = contract
    ? `the contract of ${address('ClusterPool', pool)}: object store ${contract.object_store_ref.uri}, secret store ` +
      `${contract.secret_store.type} ${contract.secret_store.locator}, ` +
      (contract.image_registry
        ? `image registry ${contract.image_registry.locator}`
        : 'no image registry')
    : `the contract of ${address('ClusterPool', pool)} (which poolsync does not know either: it is marked unknown)`;
  const decl = declared
    ? ' Its declared data_plane matches that contract (V6), but that is what the repository says, not what the cluster runs.'
    : '';
  ctx.warnings.push({
    code: 'DATA_PLANE_UNVERIFIED',
    address: addr,
    message:
      `${addr} moves to pool "${pool}" (cluster_move), but ${why}: poolsync could not verify that it is deployed ` +
      `with ${what}.${decl} Before applying, check the cluster's data-plane deployment (its object store bucket, ` +
      `secret manager and image registry settings) uses these values; after the move, check that the control plane ` +
      `reports it healthy: a cluster whose data plane does not match its pool is marked unhealthy and gets no work (C4, C5).`,
  });
}

/** N2 and C4: what would make the control plane reject the registration. */
function registrationBlockedReason(
  ctx: ClusterInput,
  name: string,
  pool: string,
  dataPlane: ClusterDataPlane | null,
): string | null {
  const queue = ctx.ix.lQueues.get(name);
  if (queue && !queue.cluster_managed) {
    return (
      `the name "${name}" is taken by ${address('Queue', name)} (pool "${queue.pool}"): clusters and queues share ` +
      `one namespace (N2) and queues cannot be deleted (Q6), so register the cluster under another name`
    );
  }
  const contract = knownContract(ctx.pools, pool);
  if (dataPlane && contract) {
    const mismatches = dataPlaneMismatches(contract, dataPlane).map(
      (m) =>
        `${m.field} is ${JSON.stringify(m.declared)}, the contract says ${JSON.stringify(m.contract)}`,
    );
    if (mismatches.length > 0) {
      return (
        `the registration declares a data plane that does not match the contract ${address('ClusterPool', pool)} ` +
        `will have (C4): ${mismatches.join('; ')}. The pool's contract change is blocked; see ${address('ClusterPool', pool)}.`
      );
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
