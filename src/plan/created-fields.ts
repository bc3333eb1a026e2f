/**
 * The field diffs of creates, shared within a plan. A create lists every field from nothing to
 * its value (plan.md), and most of those values repeat across objects: a queue's priority,
 * fairness, depth and concurrency, its pool, a cluster's pool and data plane, an assignment's
 * domain. At 100,000 creates the diff objects were ~56 MB of a plan's ~126 MB; one frozen object
 * per (path, value) instead of one per change keeps the plan, its JSON and every renderer's
 * output the same. Values that are not scalars (selectors) are not shared. The table lives for
 * one plan (shareCreatedFields): the planner keeps nothing between calls.
 */
import type { Change, FieldDiff } from '../model/plan.js';

/** A field a create adds: frozen when its value is a scalar, so that a plan may share it. */
export function createdField(path: string, after: unknown): FieldDiff {
  const value = after ?? null;
  if (value !== null && typeof value === 'object')
    return { path, before: null, after: value, forces_replacement: false };
  return Object.freeze({ path, before: null, after: value, forces_replacement: false });
}

/**
 * One plan's table of shared created fields (computePlan makes one per plan): `share` replaces,
 * in a diff, each frozen created field by the first of its (path, value) the table has seen.
 * Diffs that are frozen (decisions a cache keeps, src/incremental/queue-reuse.ts) are left as
 * they are: the queue pass shares its decisions' diffs before such a cache freezes them.
 */
export class SharedCreatedFields {
  private readonly byPath = new Map<string, Map<unknown, FieldDiff>>();

  share(diff: FieldDiff[]): void {
    if (Object.isFrozen(diff)) return;
    for (let i = 0; i < diff.length; i++) {
      const field = diff[i]!;
      if (!isShareable(field)) continue;
      let byValue = this.byPath.get(field.path);
      if (!byValue) this.byPath.set(field.path, (byValue = new Map()));
      const first = byValue.get(field.after);
      if (first === undefined) byValue.set(field.after, field);
      else if (first !== field) diff[i] = first;
    }
  }

  shareAll(changes: readonly Change[]): void {
    for (const change of changes) this.share(change.diff);
  }
}

/** A frozen field from nothing to a scalar that forces nothing: equal ones are interchangeable. */
function isShareable(f: FieldDiff): boolean {
  return (
    f.before === null &&
    !f.forces_replacement &&
    (f.after === null || typeof f.after !== 'object') &&
    Object.isFrozen(f)
  );
}
