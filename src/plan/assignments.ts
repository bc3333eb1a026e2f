/**
 * Pool assignments (A1–A3): set (upsert) to create or update, delete with prune, and removed
 * then set again around the replacement of the pool they name (A3).
 */
import { address } from '../model/common.js';
import type { DesiredAssignment } from '../model/desired.js';
import type { LiveAssignment } from '../model/live.js';
import { makeChange } from './change.js';
import { PlanContext, type AssignmentDecision } from './context.js';
import { assignmentForm, diffForms, type Form } from './forms.js';

export function planAssignments(ctx: PlanContext): void {
  for (const key of PlanContext.union(ctx.dAssignments.keys(), ctx.lAssignments.keys())) {
    const d = ctx.dAssignments.get(key);
    const l = ctx.lAssignments.get(key);
    const before = l ? assignmentForm(l) : null;
    const livePool = l?.pool ?? null;
    if (!d) {
      if (!l) continue;
      ctx.assignments.set(key, undeclaredAssignment(ctx, key, before, livePool));
      continue;
    }
    ctx.assignments.set(key, declaredAssignment(ctx, key, d, l, before, livePool));
  }
}

/** A live assignment nothing declares: deleted with prune, otherwise left unmanaged. */
function undeclaredAssignment(
  ctx: PlanContext,
  key: string,
  before: Form | null,
  livePool: string | null,
): AssignmentDecision {
  const remove = ctx.prunes('PoolAssignment', key);
  return {
    change: remove
      ? makeChange('PoolAssignment', key, 'delete', before, null, diffForms(before, null))
      : makeChange(
          'PoolAssignment',
          key,
          'unmanaged',
          before,
          before,
          [],
          ctx.unmanagedReason('PoolAssignment'),
        ),
    set: false,
    remove,
    livePool,
    finalPool: remove ? null : livePool,
  };
}

/** A declared assignment: replaced around its pool's replacement (A3), otherwise set or kept. */
function declaredAssignment(
  ctx: PlanContext,
  key: string,
  d: DesiredAssignment,
  l: LiveAssignment | undefined,
  before: Form | null,
  livePool: string | null,
): AssignmentDecision {
  const after = assignmentForm(d);
  const diff = diffForms(before, after);
  const poolReplaced = ctx.pools.get(d.pool)?.change.action === 'replace';
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
