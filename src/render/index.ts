/** Plan renderers (plan.md): text (Terraform-like), JSON (the plan as-is), markdown (PR comment). */
import type { Plan } from '../model/plan.js';
import { escapeJsonForTerminal } from '../util/terminal-text.js';

export { ACTION_STYLE, renderText, type TextOptions } from './text.js';
export { code, markdownText, renderMarkdown, type MarkdownOptions } from './markdown.js';
export { closingLine, hasNoChanges, summaryCounts, SYMBOL } from './common.js';

/** The plan.md JSON format: the Plan object as-is (schemas/plan.schema.json), 2-space indented. */
export function renderJson(plan: Plan): string {
  // The same JSON value, with the characters a terminal would obey written as \u escapes.
  return escapeJsonForTerminal(JSON.stringify(plan, null, 2)) + '\n';
}
