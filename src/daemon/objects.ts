/**
 * The dashboard's objects (docs/daemon.md#dashboard): every object the last plan names, with its
 * sync status, live state, place in the pool → clusters → queues tree, source and change. Kept
 * as references to what the run had anyway; the rows are made on the first request after the
 * run, and listed a page at a time.
 */
import { WILDCARD } from '../model/common.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import type { Change, Plan } from '../model/plan.js';
import { declaredObjects, liveObjects } from '../plan/inventory.js';
import { ownership } from '../plan/prune-scope.js';
import { liveStatusOf, type LiveStatus } from '../render/live-status.js';
import { appliedByRun, type ApplyOutcome } from './status.js';

/** Argo CD's sync statuses, and poolsync's own two: held for approval, blocked. */
export const SYNC_STATUSES = ['out_of_sync', 'held', 'blocked', 'synced', 'unmanaged'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export interface ObjectRow {
  address: string;
  kind: string;
  name: string;
  sync: SyncStatus;
  /** By the run that made this view (its change is what it did). */
  appliedNow: boolean;
  /** As the control plane has it (null: the run read no live state). */
  live(): LiveStatus | null;
  /** The pool of a cluster, queue or assignment; a pool's own name. */
  pool: string | null;
  /** A queue's clusters: those it routes to, else those its selector names. */
  clusters: readonly string[];
  /** `file:line`, relative to the repository; null for an object it does not declare. */
  source: string | null;
  /**
   * Who applied it, when another repository than the run's did (docs/plan.md, Prune scope): its
   * name, or null when recorded without one; absent: the run's repository, or none.
   */
  appliedBy?: string | null;
  change: Change;
}

export interface ObjectsSnapshot {
  run: number;
  commit: string | null;
  plan: Plan;
  desired: DesiredState;
  live: LiveState | null;
  held: ReadonlySet<string>;
  applied: ApplyOutcome | null;
  repoRelative(file: string): string;
}

export interface ObjectFilter {
  /** Words every address must contain (any case), or '' for all. */
  q: string;
  status: SyncStatus | 'all';
  kind: string;
}

export interface ObjectsPage {
  total: number;
  /** Of all objects, the filter aside. */
  counts: Record<SyncStatus, number>;
  kinds: string[];
  matched: number;
  offset: number;
  rows: ObjectRow[];
}

export class ObjectsView {
  private rows: ObjectRow[] | null = null;

  constructor(readonly snapshot: ObjectsSnapshot) {}

  /** In plan order. */
  page(filter: ObjectFilter, offset: number, limit: number): ObjectsPage {
    const all = (this.rows ??= rowsOf(this.snapshot));
    const words = filter.q.toLowerCase().split(/\s+/).filter(Boolean);
    const matching = all.filter(
      (r) =>
        (filter.status === 'all' || r.sync === filter.status) &&
        (filter.kind === 'all' || r.kind === filter.kind) &&
        words.every((w) => r.address.toLowerCase().includes(w)),
    );
    const counts = Object.fromEntries(SYNC_STATUSES.map((s) => [s, 0])) as ObjectsPage['counts'];
    for (const r of all) counts[r.sync]++;
    const start = Math.max(0, Math.min(offset, matching.length - 1));
    return {
      total: all.length,
      counts,
      kinds: [...new Set(all.map((r) => r.kind))],
      matched: matching.length,
      offset: start,
      rows: matching.slice(start, start + limit),
    };
  }
}

function rowsOf(s: ObjectsSnapshot): ObjectRow[] {
  const declared = declaredObjects(s.desired);
  const statusOf = s.live && liveStatusOf(s.live);
  // Every kind as the run left it (an assignment it created was read as its plan's `before`:
  // "missing" until the next run), as /status `managed` and `state list` read it.
  const byAddress = s.live ? liveObjects(s.live) : new Map<string, object>();
  const owners = s.live && ownership(s.live, s.plan.inventory?.repository ?? null);
  const form = (c: Change) => (c.after ?? c.before ?? {}) as { pool?: string; clusters?: string[] };
  // A pool's clusters, for the queues whose selector is `*`.
  const members = new Map<string, string[]>();
  for (const c of s.plan.changes)
    if (c.kind === 'Cluster' && form(c).pool)
      members.set(form(c).pool!, [...(members.get(form(c).pool!) ?? []), c.name]);
  return s.plan.changes.map((c): ObjectRow => {
    const held = s.held.has(c.address);
    const appliedNow =
      !held && !['noop', 'blocked', 'unmanaged'].includes(c.action) && appliedByRun(c, s.applied);
    const sync: SyncStatus =
      c.action === 'noop' || appliedNow
        ? 'synced'
        : c.action === 'blocked' || c.action === 'unmanaged'
          ? c.action
          : held
            ? 'held'
            : 'out_of_sync';
    const live = byAddress.get(c.address) ?? null;
    const queue = c.kind === 'Queue' ? (live as { available_clusters?: string[] } | null) : null;
    const selector = form(c).clusters ?? [];
    const where = declared.get(c.address)?.source;
    const by = owners?.other(c.address);
    return {
      address: c.address,
      kind: c.kind,
      name: c.name,
      sync,
      appliedNow,
      live: () => (statusOf ? statusOf({ address: c.address, live: live ?? null }) : null),
      pool: c.kind === 'ClusterPool' ? c.name : (form(c).pool ?? null),
      clusters: queue?.available_clusters?.length
        ? queue.available_clusters
        : selector.includes(WILDCARD)
          ? (members.get(form(c).pool ?? '') ?? [])
          : selector,
      source: where ? `${s.repoRelative(where.file)}:${where.line}` : null,
      ...(by !== undefined ? { appliedBy: by || null } : {}),
      change: c,
    };
  });
}
