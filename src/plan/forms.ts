/** Comparable forms of the object kinds, diffs between them, and changes (makeChange). */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { SPEC_FIELDS } from '../gen/manifests/kinds.js';
import {
  CLUSTER_FIELDS,
  type ClusterDataPlane,
  type ClusterSettings,
  type StoredSpec,
  capsOf,
  pick,
  type PoolContract,
  type QueueSpec,
  QUEUE_CAP_FIELDS,
  QUEUE_SETTINGS,
  QUEUE_SPEC_FIELDS,
  type QueueCaps,
  type QueueSettings,
  address,
  type ObjectKind,
} from '../model/common.js';
import type { FieldDiff, Change, ChangeAction, PlanSummary, Reason } from '../model/plan.js';
import { isMap, type AttributeRow } from '../model/flyte.js';
import { sameStrings } from '../util/same-json.js';

export type Form = Record<string, unknown>;

export function poolForm(contract: PoolContract): Form {
  return { contract };
}

export function clusterForm(c: ClusterSettings): Form {
  return pick(c, CLUSTER_FIELDS);
}

/**
 * A registration's `after`: its stored fields and the data plane it declares, which the
 * register_cluster step sends for C4 (shown, so a saved plan's step is held to it).
 */
export function registrationForm(
  c: ClusterSettings & { data_plane: ClusterDataPlane | null },
): Form {
  const form = clusterForm(c);
  return c.data_plane ? { ...form, data_plane: c.data_plane } : form;
}

/** Q3: the whole settable spec, in a fixed field order (a copy: its selector is its own). */
export function queueForm(spec: QueueSpec): QueueSpec & Form {
  const form: Form = {};
  // Indexed, not for-of: made for ~120,000 queues at 100,000 objects, its loop allocated an
  // iterator result a field (~25 MB).
  for (let i = 0; i < QUEUE_SPEC_FIELDS.length; i++) {
    const f = QUEUE_SPEC_FIELDS[i]!;
    const v = spec[f];
    form[f] = Array.isArray(v) ? [...v] : v;
  }
  // Most queues declare no caps: no empty caps form to copy from.
  return (declaresCaps(spec) ? Object.assign(form, capsForm(spec)) : form) as QueueSpec & Form;
}

/**
 * queueForm(spec), or `spec` itself when it is one already: its fields are QUEUE_SPEC_FIELDS in
 * order, no caps (a declared queue's spec as the loader makes it, desired.ts). A plan never
 * writes to its forms, so a create's `after` shares the declared spec: at 100,000 creates no
 * ~86,000 copies of a spec and its selector kept as long as the plan.
 */
export function sharedQueueForm(spec: QueueSpec): QueueSpec & Form {
  return isQueueForm(spec) ? (spec as QueueSpec & Form) : queueForm(spec);
}

/** Whether `spec`'s own fields are QUEUE_SPEC_FIELDS, in order (no caps, nothing else). */
export function isQueueForm(spec: QueueSpec): boolean {
  let i = 0;
  // for-in, not Object.keys: no key array a queue.
  for (const key in spec) if (key !== QUEUE_SPEC_FIELDS[i++]) return false;
  return i === QUEUE_SPEC_FIELDS.length;
}

/**
 * A queue call's arguments: its name, then its spec's fields in their order. One literal where
 * the spec is a form: `{ name, ...spec }` added the fields one by one, ~360 bytes a step (25 MB
 * at 100,000 creates). test/plan/forms.test.ts holds the literal to QUEUE_SPEC_FIELDS' order.
 */
export function queueArgs(name: string, spec: QueueSpec): QueueSpec & { name: string } {
  if (!isQueueForm(spec)) return { name, ...spec };
  const { pool, clusters, run_concurrency, action_concurrency, depth, priority, fairness } = spec;
  return { name, pool, clusters, run_concurrency, action_concurrency, depth, priority, fairness };
}

/**
 * `{ pool, clusters, ...settings }` as one literal, in QUEUE_SPEC_FIELDS' order (held to it by
 * test/plan/create-diff.test.ts): the spread added the settings one by one, a slow path, for
 * each of ~36,000 co-named queues at 100,000 creates (C2's settings and the registration's).
 */
export function placedSpec(pool: string, clusters: string[], settings: QueueSettings): QueueSpec {
  const { run_concurrency, action_concurrency, depth, priority, fairness } = settings;
  return { pool, clusters, run_concurrency, action_concurrency, depth, priority, fairness };
}

/** A queue's settings besides its pool, selector and caps, in a fixed field order. */
export function settingsOf(spec: QueueSettings): QueueSettings {
  return pick(spec, QUEUE_SETTINGS);
}

/** A row as plans and export show it ('' levels as null). */
export function rowForm(r: AttributeRow): Form {
  const orNull = (s: string) => (s === '' ? null : s);
  return {
    project: orNull(r.project),
    domain: orNull(r.domain),
    workflow: orNull(r.workflow),
    launch_plan: orNull(r.launch_plan),
    [r.resource_type === 'EXECUTION_CLUSTER_LABEL' ? 'label' : 'pool']: r.value,
  };
}

type Keyed = 'PoolAssignment' | 'DefaultQueue' | 'ExecutionClusterLabel';
const KEYED_FIELDS = {
  PoolAssignment: Object.keys(SPEC_FIELDS.PoolAssignment),
  DefaultQueue: Object.keys(SPEC_FIELDS.DefaultQueue),
  ExecutionClusterLabel: Object.keys(SPEC_FIELDS.ExecutionClusterLabel),
} as { [K in Keyed]: (keyof StoredSpec<K>)[] };

/** A keyed record's form: its schema's fields, in order (one added to the schema is compared). */
export function specForm<K extends Keyed>(kind: K, o: StoredSpec<K>): StoredSpec<K> & Form {
  return pick(o, KEYED_FIELDS[kind]) as StoredSpec<K> & Form;
}

/** One function, not a closure a diff (a converged plan diffs ~20,000 clusters). */
const forcesNothing = () => false;

/** Leaf-level differences (arrays are leaves); `forces(path)` marks immutable fields. */
export function diffForms(
  before: Form | null,
  after: Form | null,
  forces: (path: string) => boolean = forcesNothing,
): FieldDiff[] {
  const out: FieldDiff[] = [];
  // Creating or deleting replaces nothing: only a change of an existing object can force it.
  const marks = before !== null && after !== null ? forces : forcesNothing;
  const walk = (prefix: string, a: unknown, b: unknown) => {
    if (isMap(a) || isMap(b)) {
      // One side may be absent (an optional block such as image_registry).
      const from = isMap(a) ? a : null;
      const to = isMap(b) ? b : null;
      // Indexed, not for-of: no iterator result a key (a converged plan diffs ~20,000 clusters).
      const keys = Object.keys(from ?? {});
      const toKeys = Object.keys(to ?? {});
      for (let i = 0; i < toKeys.length; i++)
        if (!from || !(toKeys[i]! in from)) keys.push(toKeys[i]!);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        walk(prefix ? `${prefix}.${key}` : key, from ? from[key] : null, to ? to[key] : null);
      }
      return;
    }
    if (a !== b && !(Array.isArray(a) && Array.isArray(b) && isDeepStrictEqual(a, b))) {
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

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export function sameQueueSpec(a: QueueSpec, b: QueueSpec): boolean {
  return sameFields(QUEUE_SPEC_FIELDS, a, b) && sameFields(QUEUE_CAP_FIELDS, a, b);
}

/** Indexed, not every(): no closure a call (a queue compares its specs up to three times). */
function sameFields(fields: readonly (keyof QueueSpec)[], a: QueueSpec, b: QueueSpec): boolean {
  for (let i = 0; i < fields.length; i++) if (!same(a[fields[i]!], b[fields[i]!])) return false;
  return true;
}

/** A field's values: a selector by its names in order, a map by its entries, others by value. */
function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return sameStrings(a, b);
  if (isMap(a) || isMap(b)) return sameMap(isMap(a) ? a : undefined, isMap(b) ? b : undefined);
  return a === b;
}

/**
 * Union's queue caps (QueueCaps): one a Queue document omits is not managed: the queue keeps
 * its value, so the plan neither shows nor sends a change of it. Declared, it is compared as a
 * whole: a map by its entries (absent and `{}` are both "no caps"), scheduling by value (unset
 * is not strict_fifo: Union's client shows it as "unspecified").
 */
export function inheritCaps<T extends QueueSpec>(target: T, live: QueueCaps | null): T {
  if (!live) return target;
  let out: T | null = null;
  // Indexed, not for-of: every live queue's target asks (no iterator result a field).
  for (let i = 0; i < QUEUE_CAP_FIELDS.length; i++) {
    const f = QUEUE_CAP_FIELDS[i]!;
    if (target[f] !== undefined || live[f] === undefined) continue;
    out ??= { ...target };
    (out as QueueCaps)[f] = live[f] as never;
  }
  return out ?? target;
}

function sameMap(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined) {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => b !== undefined && Object.hasOwn(b, k) && b[k] === a![k]);
}

/** The caps a spec declares, in a fixed order, for forms and fingerprints (absent: left out). */
export function capsForm(s: QueueCaps): QueueCaps {
  const out: Record<string, unknown> = capsOf(s);
  for (const [f, v] of Object.entries(out)) if (isMap(v)) out[f] = sortedCopy(v);
  return out;
}

function sortedCopy<V>(m: Partial<Record<string, V>>): Record<string, V> {
  return Object.fromEntries(
    Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ) as Record<string, V>;
}

export function declaresCaps(s: QueueCaps): boolean {
  // Indexed, not some(): no closure a call (every queue's form and fingerprint ask).
  for (let i = 0; i < QUEUE_CAP_FIELDS.length; i++)
    if (s[QUEUE_CAP_FIELDS[i]!] !== undefined) return true;
  return false;
}

/** The rest of a change, in the order the pass decided it (the JSON keeps member order). */
type MoreKey = 'why' | 'caused_by' | 'caused_after' | 'cause' | 'note';
export type ChangeMore = Partial<Pick<Change, MoreKey>>;

/** A change with nothing more: one object for all of them, not a new `{}` a change. */
const NOTHING_MORE: ChangeMore = Object.freeze({});

/**
 * A change, whole: no pass writes to one once made (`changeWith` makes a new one), so a decision
 * read by a later pass cannot change under it. `diff` null (a create): read from its `after`.
 */
export function makeChange(
  kind: ObjectKind,
  name: string,
  action: ChangeAction,
  before: Form | null,
  after: Form | null,
  diff: FieldDiff[] | null,
  more: ChangeMore = NOTHING_MORE,
): Change {
  const change: Record<string, unknown> = {
    address: address(kind, name),
    kind,
    name,
    action,
    before,
    after,
  };
  if (diff) change['diff'] = diff;
  else Object.defineProperty(change, 'diff', DIFF_OF_AFTER);
  change['destructive'] = action === 'delete' || action === 'replace';
  change['caused_by'] = more.caused_by ?? null;
  if (more.why) change['why'] = more.why;
  // The rest in their order (not a rest parameter: one more object a change).
  for (const key in more)
    if (key !== 'why' && key !== 'caused_by') change[key] = more[key as MoreKey];
  return change as unknown as Change;
}

/**
 * A create's diff, diffForms(null, after), computed where it is read and never kept (at 100,000
 * creates, ~53 MB of the plan's ~160 MB: issue 63); in a kept diff's member order (same JSON).
 */
const DIFF_OF_AFTER: PropertyDescriptor = {
  get(this: Change): FieldDiff[] {
    const out: FieldDiff[] = [];
    addCreatedFields(out, '', this.after);
    return out;
  },
  enumerable: true,
  configurable: true,
};

/**
 * diffForms(null, after) without its key arrays and closure per map: the plan text reads every
 * create's diff (at 100,000 creates 118 → 60 MB allocated, 80 → 54 ms).
 */
function addCreatedFields(out: FieldDiff[], prefix: string, value: unknown): void {
  if (isMap(value)) {
    for (const key in value) addCreatedFields(out, prefix ? `${prefix}.${key}` : key, value[key]);
    return;
  }
  if (value !== null)
    out.push({ path: prefix, before: null, after: value ?? null, forces_replacement: false });
}

/**
 * What a change's diff says a top-level field becomes (undefined: the diff has no such path),
 * without computing a create's whole diff (DIFF_OF_AFTER) to find one field.
 */
export function diffAfter(change: Change, path: string): unknown {
  if (!diffOfAfter(change)) return change.diff?.find((d) => d.path === path)?.after;
  const after = change.after as Record<string, unknown> | null;
  if (!isMap(after) || !Object.hasOwn(after, path)) return undefined;
  const value = after[path];
  // As addCreatedFields lists it: a map as its fields' paths, null not at all.
  return isMap(value) || value === null ? undefined : (value ?? null);
}

/**
 * A change's `after` when its diff is read from it (DIFF_OF_AFTER: every field of `after` as
 * created), else null: a renderer walks it rather than make the diff's objects.
 */
export function createdFields(change: Change): Form | null {
  return diffOfAfter(change) && isMap(change.after) ? change.after : null;
}

function diffOfAfter(change: Change): boolean {
  return Object.getOwnPropertyDescriptor(change, 'diff')?.get === DIFF_OF_AFTER.get;
}

type ChangeKey = keyof Change;

/**
 * `change` with `fields` set, as a new change: members in the same order, new ones last (so the
 * JSON is the same). A diff read from `after` stays so while the forms stay.
 */
export function changeWith(change: Change, fields: Partial<Change>): Change {
  const keepsForms = !('diff' in fields || 'before' in fields || 'after' in fields);
  if (!keepsForms || !diffOfAfter(change)) return { ...change, ...fields };
  // The members up to `diff` (makeChange's order) as one literal: added one by one to `{}`, each
  // of the 20,000 co-named queues' changes of a plan of 100,000 creates got a hidden class of
  // its own (a map and its descriptors, kept as long as the plan). for-in, not for-of over
  // Object.keys: no key array nor iterator results (~650 → ~420 bytes a call).
  const value = (key: ChangeKey) => (Object.hasOwn(fields, key) ? fields[key] : change[key]);
  const out: Record<string, unknown> = {
    address: value('address'),
    kind: value('kind'),
    name: value('name'),
    action: value('action'),
    before: change.before,
    after: change.after,
  };
  Object.defineProperty(out, 'diff', DIFF_OF_AFTER);
  for (const key in change) if (!Object.hasOwn(out, key)) out[key] = value(key as ChangeKey);
  for (const key in fields) if (!Object.hasOwn(out, key)) out[key] = fields[key as ChangeKey];
  return out as unknown as Change;
}

export function withNote(change: Change, note: Reason): Change {
  const notes = Array.isArray(change.note) ? change.note : [];
  return changeWith(change, { note: [...notes, note] });
}

export function summarizeChanges(changes: readonly Change[]): PlanSummary {
  const summary: PlanSummary = {
    create: 0,
    update: 0,
    replace: 0,
    delete: 0,
    blocked: 0,
    unmanaged: 0,
    noop: 0,
  };
  changes.forEach((c) => (summary[c.action] += 1)); // not for-of: no iterator result a change
  return summary;
}
