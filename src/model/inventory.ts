/**
 * The inventory (docs/plan.md, Prune by inventory): per control plane, the addresses poolsync
 * applied, each under the repository that applied it, which `prune: true` of that repository
 * alone deletes once undeclared (as the kinds `manage:` claims). Kept where every reader of that
 * control plane finds it (src/apply/inventory.ts).
 */
import { refuseNewer } from '../util/format-version.js';
import { sameJson } from '../util/same-json.js';
import { ascending, sortedHas, sortedUnion } from '../util/sorted.js';

import {
  CONFIRM_DESTROY_ANNOTATION,
  PREVENT_DESTROY_ANNOTATION,
  type Guardrails,
} from './desired.js';

/**
 * 2: `repositories` (a build reading 1 would prune every repository's); 3: `repository_guardrails`
 * and `cluster_waits`, which a build reading 2 would drop on its next write (docs/versioning.md).
 */
export const INVENTORY_FORMAT = 3;

/** What each format added, which a build writing an earlier one would lose. */
const ADDED_IN: Record<number, string> = {
  2: 'the repository that applied each address',
  3: "each repository's destroy budget and the clusters' waits",
};

/** What a record of format `newer` holds that one of format `older` would drop. */
export function lostBelow(older: number, newer: number = INVENTORY_FORMAT): string {
  return Object.entries(ADDED_IN)
    .filter(([f]) => Number(f) > older && Number(f) <= newer)
    .map(([, what]) => what)
    .join(', and ');
}

export interface InventoryRecord {
  /** As read (a record of format 1 is kept as it is); written: INVENTORY_FORMAT. */
  format: 1 | 2 | typeof INVENTORY_FORMAT;
  /**
   * `Kind/name` addresses recorded without the repository that applied them (every address of
   * format 1), sorted, unique: no repository prunes them (docs/plan.md, Prune scope).
   */
  addresses: string[];
  /** Per repository (src/ops/repository.ts), the addresses it applied, sorted, unique. Absent: none. */
  repositories?: Record<string, string[]>;
  /** ISO 8601. */
  updated_at: string;
  commit: string | null;
  /** As plans name it. */
  control_plane: { backend: string; endpoint: string; organization: string | null } | null;
  /**
   * Addresses `poolsync state forget` took out of management, sorted: prune never deletes them,
   * whatever `manage:` claims, until `poolsync import` adopts one again. Absent: none.
   */
  forgotten?: string[];
  /**
   * Addresses applied with `poolsync/prevent-destroy: "true"`, sorted: a plan that deletes or
   * replaces one is an error even once its manifest is gone (docs/plan.md, Protection), until a
   * commit declaring it without the annotation is applied. Absent: none.
   */
  prevent_destroy?: string[];
  /** Likewise `poolsync/confirm-destroy: "true"`: deleted or replaced only once a person approves. */
  confirm_destroy?: string[];
  /**
   * poolsync.yaml `guardrails:` recorded without a repository (by a build before
   * `repository_guardrails`, or a plan naming none): it binds every repository that has no budget
   * of its own recorded (docs/plan.md, The destroy budget). Absent: none.
   */
  guardrails?: Guardrails;
  /**
   * Per repository, poolsync.yaml `guardrails:` of the last commit it applied: its next plans keep
   * within it as well as within their own, so a commit raising the budget spends it only once
   * applied; `{}`: it set none, over a `guardrails` that would bind it. Absent: none of its own.
   */
  repository_guardrails?: Record<string, Guardrails>;
  /**
   * Per cluster an apply set out to delete, the queues its `wait_idle` watched, recorded before
   * the first step: later plans deleting it watch them too, until the delete is done (their runs
   * may be on it although a repointing landed: docs/apply.md, Waits). Absent: none.
   */
  cluster_waits?: Record<string, string[]>;
  /**
   * Written ahead of an apply's first step: the addresses it creates that the inventory did not
   * hold, and when it began (its apply-started mark's `started_at`). While that mark is still
   * there the apply never completed, so these are not yet poolsync's: one that exists is adopted
   * with a notice, one that does not is dropped (docs/apply.md, What apply records). Absent: none.
   */
  pending?: Pending;
}

/**
 * The pending addresses (`addresses`, sorted), or, when shorter, every other address the record
 * holds (`held`, sorted): a first apply of 100,000 creates then lists none twice (issue 79).
 * `deletes`: each recorded address the apply deletes, with what tells the object it applied from
 * one made again under that name (plan/inventory.ts deleteIdentities); absent: none, or an
 * earlier build's record.
 */
export type Pending = { started_at: string; deletes?: Record<string, DeleteIdentity> } & (
  { addresses: string[] } | { held: string[] }
);

/** A pool's contract, else the pool (a cluster, queue or assignment), queue or label it had. */
export type DeleteIdentity = string | object;

/** Whether `address`, one the record holds, is pending (each asked once, best in ascending order). */
export function isPendingIn(pending: Pending): (address: string) => boolean {
  if ('addresses' in pending) return sortedHas(pending.addresses);
  const held = sortedHas(pending.held);
  return (a) => !held(a);
}

/** The budgets a record keeps: each repository's, and the one recorded without a repository. */
export interface RecordedBudgets {
  guardrails?: Guardrails;
  repository_guardrails?: Readonly<Record<string, Guardrails>>;
}

/** The budgets as optional record members: absent when none, so records without one stay as they were. */
export function budgetFields(r: RecordedBudgets | null | undefined): RecordedBudgets {
  return {
    ...(r?.guardrails ? { guardrails: r.guardrails } : {}),
    ...(r?.repository_guardrails ? { repository_guardrails: r.repository_guardrails } : {}),
  };
}

/** The protection marks an inventory keeps (docs/plan.md, Protection). */
export const PROTECTION_MARKS = ['prevent_destroy', 'confirm_destroy'] as const;
export type ProtectionMark = (typeof PROTECTION_MARKS)[number];
export type Protection = Partial<Record<ProtectionMark, readonly string[]>>;

/** The annotation of each mark: a manifest declares it, `import` and `export` write it back. */
export const MARK_ANNOTATION: Record<ProtectionMark, string> = {
  prevent_destroy: PREVENT_DESTROY_ANNOTATION,
  confirm_destroy: CONFIRM_DESTROY_ANNOTATION,
};

/** The record's marks, each sorted and unique, empty ones left out (an old record has none). */
export function protectionOf(r: Protection | null | undefined): Record<ProtectionMark, string[]> {
  const out = {} as Record<ProtectionMark, string[]>;
  for (const m of PROTECTION_MARKS) out[m] = [...new Set(r?.[m] ?? [])].sort();
  return out;
}

/** The marks as optional record members: absent when empty, so unprotected records stay as they were. */
export function protectionFields(p: Protection): Partial<Record<ProtectionMark, string[]>> {
  const out: Partial<Record<ProtectionMark, string[]>> = {};
  for (const m of PROTECTION_MARKS) if (p[m]?.length) out[m] = [...p[m]];
  return out;
}

/** A recorded budget: each bound a whole number ≥ 0; absent: null. */
function guardrailsOf(g: unknown, field = 'guardrails'): Guardrails | null | string {
  if (g === undefined || g === null) return null;
  const bad = `${field} must be an object of max_destroy and max_replace, whole numbers ≥ 0`;
  if (typeof g !== 'object' || Array.isArray(g)) return bad;
  const out: Guardrails = {};
  for (const [k, v] of Object.entries(g)) {
    if ((k !== 'max_destroy' && k !== 'max_replace') || !Number.isInteger(v) || (v as number) < 0)
      return bad;
    out[k] = v as number;
  }
  return out;
}

/** Each repository's recorded budget, `{}` kept (it lifts `guardrails` for that one). */
function repositoryGuardrailsOf(g: unknown): Record<string, Guardrails> | null | string {
  if (g === undefined || g === null) return null;
  const bad = 'repository_guardrails must map each repository to its guardrails';
  if (typeof g !== 'object' || Array.isArray(g)) return bad;
  const out: Record<string, Guardrails> = {};
  for (const [repository, v] of Object.entries(g)) {
    const budget = guardrailsOf(v, `repository_guardrails[${JSON.stringify(repository)}]`);
    if (repository === '' || budget === null) return bad;
    if (typeof budget === 'string') return budget;
    out[repository] = budget;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * A record read from anywhere (a file, a REST body): the addresses, or why it is not one; one
 * of a newer format is refused, naming `where` (util/format-version.ts).
 */
export function parseInventory(data: unknown, where = 'the inventory'): InventoryRecord | string {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return 'expected a JSON object';
  const r = data as Record<string, unknown>;
  refuseNewer(where, r.format, INVENTORY_FORMAT);
  if (r.format !== 1 && r.format !== 2 && r.format !== INVENTORY_FORMAT)
    return `format is ${JSON.stringify(r.format)}, this poolsync reads formats 1 to ${INVENTORY_FORMAT}`;
  const addresses = r.addresses;
  if (!isAddressList(addresses)) return 'addresses must be a list of Kind/name addresses';
  const repositories = r.repositories ?? {};
  if (
    typeof repositories !== 'object' ||
    Array.isArray(repositories) ||
    !Object.entries(repositories).every(([k, v]) => k !== '' && isAddressList(v))
  )
    return 'repositories must map each repository to a list of Kind/name addresses';
  if (typeof r.updated_at !== 'string') return 'updated_at must be a string';
  if (r.commit !== null && typeof r.commit !== 'string') return 'commit must be a string or null';
  const forgotten = r.forgotten ?? [];
  if (!Array.isArray(forgotten) || !forgotten.every((a) => typeof a === 'string'))
    return 'forgotten must be a list of Kind/name addresses';
  const guardrails = guardrailsOf(r.guardrails);
  if (typeof guardrails === 'string') return guardrails;
  const perRepository = repositoryGuardrailsOf(r.repository_guardrails);
  if (typeof perRepository === 'string') return perRepository;
  for (const m of PROTECTION_MARKS) {
    const marked = r[m] ?? [];
    if (!Array.isArray(marked) || !marked.every((a) => typeof a === 'string' && a.includes('/')))
      return `${m} must be a list of Kind/name addresses`;
  }
  const clusterWaits = r.cluster_waits ?? {};
  if (
    typeof clusterWaits !== 'object' ||
    Array.isArray(clusterWaits) ||
    !Object.values(clusterWaits).every(
      (v) => Array.isArray(v) && v.every((q) => typeof q === 'string'),
    )
  )
    return 'cluster_waits must map each cluster to a list of queue names';
  const pending = pendingOf(r.pending);
  if (typeof pending === 'string') return pending;
  const waits = Object.entries(clusterWaits as Record<string, string[]>).filter(
    ([, v]) => v.length > 0,
  );
  const lists = Object.entries(repositories as Record<string, string[]>);
  return {
    ...unknownFields(r),
    format: r.format,
    // As poolsync writes it (sorted, unique), the parsed list itself: no set nor sort of
    // 10,000 addresses on each of a daemon run's reads.
    addresses: ascending(addresses as string[]) as string[],
    ...(lists.length > 0
      ? { repositories: Object.fromEntries(lists.map(([k, v]) => [k, ascending(v) as string[]])) }
      : {}),
    updated_at: r.updated_at,
    commit: (r.commit as string | null) ?? null,
    control_plane: (r.control_plane as InventoryRecord['control_plane']) ?? null,
    ...(forgotten.length > 0 ? { forgotten: [...new Set(forgotten as string[])].sort() } : {}),
    ...protectionFields(protectionOf(r as Protection)),
    ...(guardrails && Object.keys(guardrails).length > 0 ? { guardrails } : {}),
    ...(perRepository ? { repository_guardrails: perRepository } : {}),
    ...(waits.length > 0
      ? { cluster_waits: Object.fromEntries(waits.map(([c, v]) => [c, [...new Set(v)].sort()])) }
      : {}),
    ...(pending ? { pending } : {}),
  };
}

/** `pending` as read, its list sorted; undefined: absent; a string: why it is not one. */
function pendingOf(p: unknown): Pending | undefined | string {
  if (p === undefined) return undefined;
  const bad =
    'pending must be an object of started_at (a time) and either addresses (the pending Kind/name addresses) or held (every other one)';
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return bad;
  const { started_at, addresses, held, deletes } = p as Record<string, unknown>;
  if (typeof started_at !== 'string' || (addresses === undefined) === (held === undefined))
    return bad;
  if (
    deletes !== undefined &&
    (typeof deletes !== 'object' ||
      deletes === null ||
      Array.isArray(deletes) ||
      !Object.entries(deletes).every(
        ([a, v]) => a.includes('/') && (typeof v === 'string' || (typeof v === 'object' && v)),
      ))
  )
    return 'pending.deletes must map each Kind/name address to what identified the object deleted (a pool, queue or label name, or a contract)';
  const more = deletes === undefined ? {} : { deletes: deletes as Record<string, DeleteIdentity> };
  if (addresses !== undefined)
    return isAddressList(addresses)
      ? { started_at, addresses: ascending(addresses) as string[], ...more }
      : bad;
  return isAddressList(held) ? { started_at, held: ascending(held) as string[], ...more } : bad;
}

/**
 * The fields a later build of this format added, which this one does not know: kept as read,
 * so writing the record never drops them (docs/versioning.md, Keep what is read).
 */
export function unknownFields(r: object | null | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r ?? {}).filter(([k]) => !Object.hasOwn(MERGE, k)));
}

function isAddressList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((a) => typeof a === 'string' && a.includes('/'));
}

/** Every address the record holds, of every repository and of none, sorted. */
export function recordedAddresses(
  r: Pick<InventoryRecord, 'addresses' | 'repositories'>,
): string[] {
  const lists = Object.values(r.repositories ?? {});
  if (lists.length === 0) return r.addresses;
  return lists.reduce<string[]>((all, l) => sortedUnion(all, l), r.addresses);
}

/** The repository that applied `address`: null when recorded without one, undefined when not recorded. */
export function recordedBy(r: InventoryRecord | null, address: string): string | null | undefined {
  for (const [repository, list] of Object.entries(r?.repositories ?? {}))
    if (list.includes(address)) return repository;
  return r?.addresses.includes(address) ? null : undefined;
}

/** A record from its JSON text, or why it is not one (never the parser's message: it quotes the text). */
export function parseInventoryText(text: string, where?: string): InventoryRecord | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  return parseInventory(data, where);
}

/**
 * A three-way merge: what this writer changed since it read `base` (null: there was no entry;
 * undefined: it never read), applied to `theirs`, the entry now (null: none).
 */
export function mergeAddresses(
  base: readonly string[] | null | undefined,
  ours: readonly string[],
  theirs: readonly string[] | null,
): string[] {
  // Never read, or the entry went away since (removed by hand): this writer's whole truth.
  if (base === undefined || (theirs === null && base !== null)) return [...ours];
  const before = new Set(base ?? []);
  const mine = new Set(ours);
  const out = new Set(theirs ?? []);
  for (const a of ours) if (!before.has(a)) out.add(a);
  for (const a of before) if (!mine.has(a)) out.delete(a);
  return [...out].sort();
}

/** One field's three-way merge; undefined: absent (base undefined: the field was not there). */
type Merge<T> = (base: T | undefined, ours: T | undefined, theirs: T | undefined) => T | undefined;

/** What this writer set, changed or not (the format it writes). */
const written = <T>(_: T | undefined, ours: T | undefined) => ours;
/** This writer's value if it changed it, else the one there now. */
const changed = <T>(base: T | undefined, ours: T | undefined, theirs: T | undefined) =>
  sameJson(base, ours) ? theirs : ours;
/** A set: what this writer added and removed, applied to the one now; empty: absent. */
const set: Merge<string[]> = (base, ours, theirs) => {
  const out = mergeAddresses(base ?? [], ours ?? [], theirs ?? []);
  return out.length > 0 ? out : undefined;
};
/** A map, each key merged on its own (each repository's list or budget); empty: absent. */
const each =
  <T>(merge: Merge<T>): Merge<Record<string, T>> =>
  (base, ours, theirs) => {
    const out: Record<string, T> = {};
    for (const k of new Set([base, ours, theirs].flatMap((m) => Object.keys(m ?? {})))) {
      const v = merge(base?.[k], ours?.[k], theirs?.[k]);
      if (v !== undefined) out[k] = v;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };

/** Every field of the record says how it merges (typed over it: a new field cannot be left out). */
const MERGE: { [K in keyof InventoryRecord]-?: Merge<Exclude<InventoryRecord[K], undefined>> } = {
  format: written,
  addresses: (base, ours, theirs) => set(base, ours, theirs) ?? [],
  repositories: each(set),
  updated_at: changed,
  commit: changed,
  control_plane: changed,
  forgotten: set,
  prevent_destroy: set,
  confirm_destroy: set,
  guardrails: changed,
  // Each repository's budget: the one this writer changed, every other as it is now.
  repository_guardrails: each(changed),
  cluster_waits: each(set),
  // Its apply's own: the one writing ahead sets it, the one recording after clears it.
  pending: changed,
};

/**
 * The record a writer that lost a race writes (quality.md: writes are read-modify-write): each
 * field as MERGE says, so what another writer recorded since `base` (a budget, a protection
 * mark, a forgotten address) is kept unless this writer changed that very thing. `base`
 * undefined (never read), or an entry removed since it was read: `ours` whole.
 */
export function mergeInventory(
  base: InventoryRecord | null | undefined,
  ours: InventoryRecord,
  theirs: InventoryRecord | null,
): InventoryRecord {
  if (base === undefined || (theirs === null && base !== null)) return ours;
  // A field this build does not know: this writer's if it changed it, else the one there now.
  const out: Record<string, unknown> = mergeUnknown(base, ours, theirs);
  for (const [field, merge] of Object.entries(MERGE) as [keyof InventoryRecord, Merge<unknown>][]) {
    const v = merge(base?.[field], ours[field], theirs?.[field]);
    if (v !== undefined) out[field] = v;
  }
  return out as unknown as InventoryRecord;
}

function mergeUnknown(
  base: InventoryRecord | null,
  ours: InventoryRecord,
  theirs: InventoryRecord | null,
): Record<string, unknown> {
  const [b, o, t] = [base, ours, theirs].map(unknownFields) as [
    Record<string, unknown>,
    Record<string, unknown>,
    Record<string, unknown>,
  ];
  const out: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(b), ...Object.keys(o), ...Object.keys(t)])) {
    const v = changed(b[k], o[k], t[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}
