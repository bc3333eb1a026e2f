/** Shared pieces of the text and markdown renderers. */
import type { Change, FieldDiff, Plan, PlanSummary } from '../model/plan.js';

export const SYMBOL: Record<Change['action'], string> = {
  create: '+',
  update: '~',
  replace: '-/+',
  delete: '-',
  blocked: '!',
  unmanaged: '?',
  noop: ' ',
};

/** `N to create, N to update, N to replace, N to delete, N blocked` (plan.md's counts). */
export function summaryCounts(s: PlanSummary): string {
  return `${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete, ${s.blocked} blocked`;
}

/**
 * `Plan: N to create, N to update, N to replace, N to delete, N blocked.` It counts what
 * poolsync does: side effects (sideEffectLine) are left out. `plan.summary` (the JSON) keeps
 * counting every change by action.
 */
export function closingLine(plan: Plan): string {
  const counts = { ...plan.summary };
  for (const c of sideEffects(plan)) counts[c.action] -= 1;
  return `Plan: ${summaryCounts(counts)}.`;
}

/**
 * Changes the control plane makes by itself as the effect of another object's step (C2/C3
 * queues created by a registration, C8 selectors pruned by a delete): nothing is sent for
 * them, so the closing line does not count them.
 */
export function sideEffects(plan: Plan): Change[] {
  const targets = new Set(plan.steps.map((s) => s.target));
  return plan.changes.filter(
    (c) =>
      c.caused_by &&
      !targets.has(c.address) &&
      c.action !== 'noop' &&
      c.action !== 'blocked' &&
      c.action !== 'unmanaged',
  );
}

/** The line after the closing line when some changes are side effects; null otherwise. */
export function sideEffectLine(plan: Plan): string | null {
  const n = sideEffects(plan).length;
  if (n === 0) return null;
  return `${n === 1 ? '1 more change follows' : `${n} more changes follow`} from these steps (marked #): the control plane makes ${n === 1 ? 'it' : 'them'} itself, nothing is sent.`;
}

/** True when applying the plan would send nothing and nothing is blocked. */
export function hasNoChanges(plan: Plan): boolean {
  const s = plan.summary;
  return s.create + s.update + s.replace + s.delete + s.blocked === 0;
}

export function formatValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (value === undefined) return 'null';
  return JSON.stringify(value);
}

/** Why a change without a step of its own happens (C2, C3, C8, A3). */
export function causeNote(change: Change): string | null {
  const by = change.caused_by;
  if (!by) return null;
  if (change.kind === 'Queue' && change.action === 'create') {
    return change.name === 'default'
      ? `recreated by registering ${by} (C3)`
      : `created by registering ${by} (C2)`;
  }
  if (change.kind === 'PoolAssignment')
    return `removed and set again around the replacement of ${by} (A3)`;
  if (by.startsWith('Cluster/') && change.kind === 'Queue')
    return `${by} is deleted: its name leaves the selector (C8)`;
  return `caused by ${by}`;
}

/** The field lines of a change: `path = value` for creates, `path: before → after` otherwise. */
export function fieldLines(change: Change): { text: string; forces: boolean }[] {
  if (change.action === 'delete') return [];
  const width = Math.max(0, ...change.diff.map((d) => d.path.length));
  return change.diff.map((d: FieldDiff) => {
    const text =
      change.action === 'create'
        ? `${d.path.padEnd(width)} = ${formatValue(d.after)}`
        : `${`${d.path}:`.padEnd(width + 1)} ${formatValue(d.before)} → ${formatValue(d.after)}`;
    return { text, forces: d.forces_replacement };
  });
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function visibleChanges(plan: Plan): Change[] {
  return plan.changes.filter((c) => c.action !== 'noop');
}
