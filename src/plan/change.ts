import { address, type ObjectKind } from '../model/common.js';
import type { Change, ChangeAction, FieldDiff, PlanSummary } from '../model/plan.js';
import type { Form } from './forms.js';

export function makeChange(
  kind: ObjectKind,
  name: string,
  action: ChangeAction,
  before: Form | null,
  after: Form | null,
  diff: FieldDiff[],
  reason: string | null = null,
  causedBy: string | null = null,
): Change {
  return {
    address: address(kind, name),
    kind,
    name,
    action,
    before,
    after,
    diff,
    reason,
    destructive: action === 'delete' || action === 'replace',
    caused_by: causedBy,
  };
}

/** The plan's summary: how many changes of each action. */
export function summarizeChanges(changes: readonly Change[]): PlanSummary {
  const summary: PlanSummary = {
    create: 0,
    update: 0,
    replace: 0,
    delete: 0,
    blocked: 0,
    unmanaged: 0,
    noop: 0,
  };
  for (const c of changes) summary[c.action] += 1;
  return summary;
}
