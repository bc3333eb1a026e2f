/** Pool changes: create, replace (P4) or blocked (P1, P5, A3), prune (delete / unmanaged). */
import { DEFAULT_POOL, address, dataPlaneMismatches, type PoolContract } from '../model/common.js';
import { reportedDataPlane } from '../model/capabilities.js';
import { CONTRACT_UNKNOWN, type DesiredPool } from '../model/desired.js';
import type { LivePool } from '../model/live.js';
import type { Change, PlanError, Reason } from '../model/plan.js';
import { makeChange } from './change.js';
import { locationOf, type PoolDecision } from './context.js';
import type { PlanIndex } from './plan-index.js';
import { diffForms, poolForm } from './forms.js';
import { deletedPool, planPoolUndelete } from './pool-undelete.js';
import { planError, reasonOf, reasonText } from './reasons.js';

/** What the pool pass returns: its decisions, and the errors it found. */
export interface PoolPass {
  readonly pools: ReadonlyMap<string, PoolDecision>;
  readonly errors: readonly PlanError[];
}

/**
 * What the pool pass reads: the index, and the live clusters it may take as gone (deleted,
 * replaced or moved by the cluster pass: P5 rule 5; index.ts planPoolsAndClusters settles it).
 */
interface PoolInput {
  readonly ix: PlanIndex;
  readonly leavingClusters: ReadonlySet<string>;
  /** Where the errors found go (returned in PoolPass). */
  readonly errors: PlanError[];
}

export function planPools(ix: PlanIndex, leavingClusters: ReadonlySet<string>): PoolPass {
  const errors: PlanError[] = [];
  const input: PoolInput = { ix, leavingClusters, errors };
  const pools = new Map<string, PoolDecision>();
  for (const name of poolNames(ix)) {
    const d = planPool(input, name);
    if (d) pools.set(name, d);
  }
  return { pools, errors };
}

function planPool(ctx: PoolInput, name: string): PoolDecision | undefined {
  const ix = ctx.ix;
  const declared = ix.dPools.get(name);
  const l = ix.lPools.get(name);
  // soft_delete: a declared name of a deleted pool is undeleted, never created (pool-undelete.ts).
  const deleted = declared && !l ? deletedPool(ix, name) : undefined;
  if (declared && deleted) return planPoolUndelete(ix, declared, deleted);
  if (declared && declared.contract === null) return planUnknownContract(ctx, declared, l);
  const d = declared as (DesiredPool & { contract: PoolContract }) | undefined;
  if (d && !l) {
    const after = poolForm(d.contract);
    return {
      change: makeChange('ClusterPool', name, 'create', null, after, diffForms(null, after)),
      creates: true,
      deletes: false,
      finalContract: d.contract,
    };
  }
  if (d && l) return planDeclaredLivePool(ctx, name, d, l);
  if (l) return planUndeclaredPool(ctx, name, l);
  return undefined;
}

/** A pool both declared and live: kept, updated (pool_update), replaced or blocked (P4). */
function planDeclaredLivePool(
  ctx: PoolInput,
  name: string,
  d: DesiredPool & { contract: PoolContract },
  l: LivePool,
): PoolDecision {
  const addr = address('ClusterPool', name);
  // A control plane that does not show contracts (Union, docs/union.md): the declared
  // contract cannot be compared, so it is taken as the live one (no change planned).
  if (l.contract_known === false) {
    const known = poolForm(d.contract);
    return keep(d.contract, makeChange('ClusterPool', name, 'noop', known, known, []));
  }
  const before = poolForm(l.contract);
  const after = poolForm(d.contract);
  // P4: every contract field is immutable.
  const diff = diffForms(before, after, () => true);
  if (diff.length === 0 && !ctx.ix.forceReplace.has(addr))
    return keep(l.contract, makeChange('ClusterPool', name, 'noop', before, before, []));
  if (ctx.ix.caps.pool_update) return planPoolUpdate(ctx, name, l.contract, d.contract);
  const reason = replaceBlockedReason(ctx, name);
  if (reason)
    return keep(
      l.contract,
      makeChange('ClusterPool', name, 'blocked', before, before, diff, reason),
    );
  return {
    change: makeChange('ClusterPool', name, 'replace', before, after, diff),
    creates: true,
    deletes: true,
    finalContract: d.contract,
  };
}

/** A live pool the repository does not declare: kept (P1, prune off), blocked (P5) or deleted. */
function planUndeclaredPool(ctx: PoolInput, name: string, l: LivePool): PoolDecision {
  const addr = address('ClusterPool', name);
  const before = poolForm(l.contract);
  // P1: the default pool is a system object: never deleted nor reported as unmanaged, unless
  // poolsync.yaml lists it absent (Union deletes it like any empty pool: default_delete).
  if (name === DEFAULT_POOL && !ctx.ix.absent(addr))
    return keep(l.contract, makeChange('ClusterPool', name, 'noop', before, before, []));
  if (name === DEFAULT_POOL && !ctx.ix.caps.default_delete) {
    const reason = reasonOf('DEFAULT_POOL_ABSENT_NO_DELETE', {});
    return keep(
      l.contract,
      makeChange('ClusterPool', name, 'blocked', before, before, diffForms(before, null), reason),
    );
  }
  if (name !== DEFAULT_POOL && !ctx.ix.prunes('ClusterPool', name)) {
    return keep(l.contract, ctx.ix.unmanagedChange('ClusterPool', name, before));
  }
  const refs = liveReferences(ctx, name);
  if (refs.length > 0) {
    const reason = reasonOf('POOL_REFERENCED', { pool: addr, refs });
    return keep(
      l.contract,
      makeChange('ClusterPool', name, 'blocked', before, before, diffForms(before, null), reason),
    );
  }
  return {
    change: makeChange('ClusterPool', name, 'delete', before, null, diffForms(before, null)),
    creates: false,
    deletes: true,
    finalContract: null,
  };
}

/**
 * A declared pool whose contract the repository marks unknown (`poolsync/contract: unknown`,
 * what `export` writes for Union): never compared, created, replaced or updated. The pool must
 * exist; its contract stays whatever the control plane has.
 */
function planUnknownContract(
  ctx: PoolInput,
  d: DesiredPool,
  l: LivePool | undefined,
): PoolDecision {
  const addr = address('ClusterPool', d.name);
  const unknown = { contract: CONTRACT_UNKNOWN };
  if (!l) {
    const why = reasonOf('POOL_CONTRACT_UNKNOWN', { pool: addr });
    ctx.errors.push(planError('POOL_CONTRACT_UNKNOWN', addr, { pool: addr }, locationOf(d.source)));
    return {
      change: makeChange('ClusterPool', d.name, 'blocked', null, unknown, [], why),
      creates: false,
      deletes: false,
      finalContract: null,
    };
  }
  const form = l.contract_known === false ? unknown : poolForm(l.contract);
  const kept = keep(l.contract, makeChange('ClusterPool', d.name, 'noop', form, form, []));
  return l.contract_known === false ? { ...kept, contractKnown: false } : kept;
}

/** The pool stays as it is (noop, blocked, unmanaged): nothing is created or deleted. */
function keep(contract: PoolContract, change: Change): PoolDecision {
  return { change, creates: false, deletes: false, finalContract: contract };
}

function poolNames(ix: PlanIndex): string[] {
  return [...new Set([...ix.dPools.keys(), ...ix.lPools.keys()])].sort();
}

/**
 * Clusters and queues that reference a live pool (P5), less those this plan takes away:
 * clusters deleted or moved, queues deleted (queue_delete) and co-named queues that move
 * with their cluster (cluster_move).
 */
function liveReferences({ ix, leavingClusters }: PoolInput, pool: string): string[] {
  const goes = (q: string) =>
    ix.leavingQueues.has(q) ||
    // Deleted with its cluster (queue_delete, conamed-cascade.ts).
    (ix.conamedCascades(q) && leavingClusters.has(q)) ||
    (ix.caps.cluster_move &&
      leavingClusters.has(q) &&
      ix.lQueues.get(q)?.cluster_managed === true &&
      ix.dClusters.has(q) &&
      ix.dClusters.get(q)!.pool !== pool);
  return [
    ...(ix.lClustersByPool.get(pool) ?? [])
      .filter((n) => !leavingClusters.has(n))
      .map((n) => address('Cluster', n)),
    ...(ix.lQueuesByPool.get(pool) ?? []).filter((n) => !goes(n)).map((n) => address('Queue', n)),
  ];
}

/**
 * Capability `pool_update` (P4 lifted): the contract changes in place, no delete, so no P5.
 * Every cluster that stays a member must still match it (C4): its reported data plane (C5).
 */
function planPoolUpdate(
  { ix, leavingClusters }: PoolInput,
  name: string,
  live: PoolContract,
  desired: PoolContract,
): PoolDecision {
  const before = poolForm(live);
  const after = poolForm(desired);
  const diff = diffForms(before, after);
  // Each cluster whose reported data plane differs, with how many of the fields (in order) are its.
  const clusters: string[] = [];
  const counts: number[] = [];
  const fields: string[] = [];
  const declared: string[] = [];
  for (const c of ix.lClustersByPool.get(name) ?? []) {
    if (leavingClusters.has(c)) continue;
    const reported = reportedDataPlane(live, ix.lClusters.get(c)!);
    const m = reported ? dataPlaneMismatches(desired, reported) : [];
    if (m.length > 0) {
      clusters.push(address('Cluster', c));
      counts.push(m.length);
      fields.push(...m.map((x) => x.field));
      declared.push(...m.map((x) => x.declared));
    }
  }
  if (clusters.length > 0) {
    const reason = reasonOf('POOL_UPDATE_MISMATCH', { clusters, counts, fields, declared });
    return keep(live, makeChange('ClusterPool', name, 'blocked', before, before, diff, reason));
  }
  const change = makeChange('ClusterPool', name, 'update', before, after, diff, null, null, {
    note: reasonText(reasonOf('POOL_UPDATED_IN_PLACE', {}))!,
  });
  return { change, creates: false, deletes: false, updates: true, finalContract: desired };
}

/** Why a contract change cannot be realised as delete + create, or null when it can. */
function replaceBlockedReason(ctx: PoolInput, name: string): Reason | null {
  const ix = ctx.ix;
  if (name === DEFAULT_POOL) return reasonOf('DEFAULT_POOL_CONTRACT_FIXED', {});
  const refs = liveReferences(ctx, name);
  if (refs.length > 0) return reasonOf('POOL_REPLACE_REFERENCED', { refs });
  // A3: replacing removes the assignments naming the pool and sets them again; one that is
  // not in the repository (prune off) must not be touched.
  const unmanaged = (ix.lAssignmentsByPool.get(name) ?? []).filter(
    (k) => !ix.dAssignments.has(k) && !ix.prunes('PoolAssignment', k),
  );
  if (unmanaged.length > 0) {
    const assignments = unmanaged.map((k) => address('PoolAssignment', k));
    return reasonOf('POOL_REPLACE_UNMANAGED_ASSIGNMENTS', { assignments });
  }
  return null;
}
