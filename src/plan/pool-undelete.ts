/**
 * Soft deletes (capability `soft_delete`, Union today): a pool the repository declares whose
 * name belongs to a deleted pool cannot be created (its name stays reserved: Create is refused
 * until Undelete, Union's client flyteplugins-union 0.19.1 remote/_cluster_pool.py `delete`).
 * It is undeleted instead: `ClusterPoolService/Undelete` brings it back with the contract it had
 * (`undelete`), then, when the repository's contract differs, `update_pool` (pool_update) changes
 * it in place. Undelete has no precondition but the pool being deleted (same docstring).
 */
import { address, type PoolContract } from '../model/common.js';
import type { DesiredPool } from '../model/desired.js';
import type { LivePool } from '../model/live.js';
import { makeChange } from './change.js';
import type { PoolDecision } from './context.js';
import type { PlanIndex } from './plan-index.js';
import { diffForms, poolForm } from './forms.js';
import { reasonOf, reasonText } from './reasons.js';

/** The deleted pool of this declared name, when the control plane has soft deletes. */
export function deletedPool(ctx: PlanIndex, name: string): LivePool | undefined {
  return ctx.caps.soft_delete ? ctx.lDeletedPools.get(name) : undefined;
}

/**
 * Plans the undelete of `deleted` for the declared pool `d` (its contract null: marked unknown,
 * so it comes back with whatever contract it had).
 */
export function planPoolUndelete(ctx: PlanIndex, d: DesiredPool, deleted: LivePool): PoolDecision {
  const name = d.name;
  const before = poolForm(deleted.contract);
  const want: PoolContract | null = d.contract;
  // Unknown on either side: nothing to compare, the pool comes back as it was.
  if (want === null || deleted.contract_known === false) {
    const change = makeChange('ClusterPool', name, 'create', null, before, [], null, null, {
      note: reasonText(reasonOf('POOL_UNDELETED', { name, updated: false }))!,
    });
    return {
      change,
      creates: false,
      deletes: false,
      undeletes: true,
      finalContract: deleted.contract,
      ...(deleted.contract_known === false ? { contractKnown: false as const } : {}),
    };
  }
  const after = poolForm(want);
  const diff = diffForms(before, after);
  if (diff.length > 0 && !ctx.caps.pool_update) {
    const change = makeChange(
      'ClusterPool',
      name,
      'blocked',
      null,
      null,
      diffForms(null, after),
      reasonOf('POOL_UNDELETE_CONTRACT_DIFFERS', { name, pool: address('ClusterPool', name) }),
    );
    return { change, creates: false, deletes: false, finalContract: null };
  }
  const change = makeChange('ClusterPool', name, 'create', null, after, diff, null, null, {
    note: reasonText(reasonOf('POOL_UNDELETED', { name, updated: diff.length > 0 }))!,
  });
  return {
    change,
    creates: false,
    deletes: false,
    undeletes: true,
    ...(diff.length > 0 ? { updates: true } : {}),
    finalContract: want,
  };
}
