/** Words of the plan's errors (PlanError.params; `message` is this text). */
import { list, s, type WordsTable } from './params.js';

export const ERRORS: WordsTable = {
  /** C1, A1: a cluster (`cluster`, its address) or an assignment (`assignment`, its name) names a pool no one has. */
  UNKNOWN_POOL: (p) =>
    p.assignment !== null
      ? `assignment "${s(p, 'assignment')}" names pool "${s(p, 'pool')}", which neither the repository nor the control plane has (A1)`
      : `${s(p, 'cluster')} names pool "${s(p, 'pool')}", which neither the repository nor the control plane has (C1)`,
  /** `fields` forcing replacement with their `before` and `after` (JSON), or the replaced `caused_by`. */
  PREVENT_DESTROY: (p) => {
    const before = list(p, 'before');
    const after = list(p, 'after');
    const what = list(p, 'fields')
      .map((f, i) => `${f}: ${before[i] ?? ''} → ${after[i] ?? ''}`)
      .join(', ');
    const because = p.caused_by !== null ? ` (because ${s(p, 'caused_by')} is replaced)` : '';
    return (
      `${s(p, 'address')} is annotated poolsync/prevent-destroy: "true", but this plan would ${s(p, 'action')} it` +
      `${what ? ` (${what})` : because}. ` +
      `Revert the change, or remove the annotation in a separate commit to allow it.`
    );
  },
};
