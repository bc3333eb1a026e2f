/** Objects a plan updates that another poolsync of its repository wrote last (model/appliers.ts). */
import { writtenByAnother, type ApplierSource } from '../model/appliers.js';
import type { LiveState } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import { warning } from './reasons.js';

/**
 * The plan with an APPLIED_BY_ANOTHER_POOLSYNC warning for each object it updates or replaces
 * whose live form is what another poolsync of its repository last wrote: two of them undo each
 * other's changes (docs/daemon.md, Two poolsyncs on one control plane).
 */
export function appliedByAnother(plan: Plan, live: LiveState, me: ApplierSource | undefined): Plan {
  const repository = plan.inventory?.repository;
  const list = repository === undefined ? undefined : live.appliers?.[repository];
  if (!me || !list) return plan;
  const found = plan.changes.flatMap((c) => {
    if (c.action !== 'update' && c.action !== 'replace') return [];
    const by = writtenByAnother(list, me, c.address, c.before);
    if (by === null) return [];
    const { branch, commit, host, at } = by;
    return [
      warning('APPLIED_BY_ANOTHER_POOLSYNC', c.address, {
        address: c.address,
        branch,
        commit,
        host,
        at,
      }),
    ];
  });
  return found.length === 0 ? plan : { ...plan, warnings: [...plan.warnings, ...found] };
}
