/**
 * Comparable forms of the four object kinds, field-level diffs between them, and the
 * canonical JSON used for fingerprints. Pure helpers shared by the planner's passes.
 */
import { createHash } from 'node:crypto';
import type { Assignment, PoolContract, QueueSpec } from '../model/common.js';
import type { FieldDiff } from '../model/plan.js';
import { capsForm, sameCaps } from './queue-caps.js';

export type Form = Record<string, unknown>;

export function poolForm(contract: PoolContract): Form {
  return { contract };
}

export function clusterForm(pool: string, enabled: boolean): Form {
  return { pool, enabled };
}

/** Q3: the whole settable spec, in a fixed field order (a copy: its selector is its own). */
export function queueForm(spec: QueueSpec): QueueSpec & Form {
  return {
    pool: spec.pool,
    clusters: [...spec.clusters],
    run_concurrency: spec.run_concurrency,
    action_concurrency: spec.action_concurrency,
    depth: spec.depth,
    priority: spec.priority,
    fairness: spec.fairness,
    ...capsForm(spec),
  };
}

export function assignmentForm(a: Assignment): Form {
  return { project: a.project, domain: a.domain, workflow: a.workflow, pool: a.pool };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON values (arrays compared in order). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && sameValue(a[k], b[k]));
  }
  return false;
}

/**
 * Leaf-level differences between two forms (either may be null: create / delete). Objects
 * are walked; arrays and scalars are leaves. `forces(path)` marks immutable fields.
 */
export function diffForms(
  before: Form | null,
  after: Form | null,
  forces: (path: string) => boolean = () => false,
): FieldDiff[] {
  const out: FieldDiff[] = [];
  // Creating or deleting replaces nothing: only a change of an existing object can force it.
  const marks = before !== null && after !== null ? forces : () => false;
  const walk = (prefix: string, a: unknown, b: unknown) => {
    if (isPlainObject(a) || isPlainObject(b)) {
      if (isPlainObject(a) && isPlainObject(b)) {
        const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
        for (const key of keys) walk(prefix ? `${prefix}.${key}` : key, a[key], b[key]);
        return;
      }
      // One side absent (create, delete, or an optional block such as image_registry).
      const present = (isPlainObject(a) ? a : b) as Record<string, unknown>;
      for (const key of Object.keys(present)) {
        walk(
          prefix ? `${prefix}.${key}` : key,
          isPlainObject(a) ? a[key] : null,
          isPlainObject(b) ? b[key] : null,
        );
      }
      return;
    }
    if (!sameValue(a, b)) {
      out.push({
        path: prefix,
        before: a ?? null,
        after: b ?? null,
        forces_replacement: marks(prefix),
      });
    }
  };
  walk('', before, after);
  return out;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export function sameSelector(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

export function sameQueueSpec(a: QueueSpec, b: QueueSpec): boolean {
  return (
    a.pool === b.pool &&
    sameSelector(a.clusters, b.clusters) &&
    a.run_concurrency === b.run_concurrency &&
    a.action_concurrency === b.action_concurrency &&
    a.depth === b.depth &&
    a.priority === b.priority &&
    a.fairness === b.fairness &&
    sameCaps(a, b)
  );
}

/** Names shown in a message: the first few, then a count (the catalog's, src/plan/words/params.ts). */
export { listAddresses } from './words/params.js';
