/** Pool changes: create, replace (P4) or blocked (P1, P5, A3), prune (delete / unmanaged). */
import { DEFAULT_POOL, address, dataPlaneMismatches, type PoolContract } from '../model/common.js';
import { reportedDataPlane } from '../model/capabilities.js';
import { CONTRACT_UNKNOWN, type DesiredPool } from '../model/desired.js';
import type { LivePool } from '../model/live.js';
import type { Change } from '../model/plan.js';
import { makeChange } from './change.js';
import { locationOf, type PlanContext } from './context.js';
import { diffForms, poolForm } from './forms.js';
import { deletedPool, planPoolUndelete } from './pool-undelete.js';
import { reasonOf, reasonText } from './reasons.js';
import type { Reason } from '../model/plan.js';

export function planPools(ctx: PlanContext): void {
  for (const name of ctxUnion(ctx)) planPool(ctx, name);
}

function planPool(ctx: PlanContext, name: string): void {
  const declared = ctx.dPools.get(name);
  const l = ctx.lPools.get(name);
  // soft_delete: a declared name of a deleted pool is undeleted, never created (pool-undelete.ts).
  const deleted = declared && !l ? deletedPool(ctx, name) : undefined;
  if (declared && deleted) {
    ctx.pools.set(name, planPoolUndelete(ctx, declared, deleted));
    return;
  }
  if (declared && declared.contract === null) {
    planUnknownContract(ctx, declared, l);
    return;
  }
  const d = declared as (DesiredPool & { contract: PoolContract }) | undefined;
  if (d && !l) {
    const after = poolForm(d.contract);
    ctx.pools.set(name, {
      change: makeChange('ClusterPool', name, 'create', null, after, diffForms(null, after)),
      creates: true,
      deletes: false,
      finalContract: d.contract,
    });
    return;
  }
  if (d && l) return planDeclaredLivePool(ctx, name, d, l);
  if (l) planUndeclaredPool(ctx, name, l);
}

/** A pool both declared and live: kept, updated (pool_update), replaced or blocked (P4). */
function planDeclaredLivePool(
  ctx: PlanContext,
  name: string,
  d: DesiredPool & { contract: PoolContract },
  l: LivePool,
): void {
  const addr = address('ClusterPool', name);
  // A control plane that does not show contracts (Union, docs/union.md): the declared
  // contract cannot be compared, so it is taken as the live one (no change planned).
  if (l.contract_known === false) {
    const known = poolForm(d.contract);
    keep(ctx, name, d.contract, makeChange('ClusterPool', name, 'noop', known, known, []));
    return;
  }
  const before = poolForm(l.contract);
  const after = poolForm(d.contract);
  // P4: every contract field is immutable.
  const diff = diffForms(before, after, () => true);
  if (diff.length === 0 && !ctx.forceReplace.has(addr)) {
    keep(ctx, name, l.contract, makeChange('ClusterPool', name, 'noop', before, before, []));
    return;
  }
  if (ctx.caps.pool_update) {
    planPoolUpdate(ctx, name, l.contract, d.contract);
    return;
  }
  const reason = replaceBlockedReason(ctx, name);
  if (reason) {
    keep(
      ctx,
      name,
      l.contract,
      makeChange('ClusterPool', name, 'blocked', before, before, diff, reason),
    );
  } else {
    ctx.pools.set(name, {
      change: makeChange('ClusterPool', name, 'replace', before, after, diff),
      creates: true,
      deletes: true,
      finalContract: d.contract,
    });
  }
  return;
}

/** A live pool the repository does not declare: kept (P1, prune off), blocked (P5) or deleted. */
function planUndeclaredPool(ctx: PlanContext, name: string, l: LivePool): void {
  const addr = address('ClusterPool', name);
  const before = poolForm(l.contract);
  // P1: the default pool is a system object: never deleted nor reported as unmanaged.
  if (name === DEFAULT_POOL) {
    keep(ctx, name, l.contract, makeChange('ClusterPool', name, 'noop', before, before, []));
    return;
  }
  if (!ctx.prunes('ClusterPool', name)) {
    keep(
      ctx,
      name,
      l.contract,
      makeChange(
        'ClusterPool',
        name,
        'unmanaged',
        before,
        before,
        [],
        ctx.unmanagedReason('ClusterPool'),
      ),
    );
    return;
  }
  const refs = liveReferences(ctx, name);
  if (refs.length > 0) {
    const reason = reasonOf('POOL_REFERENCED', { pool: addr, refs });
    keep(
      ctx,
      name,
      l.contract,
      makeChange('ClusterPool', name, 'blocked', before, before, diffForms(before, null), reason),
    );
    return;
  }
  ctx.pools.set(name, {
    change: makeChange('ClusterPool', name, 'delete', before, null, diffForms(before, null)),
    creates: false,
    deletes: true,
    finalContract: null,
  });
}

/**
 * A declared pool whose contract the repository marks unknown (`poolsync/contract: unknown`,
 * what `export` writes for Union): never compared, created, replaced or updated. The pool must
 * exist; its contract stays whatever the control plane has.
 */
function planUnknownContract(ctx: PlanContext, d: DesiredPool, l: LivePool | undefined): void {
  const addr = address('ClusterPool', d.name);
  const unknown = { contract: CONTRACT_UNKNOWN };
  if (!l) {
    const why = reasonOf('POOL_CONTRACT_UNKNOWN', { pool: addr });
    ctx.errors.push({
      code: why.code,
      address: addr,
      message: reasonText(why)!,
      location: locationOf(d.source),
      params: why.params,
    });
    ctx.pools.set(d.name, {
      change: makeChange('ClusterPool', d.name, 'blocked', null, unknown, [], why),
      creates: false,
      deletes: false,
      finalContract: null,
    });
    return;
  }
  const form = l.contract_known === false ? unknown : poolForm(l.contract);
  keep(ctx, d.name, l.contract, makeChange('ClusterPool', d.name, 'noop', form, form, []));
  if (l.contract_known === false) ctx.pools.get(d.name)!.contractKnown = false;
}

/** The pool stays as it is (noop, blocked, unmanaged): nothing is created or deleted. */
function keep(ctx: PlanContext, name: string, contract: PoolContract, change: Change): void {
  ctx.pools.set(name, { change, creates: false, deletes: false, finalContract: contract });
}

function ctxUnion(ctx: PlanContext): string[] {
  return [...new Set([...ctx.dPools.keys(), ...ctx.lPools.keys()])].sort();
}

/**
 * Clusters and queues that reference a live pool (P5), less those this plan takes away:
 * clusters deleted or moved, queues deleted (queue_delete) and co-named queues that move
 * with their cluster (cluster_move).
 */
function liveReferences(ctx: PlanContext, pool: string): string[] {
  const goes = (q: string) =>
    ctx.leavingQueues.has(q) ||
    // Deleted with its cluster (queue_delete, conamed-cascade.ts).
    (ctx.conamedCascades(q) && ctx.assumedDeletedClusters.has(q)) ||
    (ctx.caps.cluster_move &&
      ctx.assumedDeletedClusters.has(q) &&
      ctx.lQueues.get(q)?.cluster_managed === true &&
      ctx.dClusters.has(q) &&
      ctx.dClusters.get(q)!.pool !== pool);
  return [
    ...(ctx.lClustersByPool.get(pool) ?? [])
      .filter((n) => !ctx.assumedDeletedClusters.has(n))
      .map((n) => address('Cluster', n)),
    ...(ctx.lQueuesByPool.get(pool) ?? []).filter((n) => !goes(n)).map((n) => address('Queue', n)),
  ];
}

/**
 * Capability `pool_update` (P4 lifted): the contract changes in place, no delete, so no P5.
 * Every cluster that stays a member must still match it (C4): its reported data plane (C5).
 */
function planPoolUpdate(
  ctx: PlanContext,
  name: string,
  live: PoolContract,
  desired: PoolContract,
): void {
  const before = poolForm(live);
  const after = poolForm(desired);
  const diff = diffForms(before, after);
  const clusters: string[] = [];
  const mismatches: string[] = [];
  for (const c of ctx.lClustersByPool.get(name) ?? []) {
    if (ctx.assumedDeletedClusters.has(c)) continue;
    const reported = reportedDataPlane(live, ctx.lClusters.get(c)!);
    const m = reported ? dataPlaneMismatches(desired, reported) : [];
    if (m.length > 0) {
      clusters.push(address('Cluster', c));
      mismatches.push(m.map((x) => `${x.field} ${JSON.stringify(x.declared)}`).join(', '));
    }
  }
  if (clusters.length > 0) {
    const reason = reasonOf('POOL_UPDATE_MISMATCH', { clusters, mismatches });
    keep(ctx, name, live, makeChange('ClusterPool', name, 'blocked', before, before, diff, reason));
    return;
  }
  const change = makeChange('ClusterPool', name, 'update', before, after, diff);
  change.note =
    'updated in place (pool_update): no delete and re-create, so its clusters, queues and assignments stay; ' +
    'every member cluster that has reported its data plane matches the new contract (C4)';
  ctx.pools.set(name, {
    change,
    creates: false,
    deletes: false,
    updates: true,
    finalContract: desired,
  });
}

/** Why a contract change cannot be realised as delete + create, or null when it can. */
function replaceBlockedReason(ctx: PlanContext, name: string): Reason | null {
  if (name === DEFAULT_POOL) return reasonOf('DEFAULT_POOL_CONTRACT_FIXED', {});
  const refs = liveReferences(ctx, name);
  if (refs.length > 0) return reasonOf('POOL_REPLACE_REFERENCED', { refs });
  // A3: replacing removes the assignments naming the pool and sets them again; one that is
  // not in the repository (prune off) must not be touched.
  const unmanaged = (ctx.lAssignmentsByPool.get(name) ?? []).filter(
    (k) => !ctx.dAssignments.has(k) && !ctx.prunes('PoolAssignment', k),
  );
  if (unmanaged.length > 0) {
    const assignments = unmanaged.map((k) => address('PoolAssignment', k));
    return reasonOf('POOL_REPLACE_UNMANAGED_ASSIGNMENTS', { assignments });
  }
  return null;
}
