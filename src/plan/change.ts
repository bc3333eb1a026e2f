import { address, type ObjectKind } from '../model/common.js';
import type { Change, ChangeAction, FieldDiff, PlanSummary, Reason } from '../model/plan.js';
import { reasonText } from './reasons.js';
import type { Form } from './forms.js';

export function makeChange(
  kind: ObjectKind,
  name: string,
  action: ChangeAction,
  before: Form | null,
  after: Form | null,
  diff: FieldDiff[],
  /** Words, or a reason as data (its words become `reason`, the data `why`). */
  reason: string | Reason | null = null,
  causedBy: string | null = null,
): Change {
  const data = reason !== null && typeof reason === 'object' ? reason : null;
  const change: Change = {
    address: address(kind, name),
    kind,
    name,
    action,
    before,
    after,
    diff,
    reason: data ? reasonText(data) : (reason as string | null),
    destructive: action === 'delete' || action === 'replace',
    caused_by: causedBy,
  };
  if (data) change.why = data;
  return change;
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
