/**
 * Pool assignments (A1–A3): set (upsert) to create or update, delete with prune, and removed
 * then set again around the replacement of the pool they name (A3).
 */
import { address } from '../model/common.js';
import type { DesiredAssignment } from '../model/desired.js';
import type { LiveAssignment } from '../model/live.js';
import { makeChange } from './change.js';
import type { AssignmentDecision, PoolDecision } from './context.js';
import { PlanIndex } from './plan-index.js';
import { assignmentForm, diffForms, type Form } from './forms.js';

/** The assignment pass: each assignment's decision (by key, sorted), given the final pool decisions (A3). */
export function planAssignments(
  ctx: PlanIndex,
  pools: ReadonlyMap<string, PoolDecision>,
): ReadonlyMap<string, AssignmentDecision> {
  const out = new Map<string, AssignmentDecision>();
  for (const key of PlanIndex.union(ctx.dAssignments.keys(), ctx.lAssignments.keys())) {
    const d = ctx.dAssignments.get(key);
    const l = ctx.lAssignments.get(key);
    const before = l ? assignmentForm(l) : null;
    const livePool = l?.pool ?? null;
    if (!d) {
      if (!l) continue;
      out.set(key, undeclaredAssignment(ctx, key, before, livePool));
      continue;
    }
    const poolReplaced = pools.get(d.pool)?.change.action === 'replace';
    out.set(key, declaredAssignment(ctx, key, d, l, before, livePool, poolReplaced));
  }
  return out;
}

/** A live assignment nothing declares: deleted with prune, otherwise left unmanaged. */
function undeclaredAssignment(
  ctx: PlanIndex,
  key: string,
  before: Form | null,
  livePool: string | null,
): AssignmentDecision {
  const change = ctx.undeclaredChange('PoolAssignment', key, before);
  const remove = change.action === 'delete';
  return {
    change,
    set: false,
    remove,
    livePool,
    finalPool: remove ? null : livePool,
  };
}

/** A declared assignment: replaced around its pool's replacement (A3), otherwise set or kept. */
function declaredAssignment(
  ctx: PlanIndex,
  key: string,
  d: DesiredAssignment,
  l: LiveAssignment | undefined,
  before: Form | null,
  livePool: string | null,
  /** Its pool is replaced by this plan (A3). */
  poolReplaced: boolean,
): AssignmentDecision {
  const after = assignmentForm(d);
  const diff = diffForms(before, after);
  const forced = ctx.forceReplace.has(address('PoolAssignment', key));
  if (l && diff.length === 0 && (poolReplaced || forced)) {
    // A3: the pool's delete needs the assignment gone; it is set again once the pool exists.
    return {
      change: makeChange(
        'PoolAssignment',
        key,
        'replace',
        before,
        after,
        [],
        null,
        poolReplaced ? address('ClusterPool', d.pool) : null,
      ),
      set: true,
      remove: true,
      livePool,
      finalPool: d.pool,
    };
  }
  return {
    change: makeChange(
      'PoolAssignment',
      key,
      !l ? 'create' : diff.length ? 'update' : 'noop',
      before,
      after,
      diff,
    ),
    set: !l || diff.length > 0,
    remove: false,
    livePool,
    finalPool: d.pool,
  };
}
