/**
 * Which poolsync last updated an object (docs/daemon.md, Two poolsyncs on one control plane):
 * the inventory's optional `appliers`, per repository the branches that applied it (and the
 * machine of each one's last apply), each with a hash of every object it was the last to update or replace. A build that does not
 * know the field keeps it as read (docs/versioning.md); absent or unreadable: none recorded, and
 * plans warn of nothing.
 */
import { createHash } from 'node:crypto';

/** Where an apply runs: the branch it applies (null: a folder outside Git, a detached head) and the machine. */
export interface ApplierSource {
  branch: string | null;
  host: string;
}

export interface Applier extends ApplierSource {
  /** Of its last apply. */
  commit: string | null;
  at: string;
  /** Address → formHash of the object as this applier last wrote it; another's write takes it out. */
  wrote: Record<string, string>;
}

/** Branches kept per repository, the most recent first. */
const KEPT = 8;

/**
 * Writes kept per branch, the newest: a fight is over what was written lately, and every address
 * hashed costs ~60 bytes of an inventory a ConfigMap holds in 1 MiB (10,000 updated queues
 * would have added ~600 KB).
 */
export const WRITES_KEPT = 500;

/**
 * One branch is one poolsync, whatever the machine: the replicas of an HA daemon and a repository's
 * CI runners apply the same commits, and took each other's writes for a second poolsync's.
 */
export const sameApplier = (a: ApplierSource, b: ApplierSource) => a.branch === b.branch;

/** A change's comparable form, hashed with its keys in order: the live object read back hashes alike. */
export function formHash(form: unknown): string {
  const canonical = (v: unknown): unknown =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canonical)
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(form)))
    .digest('hex')
    .slice(0, 16);
}

/** The record's appliers (its `appliers` field), per repository; one that does not read: none. */
export function appliersOf(record: object | null | undefined): Record<string, Applier[]> {
  const all = (record as { appliers?: unknown } | null | undefined)?.appliers;
  if (typeof all !== 'object' || all === null || Array.isArray(all)) return {};
  const out: Record<string, Applier[]> = {};
  for (const [repository, list] of Object.entries(all))
    if (Array.isArray(list) && list.every(isApplier)) out[repository] = list;
  return out;
}

function isApplier(a: unknown): a is Applier {
  const r = a as Record<string, unknown> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    (r.branch === null || typeof r.branch === 'string') &&
    typeof r.host === 'string' &&
    (r.commit === null || typeof r.commit === 'string') &&
    typeof r.at === 'string' &&
    typeof r.wrote === 'object' &&
    r.wrote !== null &&
    Object.values(r.wrote).every((h) => typeof h === 'string')
  );
}

/**
 * The repository's appliers after `me` applied: what it wrote is its own (taken from the
 * others), what it deleted nobody's, and it comes first.
 */
export function nextAppliers(
  list: readonly Applier[],
  me: Omit<Applier, 'wrote'>,
  wrote: Readonly<Record<string, string>>,
  deleted: ReadonlySet<string>,
): Applier[] {
  const gone = (a: string) => a in wrote || deleted.has(a);
  const keep = (w: Record<string, string>) =>
    Object.fromEntries(Object.entries(w).filter(([a]) => !gone(a)));
  const mine = list.find((a) => sameApplier(a, me));
  const others = list
    .filter((a) => !sameApplier(a, me))
    .map((a) => ({ ...a, wrote: keep(a.wrote) }));
  // Its earlier writes first, then this apply's: the newest are the last kept.
  const written = Object.entries({ ...keep(mine?.wrote ?? {}), ...wrote }).slice(-WRITES_KEPT);
  return [{ ...me, wrote: Object.fromEntries(written) }, ...others].slice(0, KEPT);
}

/**
 * The other applier whose write `live` still is, when `me` applied this repository before (a
 * plan from a branch that never applied is the repository moving, not a second poolsync); null
 * otherwise, a change by hand included.
 */
export function writtenByAnother(
  list: readonly Applier[],
  me: ApplierSource,
  address: string,
  live: unknown,
): Applier | null {
  if (!list.some((a) => sameApplier(a, me))) return null;
  const other = list.find((a) => !sameApplier(a, me) && a.wrote[address] !== undefined);
  return other && other.wrote[address] === formHash(live) ? other : null;
}
