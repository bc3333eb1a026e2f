/**
 * What a plan records in the inventory (docs/plan.md, Prune by inventory): the declared
 * addresses, and those neither live nor declared any more (deleted outside poolsync: forgotten,
 * so a hand-made object given that name later is not pruned); what it lists, each as live; and
 * the live state an applied plan leaves. Pure; the store is src/apply/inventory.ts.
 */
import {
  address,
  assignmentKeyString,
  CLUSTER_FIELDS,
  type ClusterSettings,
  defaultQueueKeyString,
  pick,
  type ObjectKind,
  type Assignment,
  type PoolContract,
  type QueueSpec,
  sameContract,
} from '../model/common.js';
import type { DesiredState, SourceLocation } from '../model/desired.js';
import {
  MARK_ANNOTATION,
  PROTECTION_MARKS,
  budgetFields,
  protectionFields,
  protectionOf,
  type DeleteIdentity,
  type Protection,
  type ProtectionMark,
  type RecordedBudgets,
} from '../model/inventory.js';
import type {
  LiveState,
  LiveCluster,
  LiveDefaultQueue,
  LivePool,
  LiveQueue,
  MadeAgain,
} from '../model/live.js';
import type { PlanInventory, Change, Plan } from '../model/plan.js';
import { ownership } from './prune-scope.js';
import type { ExecutionClusterLabel } from '../model/flyte.js';
import { sameJson } from '../util/same-json.js';
import { diffAfter } from './forms.js';
import { ascending, firstAfter, isAscending, sortedHas, sortedUnion } from '../util/sorted.js';

type Declared = { address: string; source: SourceLocation }[];

const name = (t: { name: string }) => t.name;

/** Where a desired state lists a kind's objects, and the name of each (as its address says it). */
type Listed = (d: DesiredState) => [readonly { source: SourceLocation }[] | undefined, Named];
type Named = (o: never) => string;
const LISTED: Record<ObjectKind, Listed> = {
  ClusterPool: (d) => [d.pools, name],
  Cluster: (d) => [d.clusters, name],
  Queue: (d) => [d.queues, name],
  PoolAssignment: (d) => [d.assignments, assignmentKeyString],
  DefaultQueue: (d) => [d.default_queues, defaultQueueKeyString],
  ExecutionCluster: (d) => [d.execution_clusters, name],
  ClusterLabel: (d) => [d.cluster_labels, name],
  ExecutionClusterLabel: (d) => [d.execution_cluster_labels, assignmentKeyString],
};

/** Every kind a plan can name (a type error in LISTED: a new kind needs adding). */
export const OBJECT_KINDS = Object.keys(LISTED) as ObjectKind[];

/** The declared objects of each kind (of those `which` takes: addresses only where asked). */
export function declaredByKind(
  desired: DesiredState,
  which: (kind: ObjectKind) => boolean = () => true,
): [ObjectKind, Declared][] {
  return OBJECT_KINDS.filter(which).map((kind) => {
    const [list, key] = LISTED[kind](desired);
    return [
      kind,
      (list ?? []).map((o) => ({ address: address(kind, key(o as never)), source: o.source })),
    ];
  });
}

export function declaredObjects(desired: DesiredState): Map<string, { source: SourceLocation }> {
  const out = new Map<string, { source: SourceLocation }>();
  for (const kind of OBJECT_KINDS) {
    const [list, key] = LISTED[kind](desired);
    for (const o of list ?? []) out.set(address(kind, key(o as never)), o);
  }
  return out;
}

/**
 * declaredObjects, of `addresses` only: each found by a binary search of its kind's list, no
 * address made an object (the daemon's drift check of a one-line commit at 10,000 objects).
 */
export function declaredObjectsAt(
  desired: DesiredState,
  addresses: Iterable<string>,
): Map<string, { source: SourceLocation }> {
  const out = new Map<string, { source: SourceLocation }>();
  for (const a of addresses) {
    const slash = a.indexOf('/');
    const kind = a.slice(0, slash) as ObjectKind;
    if (slash < 0 || !Object.hasOwn(LISTED, kind)) continue;
    const [list = [], key] = LISTED[kind](desired);
    const name = a.slice(slash + 1);
    // Each list is sorted by its key (DesiredState), a stable sort: the last at or before
    // `name` is it, and of a name declared twice the last one, as in declaredObjects.
    const at = firstAfter(list, key as (item: object) => string, name) - 1;
    if (at >= 0 && key(list[at] as never) === name) out.set(address(kind, name), list[at]!);
  }
  return out;
}

export function declaresNothing(desired: DesiredState): boolean {
  return OBJECT_KINDS.every((kind) => !LISTED[kind](desired)[0]?.length);
}

/** Every address the repository declares of a kind poolsync can delete, sorted. */
export function declaredAddresses(desired: DesiredState): string[] {
  // Straight into one list: no {address, source} per object, nor a list a kind, to flatten.
  const out: string[] = [];
  for (const kind of OBJECT_KINDS) {
    if (kind === 'ExecutionCluster' || kind === 'ClusterLabel') continue;
    const [list, key] = LISTED[kind](desired);
    list?.forEach((o) => out.push(address(kind, key(o as never))));
  }
  return out.sort();
}

export function liveObjects(live: LiveState): Map<string, object> {
  const out = new Map<string, object>();
  const put = (kind: ObjectKind, name: string, o: object) => out.set(address(kind, name), o);
  for (const p of live.pools) put('ClusterPool', p.name, p);
  for (const c of live.clusters) put('Cluster', c.name, c);
  for (const q of live.queues) put('Queue', q.name, q);
  for (const a of live.assignments) put('PoolAssignment', assignmentKeyString(a), a);
  for (const d of live.default_queues ?? []) put('DefaultQueue', defaultQueueKeyString(d), d);
  for (const l of live.execution_cluster_labels ?? [])
    put('ExecutionClusterLabel', assignmentKeyString(l), l);
  return out;
}

/**
 * What tells the object a delete acts on from one another client made again under its name, as
 * the delete checks judge it (src/apply/steps.ts theShownOne): a cluster's or queue's pool (C7,
 * Q3), a pool's contract (P4), and for a setting its value (an assignment's pool, a default
 * queue's queue, a label's label). Of the same value, the two cannot be told apart.
 */
const IDENTITY: Partial<Record<ObjectKind, string>> = {
  ClusterPool: 'contract',
  Cluster: 'pool',
  Queue: 'pool',
  PoolAssignment: 'pool',
  DefaultQueue: 'queue',
  ExecutionClusterLabel: 'label',
};

/** The recorded addresses (`held`) a plan deletes, each with its identity as the plan showed it. */
export function deleteIdentities(
  changes: readonly Change[],
  held: (address: string) => boolean,
): Record<string, DeleteIdentity> {
  const out: Record<string, DeleteIdentity> = {};
  for (const c of changes) {
    const field = IDENTITY[c.kind];
    if (!field || c.action !== 'delete' || !held(c.address)) continue;
    const was = (c.before as Record<string, unknown> | null)?.[field];
    if (typeof was === 'string' || (typeof was === 'object' && was !== null)) out[c.address] = was;
  }
  return out;
}

/** Of `deletes` (deleteIdentities), those live now with another identity: made again since. */
export function madeAgain(
  live: LiveState,
  deletes: Readonly<Record<string, DeleteIdentity>>,
): Map<string, MadeAgain> {
  const out = new Map<string, MadeAgain>();
  const entries = Object.entries(deletes);
  if (entries.length === 0) return out;
  const found = liveObjects(live);
  for (const [at, was] of entries) {
    const now = found.get(at) as (Record<string, unknown> & { contract_known?: false }) | undefined;
    const field = IDENTITY[at.slice(0, at.indexOf('/')) as ObjectKind];
    // A hidden contract (Union) cannot be compared: left poolsync's, as the delete check does.
    if (!now || !field || now.contract_known === false) continue;
    const value = now[field];
    if (typeof was === 'string') {
      if (value !== was) out.set(at, { field, was, now: typeof value === 'string' ? value : null });
    } else if (!sameContract(value as PoolContract, was as PoolContract))
      out.set(at, { field, was: null, now: null });
  }
  return out;
}

export function isLive(live: LiveState, addr: string): boolean {
  return liveObjects(live).has(addr);
}

/** An inventory object as the control plane shows it (worded by src/render/live-status.ts). */
export interface ManagedObject {
  address: string;
  /** Null: missing. */
  live: object | null;
  /** The protection marks the inventory keeps for it (docs/plan.md, Guardrails); absent: none. */
  protection?: ProtectionMark[];
  /**
   * The repository that applied it (docs/plan.md, Prune scope); null: recorded without one (an
   * earlier build's record); absent: not known (a live state built in-process).
   */
  repository?: string | null;
}

interface ManagedObjects {
  /** False: the control plane has no inventory yet (nothing was applied or adopted). */
  recorded: boolean;
  count: number;
  missing: number;
  /** The first `limit`, by address. */
  objects: ManagedObject[];
  /** What `poolsync state forget` took out of management. */
  forgotten: string[];
  /** How many of `count` each repository applied, most first (null: recorded without one); absent: not known. */
  repositories?: { repository: string | null; count: number }[];
}

/** What the inventory lists, each as live (`poolsync state list`, the dashboard). */
export function managedObjects(live: LiveState, limit = Infinity): ManagedObjects {
  const found = liveObjects(live);
  const forgotten = new Set(live.forgotten ?? []);
  const managed = (live.inventory ?? []).filter((a) => !forgotten.has(a));
  // Of no repository (null), every one that applied an address is another's: its name.
  const known = live.inventory_owners !== undefined;
  const { other } = ownership(live, null);
  const by = known ? managed.map((a) => other(a) || null) : [];
  const counts = new Map<string | null, number>();
  for (const r of by) counts.set(r, (counts.get(r) ?? 0) + 1);
  return {
    recorded: live.inventory !== null && live.inventory !== undefined,
    count: managed.length,
    missing: managed.filter((a) => !found.has(a)).length,
    objects: managed.slice(0, limit).map((a, i) => {
      const marks = PROTECTION_MARKS.filter((m) => live[m]?.includes(a));
      return {
        address: a,
        live: found.get(a) ?? null,
        ...(marks.length ? { protection: marks } : {}),
        ...(known ? { repository: by[i]! } : {}),
      };
    }),
    forgotten: [...forgotten],
    ...(known
      ? {
          repositories: [...counts]
            .map(([repository, count]) => ({ repository, count }))
            .sort((x, y) => y.count - x.count),
        }
      : {}),
  };
}

/**
 * The live state as a repository named by its Git remote reads it (docs/plan.md, Prune scope):
 * what was recorded under `folder`, its path, the name it had before the remote was added, is its
 * own (its budget too, when it has none). `renamedFrom`: that name, absent when nothing is under it.
 */
export function withFolderRecords(
  live: LiveState,
  repository: string | null,
  folder: string | undefined,
): { live: LiveState; renamedFrom?: string } {
  const owners = live.inventory_owners;
  if (repository === null || folder === undefined || folder === repository || !owners?.[folder])
    return { live };
  const { [folder]: earlier, [repository]: own = [], ...others } = owners;
  const { [folder]: budget, ...budgets } = live.repository_guardrails ?? {};
  const ownBudget = live.repository_guardrails?.[repository] ?? budget;
  return {
    live: {
      ...live,
      inventory_owners: { ...others, [repository]: sortedUnion(own, earlier!) },
      ...(ownBudget ? { repository_guardrails: { ...budgets, [repository]: ownBudget } } : {}),
    },
    renamedFrom: folder,
  };
}

/**
 * The plan's `inventory`, when the live state carries one (read, or known to be absent). Its
 * `declared` is sorted here, once: what apply records merges with it (nextInventory).
 */
export function planInventory(
  desired: DesiredState,
  live: LiveState,
  marks: Partial<Record<ProtectionMark, string[]>> = declaredProtection(desired),
  repository: string | null = null,
  renamedFrom?: string,
): PlanInventory | undefined {
  if (live.inventory === undefined) return undefined;
  return inventoryOf(declaredAddresses(desired), live, {
    marks,
    repository,
    renamedFrom,
    guardrails: desired.config.guardrails,
  });
}

/**
 * planInventory of the sorted `declared` addresses: what else the apply records (`gone`, `adopts`)
 * follows from them and the live state `live`, as the plan's repository reads it.
 */
export function inventoryOf(
  declared: string[],
  live: LiveState,
  given: {
    marks: Partial<Record<ProtectionMark, string[]>>;
    repository: string | null;
    renamedFrom: string | undefined;
    guardrails: DesiredState['config']['guardrails'];
  },
): PlanInventory {
  const { marks, repository, renamedFrom, guardrails } = given;
  // Of this repository's entries only: another's are its own to drop.
  const owners = ownership(live, repository);
  const { own } = owners;
  // The live objects by address only once needed: a converged plan's entries are all declared,
  // and a plan declaring only what it holds adopts nothing (at 100,000 objects, no map of them).
  let here: Map<string, object> | undefined;
  const liveByAddress = () => (here ??= liveObjects(live));
  let gone: string[] = [];
  if (own && own.length > 0) {
    // Looked up in the sorted list (a recorded inventory is sorted too: one walk), not a set of
    // 100,000 addresses.
    const wanted = sortedHas(declared);
    gone = own.filter((a) => !wanted(a) && !liveByAddress().has(a));
  }
  const adopts = adoptedByApply(live, declared, repository, owners, liveByAddress);
  const earlier = adopts.filter((a) => owners.other(a) === '');
  return {
    found: live.inventory !== null && live.inventory !== undefined,
    ...(repository !== null ? { repository } : {}),
    ...(renamedFrom !== undefined ? { renamed_from: renamedFrom } : {}),
    declared,
    gone,
    ...(adopts.length > 0 ? { adopts } : {}),
    ...(earlier.length > 0 ? { adopts_recorded_without_repository: earlier } : {}),
    ...marks,
    ...(guardrails && Object.keys(guardrails).length > 0 ? { guardrails: { ...guardrails } } : {}),
  };
}

/** The declared addresses annotated with each protection mark, as the plan's inventory lists them. */
export function declaredProtection(
  desired: DesiredState,
): Partial<Record<ProtectionMark, string[]>> {
  const out: Record<ProtectionMark, string[]> = { prevent_destroy: [], confirm_destroy: [] };
  for (const kind of OBJECT_KINDS) {
    const [list, key] = LISTED[kind](desired);
    list?.forEach((o) => {
      const { annotations } = o as { annotations?: Record<string, string> };
      for (const m of PROTECTION_MARKS)
        if (annotations?.[MARK_ANNOTATION[m]] === 'true')
          out[m].push(address(kind, key(o as never)));
    });
  }
  return protectionFields({
    prevent_destroy: out.prevent_destroy.sort(),
    confirm_destroy: out.confirm_destroy.sort(),
  });
}

/**
 * The marks once a plan is applied (docs/plan.md, Protection): an address the repository declares
 * is marked as its manifest says now (so a commit without the annotation, applied, lifts it); one
 * it no longer declares keeps its mark, so removing or renaming a manifest never lifts it. Kept
 * for addresses in the inventory only. Null when nothing changes.
 */
export function nextProtection(
  current: Protection,
  inventory: PlanInventory,
  addresses: readonly string[],
): Record<ProtectionMark, string[]> | null {
  // Both lists are searched sorted (each sorted once: the plan's, the inventory's), and only
  // when there is a mark to keep or lift: most inventories have none.
  let declared: ((a: string) => boolean) | undefined;
  let kept: ((a: string) => boolean) | undefined;
  const was = protectionOf(current);
  const next = {} as Record<ProtectionMark, string[]>;
  let changed = false;
  for (const m of PROTECTION_MARKS) {
    const marked = new Set(
      was[m].filter((a) => !(declared ??= sortedHas(ascending(inventory.declared)))(a)),
    );
    for (const a of inventory[m] ?? []) marked.add(a);
    next[m] = [...marked].filter((a) => (kept ??= sortedHas(ascending(addresses)))(a)).sort();
    changed ||= next[m].length !== was[m].length || next[m].some((a, i) => a !== was[m][i]);
  }
  return changed ? next : null;
}

/**
 * The budgets once a plan is applied (docs/plan.md, The destroy budget): its repository's becomes
 * its commit's, `{}` when it sets none but one recorded without a repository would bind it; every
 * other repository's stays. A plan naming no repository (an earlier build's) records as that
 * build did, for every repository. Null when nothing changes.
 */
export function nextBudgets(
  current: RecordedBudgets,
  inventory: Pick<PlanInventory, 'repository' | 'guardrails'>,
): RecordedBudgets | null {
  const set = inventory.guardrails ?? null;
  const { guardrails: unnamed, repository_guardrails: named = {} } = current;
  if (inventory.repository === undefined)
    return sameJson(unnamed ?? null, set)
      ? null
      : budgetFields({
          ...(set ? { guardrails: set } : {}),
          repository_guardrails: current.repository_guardrails,
        });
  const own = set ?? (unnamed ? {} : null);
  if (sameJson(named[inventory.repository] ?? null, own)) return null;
  const others = Object.entries(named).filter(([r]) => r !== inventory.repository);
  const all = own ? [...others, [inventory.repository, own] as const] : others;
  return budgetFields({
    guardrails: unnamed,
    repository_guardrails:
      all.length > 0 ? Object.fromEntries(all.sort(([a], [b]) => (a < b ? -1 : 1))) : undefined,
  });
}

/**
 * The queues each cluster delete's wait watches, once a plan is recorded (docs/apply.md, Waits):
 * what was recorded plus this plan's `wait_idle` of a cluster it deletes, less the clusters the
 * apply deleted and those the repository declares and the plan keeps. Null when nothing changes.
 */
export function nextClusterWaits(
  current: Readonly<Record<string, readonly string[]>>,
  plan: Pick<Plan, 'steps' | 'inventory'>,
  deleted: ReadonlySet<string>,
): Record<string, string[]> | null {
  const deleting = new Set<string>();
  for (const s of plan.steps) if (s.op === 'delete_cluster') deleting.add(s.args.name);
  // Only a plan with a cluster delete, or a recorded wait, has anything to record: no set of
  // 100,000 declared addresses for the others.
  if (deleting.size === 0 && Object.keys(current).length === 0) return null;
  const declared = new Set(plan.inventory?.declared ?? []);
  const next = new Map<string, Set<string>>();
  for (const [cluster, queues] of Object.entries(current))
    if (deleting.has(cluster) || !declared.has(address('Cluster', cluster)))
      next.set(cluster, new Set(queues));
  for (const s of plan.steps)
    if (s.op === 'wait_idle' && deleting.has(s.args.cluster)) {
      const queues =
        next.get(s.args.cluster) ?? next.set(s.args.cluster, new Set()).get(s.args.cluster)!;
      for (const q of s.args.queues) queues.add(q);
    }
  for (const cluster of next.keys())
    if (deleted.has(address('Cluster', cluster))) next.delete(cluster);
  const out = Object.fromEntries(
    [...next].sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, q]) => [c, [...q].sort()]),
  );
  return sameJson(out, current) ? null : out;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The inventory once a plan's steps ran: what it held, plus what the repository declares,
 * less what the plan forgets, what the apply deleted and what it found another client's. Null when nothing changes (no write).
 */
export function nextInventory(
  current: readonly string[] | null,
  inventory: PlanInventory,
  deleted: ReadonlySet<string>,
  /** Not poolsync's: another client's (CONFLICT), or declared and never made (notMadeBy). */
  notOurs: ReadonlySet<string> = NONE,
): string[] | null {
  // One merge of two sorted lists (the plan's declared addresses, the recorded inventory), not
  // sets of both sorted again; a list out of order (edited by hand) is sorted first.
  const declared = ascending(inventory.declared);
  const was = ascending(current ?? []);
  const gone = new Set(inventory.gone);
  const next: string[] = [];
  let i = 0;
  let j = 0;
  while (i < was.length || j < declared.length) {
    const a = was[i];
    const d = declared[j];
    if (d === undefined || (a !== undefined && a < d)) {
      // Recorded, no longer declared: kept unless gone, deleted by this apply or another client's now.
      if (!gone.has(a!) && !deleted.has(a!) && !notOurs.has(a!)) next.push(a!);
      i++;
    } else {
      if (a === d) i++;
      if (!gone.has(d) && !notOurs.has(d)) next.push(d);
      j++;
    }
  }
  const same =
    current !== null && next.length === current.length && next.every((a, k) => a === current[k]);
  return same ? null : next;
}

/**
 * Whether recording a plan with nothing to do changes the inventory: declared objects its
 * repository's entries lack (or recorded without a repository: adopted), a protection mark or the
 * budget changed (an annotation is never sent, so it is no change).
 */
export function inventoryBehind(
  live: Pick<
    LiveState,
    | 'inventory'
    | 'inventory_owners'
    | 'forgotten'
    | 'prevent_destroy'
    | 'confirm_destroy'
    | 'guardrails'
    | 'repository_guardrails'
  >,
  inventory: PlanInventory,
  /** Declared objects that do not exist (apply/inventory.ts notMadeBy): not behind for lacking them. */
  notMade: ReadonlySet<string> = NONE,
): boolean {
  const owners = ownership(live, inventory.repository ?? null);
  const current = owners.own ?? null;
  const held = sortedHas(ascending(current ?? []));
  const next = nextInventory(
    current,
    inventory,
    new Set(),
    new Set([...notMade].filter((a) => !held(a))),
  );
  return (
    inventory.renamed_from !== undefined ||
    next !== null ||
    inventory.declared.some((a) => owners.other(a) === '') ||
    nextProtection(live, inventory, sortedUnion(live.inventory ?? [], live.forgotten ?? [])) !==
      null ||
    nextBudgets(live, inventory) !== null
  );
}

/**
 * What a plan's apply adopts: the declared live objects poolsync did not apply, in no
 * repository's part of the inventory (made by another tool, or recorded without a repository by
 * an earlier build), recorded as `repository`'s from then on (docs/plan.md, Prune by inventory).
 * A plan naming no repository records those as that build did, without one: only the unrecorded.
 */
function adoptedByApply(
  live: LiveState,
  declared: readonly string[],
  repository: string | null,
  { own, other }: ReturnType<typeof ownership>,
  liveByAddress: () => ReadonlyMap<string, object>,
): string[] {
  const mine = sortedHas(ascending(own ?? []));
  const forgotten = sortedHas(ascending(live.forgotten ?? []));
  const unowned = (by: string | undefined) =>
    by === undefined || (by === '' && repository !== null);
  const candidates = declared.filter((a) => !mine(a) && !forgotten(a) && unowned(other(a)));
  if (candidates.length === 0) return [];
  const here = liveByAddress();
  return candidates.filter((a) => here.has(a));
}

/**
 * What this repository declares that the inventory records as another repository's: address →
 * that repository (docs/plan.md, Prune scope). Left as that one applied it, never taken over:
 * Argo CD warns of a resource two applications track (SharedResourceWarning) and Helm 3 refuses
 * to adopt one another release owns; quality.md: nothing poolsync does not manage is changed.
 */
export function repositoryConflicts(
  desired: DesiredState,
  live: Pick<LiveState, 'inventory_owners'>,
  repository: string | null,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [other, list] of Object.entries(live.inventory_owners ?? {}))
    if (other !== repository && list.length > 0)
      for (const at of declaredObjectsAt(desired, list).keys()) out.set(at, other);
  return out;
}

/** The desired state without `drop`'s addresses: what this repository plans, sends and records. */
export function withoutAddresses(
  desired: DesiredState,
  drop: ReadonlyMap<string, unknown>,
): DesiredState {
  if (drop.size === 0) return desired;
  const keep = <T>(kind: ObjectKind, list: T[] | undefined): T[] | undefined => {
    const key = LISTED[kind](desired)[1];
    return list?.filter((o) => !drop.has(address(kind, key(o as never))));
  };
  const { default_queues: settings, execution_cluster_labels: labels } = desired;
  return {
    ...desired,
    pools: keep('ClusterPool', desired.pools)!,
    clusters: keep('Cluster', desired.clusters)!,
    queues: keep('Queue', desired.queues)!,
    assignments: keep('PoolAssignment', desired.assignments)!,
    ...(settings ? { default_queues: keep('DefaultQueue', settings) } : {}),
    ...(labels ? { execution_cluster_labels: keep('ExecutionClusterLabel', labels) } : {}),
  };
}

function applied<T>(
  live: readonly T[] | undefined,
  changes: readonly Change[],
  key: (t: T) => string,
  make: (change: Change, was: T | undefined) => T,
): T[] {
  const was = live ?? [];
  const keys = was.map(key);
  const names = changes.map((c) => c.name);
  // A control plane lists by name, the planner changes by name: one merge of the two, not a map
  // of every live object sorted again (a list out of order takes the map).
  if (!isAscending(keys) || !isAscending(names)) return appliedByMap(was, keys, changes, make);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < was.length || j < changes.length) {
    if (j === changes.length || (i < was.length && keys[i]! < names[j]!)) {
      out.push(was[i++]!);
      continue;
    }
    const c = changes[j++]!;
    const before = i < was.length && keys[i] === c.name ? was[i++] : undefined;
    if (c.after !== null) out.push(make(c, before));
  }
  return out;
}

function appliedByMap<T>(
  live: readonly T[],
  keys: readonly string[],
  changes: readonly Change[],
  make: (change: Change, was: T | undefined) => T,
): T[] {
  const byKey = new Map(live.map((t, i) => [keys[i]!, t]));
  for (const c of changes) {
    if (c.after === null) byKey.delete(c.name);
    else byKey.set(c.name, make(c, byKey.get(c.name)));
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
}

const DONE: ReadonlySet<Change['action']> = new Set(['create', 'update', 'replace', 'delete']);

/**
 * A queue as the plan leaves it, its drain state included (issue 73 item 2): the `state` its
 * change shows, else as it was; one the plan brings (created, undeleted) serves (capability
 * `drain`), so drift compares it with what the control plane then shows.
 */
function withState(
  was: Omit<LiveQueue, keyof QueueSpec>,
  spec: QueueSpec,
  c: Change,
  drain: boolean,
): LiveQueue {
  const q: LiveQueue = { ...was, ...spec };
  const to = diffAfter(c, 'state');
  if (typeof to === 'string') q.state = to as LiveQueue['state'];
  else if (was.state === undefined && drain && c.before === null) q.state = 'active';
  return q;
}

/**
 * With `drain`, a cluster's co-named queue drains with it and is activated with it (Union:
 * remote/_cluster.py:361-363, 396-398; the embedded store's conamedFollows): a cluster the plan
 * registers disabled, drains or enables leaves its co-named queue so, though no change of the
 * queue's says it (its note does). Without this the record said `active` for the queue of a
 * cluster registered disabled, and `plan --refresh-only` showed poolsync's own apply as drift.
 * Only the plan's update_cluster calls do it: a registration leaves a co-named queue already
 * there as it is (C2, the C7 trap), so one an interrupted replace left drained stays drained.
 */
function conamedFollow(
  out: LiveState,
  steps: Plan['steps'],
  queues: readonly Change[],
): LiveQueue[] {
  const follows = new Map<string, boolean>();
  for (const s of steps) if (s.op === 'update_cluster') follows.set(s.args.name, s.args.enabled);
  if (follows.size === 0) return out.queues;
  // Co-named: Union made it with its cluster (live), or the plan's registration does.
  const made = new Set(
    queues.filter((c) => c.caused_by === address('Cluster', c.name)).map((c) => c.name),
  );
  return out.queues.map((q) => {
    const enabled = follows.get(q.name);
    if (enabled === undefined || !(q.cluster_managed || made.has(q.name))) return q;
    return { ...q, state: enabled ? 'active' : 'drained' };
  });
}

/**
 * The live state a plan leaves once done, recorded by `apply` for `plan --refresh-only` without
 * reading again (a plan is a promise): the settable fields from the plan, reports as read.
 */
export function appliedState(live: LiveState, plan: Plan): LiveState {
  // A side effect happens with its cause's step, whatever else blocks (a co-named queue left
  // behind by a re-registered cluster, C7).
  const done = new Map<Change['kind'], Change[]>();
  plan.changes.forEach((c) => {
    if (!DONE.has(c.action) && !c.caused_by) return;
    const list = done.get(c.kind);
    if (list) list.push(c);
    else done.set(c.kind, [c]);
  });
  const by = (kind: Change['kind']) => done.get(kind) ?? [];
  // A kind whose settable form is the whole object (assignments, settings, labels).
  const keyed = <T>(list: readonly T[] | undefined, kind: Change['kind'], key: (t: T) => string) =>
    applied<T>(list, by(kind), key, (c) => c.after as T);
  const out: LiveState = {
    ...live,
    pools: applied<LivePool>(live.pools, by('ClusterPool'), name, (c, was) => ({
      name: c.name,
      member_clusters: was?.member_clusters ?? [],
      ...(c.after as { contract: PoolContract }),
    })),
    clusters: applied<LiveCluster>(live.clusters, by('Cluster'), name, (c, was) => ({
      ...(was ?? { health: 'unknown', unhealthy_reasons: [], config_drift: [], bound_queues: [] }),
      name: c.name,
      // Its stored fields: a registration's `after` also shows the data plane it sends (C4).
      ...pick(c.after as ClusterSettings, CLUSTER_FIELDS),
    })),
    queues: applied<LiveQueue>(live.queues, by('Queue'), name, (c, was) =>
      withState(
        { cluster_managed: false, available_clusters: [], ...was, name: c.name },
        c.after as QueueSpec,
        c,
        live.capabilities.drain,
      ),
    ),
    assignments: keyed<Assignment>(live.assignments, 'PoolAssignment', assignmentKeyString),
  };
  if (live.capabilities.drain) out.queues = conamedFollow(out, plan.steps, by('Queue'));
  if (live.default_queues)
    out.default_queues = keyed<LiveDefaultQueue>(
      live.default_queues,
      'DefaultQueue',
      defaultQueueKeyString,
    );
  if (live.execution_cluster_labels || by('ExecutionClusterLabel').length > 0)
    out.execution_cluster_labels = keyed<ExecutionClusterLabel>(
      live.execution_cluster_labels,
      'ExecutionClusterLabel',
      assignmentKeyString,
    );
  return out;
}
