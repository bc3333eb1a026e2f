/**
 * The pool and cluster passes, which depend on each other: a pool whose only references are
 * clusters this plan takes away can be deleted or replaced after them (P5, rule 5), and a
 * cluster's registration or move can be blocked by its destination pool's final contract (C4).
 * The pool pass takes the live clusters it may assume gone; the cluster pass decides which
 * really go. This module finds the assumption both agree on, as an explicit fixed point.
 */
import {
  address,
  DEFAULT_POOL,
  dataPlaneMismatches,
  type PoolContract,
  type ClusterDataPlane,
} from '../model/common.js';
import type { PlanError, PlanWarning, Reason, FieldDiff } from '../model/plan.js';
import {
  locationOf,
  type PoolDecision,
  type QueueDecision,
  knownContract,
  type ClusterDecision,
  PlanIndex,
} from './context.js';
import { CONTRACT_UNKNOWN, type DesiredPool, type DesiredCluster } from '../model/desired.js';
import type { LivePool, LiveCluster } from '../model/live.js';
import {
  makeChange,
  diffForms,
  poolForm,
  clusterForm,
  registrationForm,
  type Form,
} from './forms.js';
import { planError, reasonOf, warning } from './reasons.js';

/**
 * Starts from the clusters that can leave (canLeave) and plans again with those that do leave
 * until the two sets are equal. Why it ends:
 * - every set is a subset of the live clusters;
 * - a cluster depends on the pools only through its destination's final contract, and a
 *   declared data plane matches the declared contract (V6), so a freed pool only unblocks
 *   clusters moving into it: the sets only shrink, within |live clusters| + 1 rounds;
 * - a reported data plane (cluster_move) can break that order; the loop then also ends when a
 *   set repeats an earlier one (both passes are functions of it), and after |live clusters| + 1
 *   rounds in any case. `stuck`: declared queues whose repointing is blocked (unpin_first).
 */
export function planPoolsAndClusters(ix: PlanIndex, stuck: ReadonlySet<string> = new Set()) {
  const limit = ix.lClusters.size + 1;
  const tried: ReadonlySet<string>[] = [];
  let assumed: ReadonlySet<string> = canLeave(ix);
  for (let round = 1; ; round++) {
    const pools = planPools(ix, assumed);
    const clusters = planClusters(ix, pools.pools, stuck);
    const leaving = new Set([...clusters.deletedClusters, ...clusters.movedClusters]);
    tried.push(assumed);
    if (round >= limit || tried.some((s) => sameSet(s, leaving)))
      return { ...pools, ...clusters, rounds: round };
    assumed = leaving;
  }
}

/**
 * The live clusters that can leave their pool: pruned, declared in another pool, or replaced in
 * their own (`--replace`). The cluster pass takes out those it blocks.
 */
function canLeave(ix: PlanIndex): Set<string> {
  const out = new Set<string>();
  for (const l of ix.live.clusters) {
    const d = ix.dClusters.get(l.name);
    const moving = d !== undefined && d.pool !== l.pool;
    const replaced = d !== undefined && ix.forceReplace.has(address('Cluster', l.name));
    if ((!d && ix.prunes('Cluster', l.name)) || moving || replaced) out.add(l.name);
  }
  return out;
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) =>
  a.size === b.size && [...a].every((x) => b.has(x));

/** The pool pass's input: the live clusters it may take as gone (P5 rule 5), and its errors. */
interface PoolInput {
  readonly ix: PlanIndex;
  readonly leavingClusters: ReadonlySet<string>;
  readonly errors: PlanError[];
}

function planPools(ix: PlanIndex, leavingClusters: ReadonlySet<string>) {
  const errors: PlanError[] = [];
  const input: PoolInput = { ix, leavingClusters, errors };
  const pools = new Map<string, PoolDecision>();
  for (const name of PlanIndex.union(ix.dPools.keys(), ix.lPools.keys())) {
    const d = planPool(input, name);
    if (d) pools.set(name, d);
  }
  return { pools, errors };
}

function planPool(ctx: PoolInput, name: string): PoolDecision | undefined {
  const ix = ctx.ix;
  const declared = ix.dPools.get(name);
  const l = ix.lPools.get(name);
  const deleted = declared && !l && ix.caps.soft_delete ? ix.lDeletedPools.get(name) : undefined;
  if (declared && deleted) return planPoolUndelete(ix, declared, deleted);
  if (declared && declared.contract === null) return planUnknownContract(ctx, declared, l);
  const d = declared as (DesiredPool & { contract: PoolContract }) | undefined;
  if (d && l) return planDeclaredLivePool(ctx, name, d, l);
  if (l) return planUndeclaredPool(ctx, name, l);
  if (!d) return undefined;
  const after = poolForm(d.contract);
  return {
    change: makeChange('ClusterPool', name, 'create', null, after, null),
    creates: true,
    finalContract: d.contract,
  };
}

/** A pool both declared and live: kept, updated (pool_update), replaced or blocked (P4). */
function planDeclaredLivePool(
  ctx: PoolInput,
  name: string,
  d: DesiredPool & { contract: PoolContract },
  l: LivePool,
): PoolDecision {
  const addr = address('ClusterPool', name);
  // Union shows no contracts (docs/union.md): the declared one is taken as the live one.
  if (l.contract_known === false) return keep(name, d.contract, poolForm(d.contract));
  const before = poolForm(l.contract);
  const after = poolForm(d.contract);
  // P4: every contract field is immutable.
  const diff = diffForms(before, after, () => true);
  if (diff.length === 0 && !ctx.ix.forceReplace.has(addr)) return keep(name, l.contract, before);
  // pool_update (P4 lifted): in place, no delete, so no P5; staying members must match (C4, C5).
  if (ctx.ix.caps.pool_update) {
    const update = diffForms(before, after);
    const mismatched = (ctx.ix.lClustersByPool.get(name) ?? []).flatMap((c) => {
      const reported = ctx.leavingClusters.has(c) ? null : ctx.ix.reported(c);
      const m = reported ? dataPlaneMismatches(d.contract, reported) : [];
      return m.length > 0 ? [{ cluster: address('Cluster', c), m }] : [];
    });
    if (mismatched.length > 0) {
      const reason = reasonOf('POOL_UPDATE_MISMATCH', {
        clusters: mismatched.map((x) => x.cluster),
        // How many of the fields (in order) are each cluster's.
        counts: mismatched.map((x) => x.m.length),
        fields: mismatched.flatMap((x) => x.m.map((y) => y.field)),
        declared: mismatched.flatMap((x) => x.m.map((y) => y.declared)),
      });
      return keep(name, l.contract, before, reason, update);
    }
    const change = makeChange('ClusterPool', name, 'update', before, after, update, {
      note: [reasonOf('POOL_UPDATED_IN_PLACE', {})],
    });
    return { change, updates: true, finalContract: d.contract };
  }
  const reason = replaceBlockedReason(ctx, name);
  if (reason) return keep(name, l.contract, before, reason, diff);
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
  // P1: the default pool is never deleted nor unmanaged unless listed absent (default_delete).
  if (name === DEFAULT_POOL && !ctx.ix.absent(addr)) return keep(name, l.contract, before);
  if (name !== DEFAULT_POOL && !ctx.ix.prunes('ClusterPool', name))
    return {
      change: ctx.ix.unmanagedChange('ClusterPool', name, before),
      finalContract: l.contract,
    };
  const gone = diffForms(before, null);
  const refs = liveReferences(ctx, name);
  const assignments = unmanagedAssignments(ctx.ix, name);
  const why =
    name === DEFAULT_POOL && !ctx.ix.caps.default_delete
      ? reasonOf('DEFAULT_POOL_ABSENT_NO_DELETE', {})
      : refs.length > 0
        ? reasonOf('POOL_REFERENCED', { pool: addr, refs, queue_delete: ctx.ix.caps.queue_delete })
        : assignments.length > 0
          ? reasonOf('POOL_DELETE_UNMANAGED_ASSIGNMENTS', { pool: addr, assignments })
          : null;
  if (why) return keep(name, l.contract, before, why, gone);
  return {
    change: makeChange('ClusterPool', name, 'delete', before, null, gone),
    deletes: true,
    finalContract: null,
  };
}

/**
 * A contract marked unknown (`poolsync/contract: unknown`, what `export` writes for Union): never
 * compared, created, replaced or updated; the pool must exist.
 */
function planUnknownContract(ctx: PoolInput, d: DesiredPool, l: LivePool | undefined) {
  const addr = address('ClusterPool', d.name);
  const unknown = { contract: CONTRACT_UNKNOWN };
  if (!l) {
    const why = reasonOf('POOL_CONTRACT_UNKNOWN', { pool: addr });
    ctx.errors.push(planError('POOL_CONTRACT_UNKNOWN', addr, { pool: addr }, locationOf(d.source)));
    return {
      change: makeChange('ClusterPool', d.name, 'blocked', null, unknown, [], { why }),
      finalContract: null,
    };
  }
  const contractKnown = l.contract_known !== false;
  const kept = keep(d.name, l.contract, contractKnown ? poolForm(l.contract) : unknown);
  return { ...kept, contractKnown };
}

/**
 * A declared pool whose change is blocked and that will not exist (a reserved name it cannot
 * undelete as declared): what needs it is blocked with it, not reported as naming no pool (C1, A1, Q1).
 */
export function poolBlocked(pools: ReadonlyMap<string, PoolDecision>, pool: string): boolean {
  const d = pools.get(pool);
  return d !== undefined && d.change.action === 'blocked' && !d.finalContract;
}

export const poolBlockedReason = (pool: string): Reason =>
  reasonOf('POOL_BLOCKED', { pool: address('ClusterPool', pool) });

/** The pool stays as it is: unchanged, or blocked for `why` with the diff it asked for. */
function keep(
  name: string,
  contract: PoolContract,
  form: Form | null,
  why?: Reason,
  diff: FieldDiff[] = [],
): PoolDecision {
  const change = makeChange('ClusterPool', name, why ? 'blocked' : 'noop', form, form, diff, {
    why,
  });
  return { change, finalContract: contract };
}

/** Clusters and queues referencing a live pool (P5), less those this plan takes away. */
function liveReferences({ ix, leavingClusters }: PoolInput, pool: string): string[] {
  const goes = (q: string) =>
    ix.leavingQueues.has(q) ||
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

function replaceBlockedReason(ctx: PoolInput, name: string): Reason | null {
  const ix = ctx.ix;
  if (name === DEFAULT_POOL) return reasonOf('DEFAULT_POOL_CONTRACT_FIXED', {});
  if (ix.caps.soft_delete) return reasonOf('REPLACE_NAME_RESERVED', { kind: 'pool' });
  const refs = liveReferences(ctx, name);
  if (refs.length > 0)
    return reasonOf('POOL_REPLACE_REFERENCED', { refs, queue_delete: ix.caps.queue_delete });
  // A3: a replace removes and sets again the assignments naming it: not an unmanaged one.
  const assignments = unmanagedAssignments(ix, name);
  if (assignments.length > 0)
    return reasonOf('POOL_REPLACE_UNMANAGED_ASSIGNMENTS', { assignments });
  return null;
}

/** A3: the live assignments naming the pool that the plan may not remove (they block a delete). */
function unmanagedAssignments(ix: PlanIndex, pool: string): string[] {
  return (ix.lAssignmentsByPool.get(pool) ?? [])
    .filter((k) => !ix.dAssignments.has(k) && !ix.prunes('PoolAssignment', k))
    .map((k) => address('PoolAssignment', k));
}

/**
 * soft_delete: a deleted pool's name stays reserved (Create is refused until Undelete,
 * flyteplugins-union 0.19.1 remote/_cluster_pool.py `delete`), so a declared one is undeleted with
 * its old contract, then `update_pool` if it differs. Undelete needs only the pool deleted (ibid.).
 */
function planPoolUndelete(ctx: PlanIndex, d: DesiredPool, deleted: LivePool): PoolDecision {
  const name = d.name;
  const before = poolForm(deleted.contract);
  const want: PoolContract | null = d.contract;
  // Unknown on either side: nothing to compare, the pool comes back as it was.
  if (want === null || deleted.contract_known === false) {
    const change = makeChange('ClusterPool', name, 'create', null, before, [], {
      note: [reasonOf('POOL_UNDELETED', { name, updated: false })],
    });
    const contractKnown = deleted.contract_known !== false;
    return { change, undeletes: true, finalContract: deleted.contract, contractKnown };
  }
  const after = poolForm(want);
  const diff = diffForms(before, after);
  if (diff.length > 0 && !ctx.caps.pool_update) {
    const change = makeChange('ClusterPool', name, 'blocked', null, null, diffForms(null, after), {
      why: reasonOf('POOL_UNDELETE_CONTRACT_DIFFERS', { name, pool: address('ClusterPool', name) }),
    });
    return { change, finalContract: null };
  }
  const change = makeChange('ClusterPool', name, 'create', null, after, diff, {
    note: [reasonOf('POOL_UNDELETED', { name, updated: diff.length > 0 })],
  });
  return { change, undeletes: true, updates: diff.length > 0, finalContract: want };
}

/**
 * The pool pass counts a queue moving to another pool as gone from it (P5); when the queue pass
 * refuses that move, the pool stays, blocked, naming the queues.
 */
export function finalPools(
  ix: PlanIndex,
  pools: ReadonlyMap<string, PoolDecision>,
  queues: ReadonlyMap<string, QueueDecision>,
): ReadonlyMap<string, PoolDecision> {
  let out: Map<string, PoolDecision> | null = null;
  for (const [name, d] of pools) {
    if (!d.deletes) continue;
    const stay = (ix.lQueuesByPool.get(name) ?? []).filter(
      (q) => ix.leavingQueues.has(q) && !queues.get(q)?.deletes && !queues.get(q)?.moves,
    );
    if (stay.length === 0) continue;
    out ??= new Map(pools);
    const held = stay.map((q) => address('Queue', q));
    const why = reasonOf('POOL_KEPT_BY_REFUSED_MOVES', { queues: held });
    const { before, diff } = d.change;
    out.set(name, keep(name, ix.lPools.get(name)!.contract, before, why, diff));
  }
  return out ?? pools;
}

interface ClusterInput {
  readonly ix: PlanIndex;
  readonly pools: ReadonlyMap<string, PoolDecision>;
  /** Declared queues whose repointing is blocked: their pins stay (pinnedReason). */
  readonly stuck: ReadonlySet<string>;
  readonly warnings: PlanWarning[];
}

/**
 * Cluster changes: register (C1, C2, C4, N2), enable/disable in place (C6), replace when the
 * pool changes (C7), prune. Warns CONAMED_QUEUE_ORPHANED (C7) and DATA_PLANE_UNVERIFIED.
 */
function planClusters(
  ix: PlanIndex,
  pools: ReadonlyMap<string, PoolDecision>,
  stuck: ReadonlySet<string>,
) {
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
  const before = l ? clusterForm(l) : null;

  if (!d) return l && planUndeclaredCluster(ctx, name, l, before);
  const deleted = !l && ix.caps.soft_delete ? ix.lDeletedClusters.get(name) : undefined;
  if (deleted) return planClusterUndelete(ctx, d, deleted);

  const after = clusterForm(d);
  // No address a cluster unless something is forced (--replace).
  const forced = ix.forceReplace.size > 0 && ix.forceReplace.has(address('Cluster', name));
  if (l && l.pool === d.pool && !forced) {
    const diff = diffForms(before, after);
    const drains = l.enabled && !d.enabled;
    const pinned = drains ? pinnedReason(ctx, name, 'drain') : null;
    if (pinned) return leftAsItIs(name, l, before, after, diff, pinned);
    // Union refuses a drain while apps are assigned to the cluster, which no read shows.
    const note = drains && ix.caps.unpin_first ? reasonOf('CLUSTER_DRAIN_APPS', {}) : null;
    const action = diff.length ? 'update' : 'noop';
    const change = makeChange(
      'Cluster',
      name,
      action,
      before,
      after,
      diff,
      note ? { note: [note] } : {},
    );
    return { change, final: { pool: d.pool, enabled: d.enabled, health: l.health } };
  }
  // --replace in its own pool is never a move (Union refuses one to the pool it is in,
  // remote/_cluster.py:323-324): a delete and a registration, or blocked (issue 73 item 5).
  if (l && ix.caps.cluster_move && l.pool !== d.pool) return planMove(ctx, l, d);
  return planRegistration(ctx, name, d, l, before, registrationForm(d));
}

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
      final: { pool: l.pool, enabled: l.enabled, health: l.health },
    };
  }
  const pinned = deleteBlockedReason(ctx, name);
  if (pinned) return leftAsItIs(name, l, before, null, diffForms(before, null), pinned);
  return {
    change: makeChange('Cluster', name, 'delete', before, null, diffForms(before, null)),
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
  // Soft deletes keep a deleted cluster's name (with queue_delete: embedded/state.ts deleteCluster).
  const reserved = l && ctx.ix.caps.soft_delete && ctx.ix.caps.queue_delete;
  const blocked =
    registrationBlockedReason(ctx, d) ??
    (reserved
      ? // Forced in its own pool: there is no move to offer instead (issue 73 item 5).
        l.pool === d.pool
        ? reasonOf('REPLACE_IN_POOL_NAME_RESERVED', { pool: d.pool })
        : reasonOf('REPLACE_NAME_RESERVED', { kind: 'cluster' })
      : null) ??
    (l ? deleteBlockedReason(ctx, name) : null);
  // C7: the pool forces the replace. No closure for it: one a registration (~20,000).
  if (blocked)
    return leftAsItIs(name, l, before, before, diffForms(before, after, isPool), blocked);
  warnOrphanedQueue(ctx, d, l?.pool ?? null);
  const diff = before && diffForms(before, after, isPool);
  return {
    change: makeChange('Cluster', name, l ? 'replace' : 'create', before, after, diff),
    registers: true,
    deletes: l !== undefined,
    final: { pool: d.pool, enabled: d.enabled, health: 'unknown' },
  };
}

const isPool = (path: string): boolean => path === 'pool';

/**
 * `cluster_move` (C7 lifted): the pool changes in place once the queues routing only to it are
 * idle; the co-named queue moves along (no C7 trap). Blocked only by a reported or declared data
 * plane that differs from the destination's contract (C4); none reported: DATA_PLANE_UNVERIFIED.
 */
function planMove(ctx: ClusterInput, l: LiveCluster, d: DesiredCluster): ClusterDecision {
  const { name, pool, enabled, data_plane: declared } = d;
  const before = clusterForm(l);
  const after = clusterForm(d);
  const diff = diffForms(before, after);
  const contract = knownContract(ctx.pools, pool);
  const reported = ctx.ix.reported(name);
  // Its co-named queue is drained for the move (U23): never one being deleted (issue 73 item 4:
  // the drain would be a step for a change the plan shows blocked, QUEUE_DELETING).
  const deleting =
    ctx.ix.caps.drain && ctx.ix.lQueues.get(name)?.state === 'deleting'
      ? reasonOf('CLUSTER_MOVE_CONAMED_DELETING', { name })
      : null;
  const blocked =
    deleting ??
    pinnedReason(ctx, name, 'move') ??
    moveBlockedReason(pool, contract, reported, declared);
  if (blocked) return leftAsItIs(name, l, before, before, diff, blocked);
  const note = reasonOf('CLUSTER_MOVED_IN_PLACE', {
    from: l.pool,
    pool,
    drain: ctx.ix.caps.drain,
    queue: address('Queue', name),
  });
  const change = makeChange('Cluster', name, 'update', before, after, diff, { note: [note] });
  if (!reported) warnUnverified(ctx, l, d, contract);
  return { change, moves: true, final: { pool, enabled, health: l.health } };
}

/**
 * unpin_first (remote/_cluster.py:330-331, 363-365, 450-451): Union refuses to drain, move or
 * delete a cluster another live queue pins when the step runs (PlanIndex.pinsLeft).
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

function leftAsItIs(
  name: string,
  l: LiveCluster | undefined,
  before: Form | null,
  after: Form | null,
  diff: FieldDiff[],
  reason: Reason,
): ClusterDecision {
  return {
    change: makeChange('Cluster', name, 'blocked', before, after ?? before, diff, { why: reason }),
    final: l ? { pool: l.pool, enabled: l.enabled, health: l.health } : null,
  };
}

/** C4: a reported or declared data plane that differs from the contract blocks a move. */
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

/** A move planned without any report to check it against (C4, C5). */
function warnUnverified(
  ctx: ClusterInput,
  l: LiveCluster,
  { pool, data_plane: declared }: DesiredCluster,
  contract: PoolContract | null,
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
function registrationBlockedReason(ctx: ClusterInput, d: DesiredCluster): Reason | null {
  const { name, pool, data_plane: dataPlane } = d;
  if (poolBlocked(ctx.pools, pool)) return poolBlockedReason(pool);
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
function warnOrphanedQueue(ctx: ClusterInput, d: DesiredCluster, livePool: string | null): void {
  const { name, pool } = d;
  const queue = ctx.ix.lQueues.get(name);
  // With queue_delete the delete takes the old co-named queue with it (queues.ts).
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

/**
 * soft_delete (flyteplugins-union 0.19.1, remote/_cluster.py `delete`, `undelete`): a deleted
 * cluster's name stays reserved until UndeleteCluster; it comes back DRAINED in its old pool
 * (which must be live), with its co-named queue, then is moved (`cluster_move`) if declared
 * elsewhere. Why it cannot come back, or null.
 */
function clusterUndeleteBlockedReason(
  { ix, pools }: ClusterInput,
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
  if (!ix.caps.cluster_move)
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

function planClusterUndelete(ctx: ClusterInput, d: DesiredCluster, deleted: LiveCluster) {
  const name = d.name;
  const after = clusterForm(d);
  // Undeleted, it takes no work until enabled (C6).
  const diff = diffForms(clusterForm({ ...deleted, enabled: false }), after);
  const why = clusterUndeleteBlockedReason(ctx, d, deleted);
  if (why)
    return {
      change: makeChange('Cluster', name, 'blocked', null, null, diffForms(null, after), { why }),
      final: null,
    };
  const moves = d.pool !== deleted.pool;
  const note = reasonOf('CLUSTER_UNDELETED', {
    name,
    from: deleted.pool,
    to: moves ? d.pool : null,
    enabled: d.enabled,
  });
  const change = makeChange('Cluster', name, 'create', null, after, diff, { note: [note] });
  const final = { pool: d.pool, enabled: d.enabled, health: deleted.health };
  return { change, undeletes: { pool: deleted.pool }, moves, final };
}
