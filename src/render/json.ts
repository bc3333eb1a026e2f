/** The plan.md JSON format, whole or in parts. */
import type { Plan } from '../model/plan.js';
import { escapeJsonForTerminal } from '../util/terminal-text.js';
import { countPlan } from '../plan/counts.js';
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
    out[key] = value;
    if (key === 'summary') out.counts = countPlan(plan);
  }
  return out;
}
