/**
 * `poolsync apply --output json`: the one JSON document apply prints on stdout when it is done
 * (schemas/apply-result.schema.json, docs/apply.md#json-output). Built from the plan and the
 * executor's result only; the exit code is part of it, so a script reads one value.
 */
import type { Plan } from '../model/plan.js';
import { escapeJsonForTerminal } from '../util/terminal-text.js';
import { emptyCounts, type PlanCounts } from '../plan/counts.js';
import type { ApplyResult, StepStatus } from './types.js';

export const APPLY_RESULT_FORMAT_VERSION = '1';

/** What happened, as one word; `exit_code` follows from it (docs/apply.md, Exit status). */
export type ApplyOutcome =
  'applied' | 'no_changes' | 'manual_steps_left' | 'failed' | 'interrupted';

const EXIT_CODE: Record<ApplyOutcome, 0 | 1 | 2> = {
  applied: 0,
  no_changes: 0,
  manual_steps_left: 2,
  failed: 1,
  interrupted: 1,
};

/** The outcome of a finished apply; null result: there was no step to run. */
export function applyOutcome(result: ApplyResult | null): ApplyOutcome {
  if (result === null) return 'no_changes';
  if (result.ok) return 'applied';
  if (result.aborted) return 'interrupted';
  const stopped = result.steps.some((s) => s.status === 'failed' || s.status === 'not_run');
  return stopped || result.manual.length === 0 ? 'failed' : 'manual_steps_left';
}

export function applyExitCode(outcome: ApplyOutcome): 0 | 1 | 2 {
  return EXIT_CODE[outcome];
}

/**
 * The plan's one count (src/plan/counts.ts) as the document names it: in the past tense, what
 * the done steps changed (schemas/apply-result.schema.json).
 */
export interface ApplyCountsJson {
  created: number;
  updated: number;
  replaced: number;
  deleted: number;
  blocked: number;
  side_effects: number;
}

function countsJson(c: PlanCounts): ApplyCountsJson {
  return {
    created: c.create,
    updated: c.update,
    replaced: c.replace,
    deleted: c.delete,
    blocked: c.blocked,
    side_effects: c.side_effects,
  };
}

/** The document, members in this order; `result` null when the plan had no step. */
export function applyResultDocument(
  plan: Plan,
  result: ApplyResult | null,
): Record<string, unknown> {
  const outcome = applyOutcome(result);
  const byStatus: Record<StepStatus, number> = {
    done: 0,
    failed: 0,
    not_run: 0,
    manual: 0,
    waiting: 0,
  };
  for (const s of result?.steps ?? []) byStatus[s.status] += 1;
  const none: PlanCounts = { ...emptyCounts(), blocked: plan.summary.blocked ?? 0 };
  return {
    format_version: APPLY_RESULT_FORMAT_VERSION,
    outcome,
    exit_code: applyExitCode(outcome),
    control_plane: plan.control_plane ?? null,
    commit: plan.commit,
    counts: countsJson(result?.counts ?? none),
    steps_by_status: byStatus,
    steps: (result?.steps ?? []).map((s) => ({
      id: s.id,
      op: s.op,
      target: s.target,
      status: s.status,
      duration_ms: s.duration_ms,
      error: s.error,
      note: s.note,
    })),
    applied: result?.applied ?? [],
    manual: result?.manual ?? [],
    duration_ms: result?.duration_ms ?? 0,
  };
}

/** The document as printed: 2-space indented, characters a terminal would obey as \u escapes. */
export function renderApplyJson(plan: Plan, result: ApplyResult | null): string {
  return escapeJsonForTerminal(JSON.stringify(applyResultDocument(plan, result), null, 2)) + '\n';
}
