/**
 * The field diffs of creates, shared. A create lists every field from nothing to its value
 * (plan.md), and most of those values repeat across objects: a queue's priority, fairness,
 * depth and concurrency, its pool, a cluster's pool and data plane, an assignment's domain.
 * At 100,000 creates the diff objects were ~56 MB of a plan's ~126 MB; one frozen object per
 * (path, value) instead of one per change keeps the plan, its JSON and every renderer's output
 * the same. Values that are not scalars (selectors) are not shared.
 */
import type { FieldDiff } from '../model/plan.js';

/** Above this many distinct entries the table starts again: a long-running daemon stays bounded. */
const MAX_ENTRIES = 50_000;

let shared = new Map<string, Map<unknown, FieldDiff>>();
let entries = 0;

export function createdField(path: string, after: unknown): FieldDiff {
  const value = after ?? null;
  if (value !== null && typeof value === 'object')
    return { path, before: null, after: value, forces_replacement: false };
  let byValue = shared.get(path);
  if (!byValue) shared.set(path, (byValue = new Map()));
  let field = byValue.get(value);
  if (!field) {
    if (entries >= MAX_ENTRIES) {
      shared = new Map([[path, (byValue = new Map())]]);
      entries = 0;
    }
    field = Object.freeze({ path, before: null, after: value, forces_replacement: false });
    byValue.set(value, field);
    entries++;
  }
  return field;
}
