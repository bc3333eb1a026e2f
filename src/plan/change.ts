import { address, type ObjectKind } from '../model/common.js';
import type { Change, ChangeAction, FieldDiff, PlanSummary, Reason } from '../model/plan.js';
import { reasonText } from './reasons.js';
import type { Form } from './forms.js';

/**
 * What a pass decides of a change beside its reason, given when the change is made (in the
 * order the pass decided them: the JSON lists a change's members in the order they were set).
 */
export type ChangeExtras = Pick<Change, 'caused_after' | 'cause' | 'note'>;

/**
 * A change, whole: no pass writes to a change once it is made (a pass that learns more of it
 * makes a new one, `changeWith`), so a decision read by a later pass cannot change under it.
 */
export function makeChange(
  kind: ObjectKind,
  name: string,
  action: ChangeAction,
  before: Form | null,
  after: Form | null,
  diff: FieldDiff[],
  /** Why, as data (`why`; its words, from the catalog, are `reason`). */
  why: Reason | null = null,
  causedBy: string | null = null,
  extras?: ChangeExtras,
): Change {
  return {
    address: address(kind, name),
    kind,
    name,
    action,
    before,
    after,
    diff,
    reason: why && reasonText(why),
    destructive: action === 'delete' || action === 'replace',
    caused_by: causedBy,
    ...(why ? { why } : {}),
    ...extras,
  };
}

/**
 * `change` with `fields` set, as a new change: its members in the same order, a member it did
 * not have last (as setting it would have put them, so the JSON is the same).
 */
export function changeWith(change: Change, fields: Partial<Change>): Change {
  return { ...change, ...fields };
}

/** A note added to the change's note (`; ` between them), as a new change. */
export function withNote(change: Change, note: string): Change {
  return changeWith(change, { note: change.note ? `${change.note}; ${note}` : note });
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
