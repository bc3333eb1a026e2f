/** The plan.md JSON format, whole or in parts. */
import type { Change, Plan, PlanError, PlanWarning } from '../model/plan.js';
import { escapeJsonForTerminal } from '../util/terminal-text.js';
import { countPlan } from '../plan/counts.js';
import { errorText, isReason, reasonInJson, reasonText } from './reasons.js';
import { inWords, noteText, warningText, whyText } from './common.js';
import { jsonParts } from '../util/json-parts.js';

/** The Plan object as-is (schemas/plan.schema.json), 2-space indented. */
export function renderJson(plan: Plan): string {
  return [...renderJsonParts(plan)].join('');
}

/** `renderJson` in parts, terminal controls as \u escapes: at 100,000 objects it is ~130 MB. */
export function* renderJsonParts(plan: Plan): Generator<string> {
  for (const part of jsonParts(planDocument(plan), 2, 2)) yield escapeJsonForTerminal(part);
  yield '\n';
}

/** The JSON document: the members in order, `counts` (src/plan/counts.ts) after `summary`. */
export function planDocument(plan: Plan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(plan)) {
    if (key === 'counts') continue;
    out[key] = key in AS_JSON ? AS_JSON[key as keyof typeof AS_JSON](value as never) : value;
    if (key === 'summary') out.counts = countPlan(plan);
  }
  return out;
}

/** Reasons as data only for the codes the JSON carried before (reasonInJson), else words. */
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
 * A warning as the plan JSON writes it: `message` in words, `params` (reasons in words) for a
 * code it carries as data or with `allParams` (/status); one read from a plan file keeps its words.
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
 * A change as the plan JSON writes it: `reason` after `diff`, `note` and `unverified` in words,
 * `why` only for a code it carries; one read from a plan file keeps its words.
 */
export function changeDocument(change: Change): Change {
  const out: Record<string, unknown> = {};
  const worded = Object.hasOwn(change, 'reason');
  // for-in, not Object.entries: an array per member was ~1,000,000 of them for a plan of
  // 100,000 creates (a change has no inherited members: plain data).
  for (const key in change) {
    const value = change[key as keyof Change];
    if (key === 'why' && change.why && !reasonInJson(change.why.code)) continue;
    out[key] =
      key === 'note' ? noteText(change) : key === 'unverified' ? inWords(change.unverified) : value;
    if (key === 'diff' && !worded) out.reason = whyText(change);
  }
  return out as unknown as Change;
}
