/** The plan.md JSON format, whole or in parts. */
import type { Change, Plan, PlanError, PlanWarning } from '../model/plan.js';
import { escapeJsonForTerminal } from '../util/terminal-text.js';
import { countPlan } from '../plan/counts.js';
import { errorText, isReason, reasonInJson, reasonText } from './reasons.js';
import { noteText, unverifiedText, warningText, whyText } from './common.js';
import { jsonParts } from '../util/json-parts.js';

/**
 * The plan.md JSON format: the Plan object as-is (schemas/plan.schema.json), 2-space indented,
 * with `counts` (the one count, src/plan/counts.ts) after `summary`.
 */
export function renderJson(plan: Plan): string {
  // The same JSON value, with the characters a terminal would obey written as \u escapes.
  return escapeJsonForTerminal(JSON.stringify(planDocument(plan), null, 2)) + '\n';
}

/**
 * `renderJson` in parts whose concatenation is exactly its text (util/json-parts.ts). At
 * 100,000 objects the JSON runs to ~130 MB: a writer that hands each part on never holds it whole.
 */
export function* renderJsonParts(plan: Plan): Generator<string> {
  for (const part of jsonParts(planDocument(plan), 2, 2)) yield escapeJsonForTerminal(part);
  yield '\n';
}

/** The plan as its JSON document: its members in order, with `counts` after `summary`. */
export function planDocument(plan: Plan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(plan)) {
    if (key === 'counts') continue;
    out[key] = key in AS_JSON ? AS_JSON[key as keyof typeof AS_JSON](value as never) : value;
    if (key === 'summary') out.counts = countPlan(plan);
  }
  return out;
}

/**
 * Reasons as data the JSON format carries (`why`, a warning's `params`): only for the codes it
 * carried before (reasons.ts, reasonInJson); the others are their words (`reason`,
 * `message`) alone, so the JSON is what it was.
 */
const AS_JSON = {
  changes: (changes: readonly Change[]) => changes.map(changeDocument),
  warnings: (warnings: readonly PlanWarning[]) => warnings.map((w) => warningDocument(w)),
  errors: (errors: readonly PlanError[]) => errors.map(errorDocument),
};

/** A plan error as the plan JSON writes it: `message` in words (errorText), no `params`. */
function errorDocument(e: PlanError): PlanError {
  if (Object.hasOwn(e, 'message')) {
    const { params: _data, ...rest } = e;
    return rest;
  }
  return { code: e.code, address: e.address, message: errorText(e), location: e.location };
}

/**
 * A warning as the plan JSON writes it: `message` in words (warningText), and `params` (a
 * parameter that is a reason in words) for a code the JSON carries as data, or for any code
 * with `allParams` (/status). A warning read from a plan file keeps the words it has.
 */
export function warningDocument(w: PlanWarning, allParams = false): PlanWarning {
  const shown = w.params && (allParams || reasonInJson(w.code));
  const params = shown
    ? Object.fromEntries(
        Object.entries(w.params!).map(([k, v]) => [k, isReason(v) ? reasonText(v) : v]),
      )
    : undefined;
  const { params: _stored, ...rest } = w;
  const doc = Object.hasOwn(w, 'message')
    ? rest
    : { code: w.code, address: w.address, message: warningText(w) };
  return params ? { ...doc, params } : doc;
}

/**
 * A change as the plan JSON writes it: `reason`, its words (whyText), after `diff`, `note` and
 * `unverified` in words, and `why` only for a code the JSON carries. A change read from a plan
 * file keeps the words it has.
 */
export function changeDocument(change: Change): Change {
  const out: Record<string, unknown> = {};
  const worded = Object.hasOwn(change, 'reason');
  for (const [key, value] of Object.entries(change)) {
    if (key === 'why' && change.why && !reasonInJson(change.why.code)) continue;
    out[key] =
      key === 'note' ? noteText(change) : key === 'unverified' ? unverifiedText(change) : value;
    if (key === 'diff' && !worded) out.reason = whyText(change);
  }
  return out as unknown as Change;
}
