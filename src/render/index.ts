/** Plan renderers (plan.md): text (Terraform-like), JSON (the plan as-is), markdown (PR comment). */

export { ACTION_STYLE, renderText, renderTextParts, type TextOptions } from './text.js';
export { code, markdownText, renderMarkdown, type MarkdownOptions } from './markdown.js';
export {
  closingLine,
  countsText,
  hasNoChanges,
  heldForApproval,
  plural,
  sideEffectLine,
  summaryCounts,
  SYMBOL,
  warningText,
  whyText,
} from './common.js';

export { renderJson, renderJsonParts } from './json.js';
