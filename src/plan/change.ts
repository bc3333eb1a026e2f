import { address, type ObjectKind } from '../model/common.js';
import type { Change, ChangeAction, FieldDiff } from '../model/plan.js';
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
