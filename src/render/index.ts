/** Plan renderers (plan.md): text (Terraform-like), JSON (the plan as-is), markdown (PR comment). */
import type { Plan } from '../model/plan.js';
import { escapeJsonForTerminal } from '../util/terminal-text.js';
import { countPlan } from '../plan/counts.js';

export { ACTION_STYLE, renderText, type TextOptions } from './text.js';
export { code, markdownText, renderMarkdown, type MarkdownOptions } from './markdown.js';
export {
  closingLine,
  countsText,
  hasNoChanges,
  sideEffectLine,
  summaryCounts,
  SYMBOL,
} from './common.js';

/**
 * The plan.md JSON format: the Plan object as-is (schemas/plan.schema.json), 2-space indented,
 * with `counts` (the one count, src/plan/counts.ts) after `summary`.
 */
export function renderJson(plan: Plan): string {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(plan)) {
    if (key === 'counts') continue;
    out[key] = value;
    if (key === 'summary') out.counts = countPlan(plan);
  }
  // The same JSON value, with the characters a terminal would obey written as \u escapes.
  return escapeJsonForTerminal(JSON.stringify(out, null, 2)) + '\n';
}
