/** The plan.md JSON format, whole or in parts. */
import type { Plan } from '../model/plan.js';
import { escapeJsonForTerminal } from '../util/terminal-text.js';
import { countPlan } from '../plan/counts.js';

/**
 * The plan.md JSON format: the Plan object as-is (schemas/plan.schema.json), 2-space indented,
 * with `counts` (the one count, src/plan/counts.ts) after `summary`.
 */
export function renderJson(plan: Plan): string {
  // The same JSON value, with the characters a terminal would obey written as \u escapes.
  return escapeJsonForTerminal(JSON.stringify(withCounts(plan), null, 2)) + '\n';
}

/** Elements of a long list written per part. */
const PART_ELEMENTS = 1024;

/**
 * `renderJson` in parts whose concatenation is exactly its text. At 100,000 objects the JSON
 * runs to ~130 MB: a writer that hands each part on never holds it whole.
 */
export function* renderJsonParts(plan: Plan): Generator<string> {
  const entries = Object.entries(withCounts(plan)).filter(([, v]) => isWritten(v));
  if (entries.length === 0) {
    yield '{}\n';
    return;
  }
  yield '{\n';
  for (let i = 0; i < entries.length; i++) {
    const [key, value] = entries[i]!;
    const tail = i < entries.length - 1 ? ',\n' : '\n';
    yield `  ${safeJson(JSON.stringify(key))}: `;
    if (Array.isArray(value) && value.length > 0) {
      yield '[\n';
      for (let at = 0; at < value.length; at += PART_ELEMENTS) {
        const slice = value.slice(at, at + PART_ELEMENTS).map((v: unknown) => indented(v, '    '));
        const more = at + PART_ELEMENTS < value.length;
        yield '    ' + slice.join(',\n    ') + (more ? ',\n' : '\n');
      }
      yield '  ]' + tail;
    } else yield indented(value, '  ') + tail;
  }
  yield '}\n';
}

function withCounts(plan: Plan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(plan)) {
    if (key === 'counts') continue;
    out[key] = value;
    if (key === 'summary') out.counts = countPlan(plan);
  }
  return out;
}

/** What JSON.stringify keeps as an object member (it leaves out undefined and functions). */
const isWritten = (v: unknown): boolean => v !== undefined && typeof v !== 'function';

/** JSON.stringify(value, null, 2) as it reads nested at `indent`; an array element of undefined is null. */
function indented(value: unknown, indent: string): string {
  const json = isWritten(value) ? JSON.stringify(value, null, 2) : 'null';
  return safeJson(json).replaceAll('\n', '\n' + indent);
}

const safeJson = (json: string): string => escapeJsonForTerminal(json);
