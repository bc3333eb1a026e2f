/**
 * A folder's load after a change, from its last load (issue 79 item 2): each file's share (its
 * manifests, document errors, counts) kept while its analysis is the same object; the rules of
 * rules.ts run again only for the objects a changed file declares, the objects that name them,
 * and the names they declare; the desired state's lists spliced. The result equals a whole load's
 * (index.ts finish, checkRules), error for error and byte for byte:
 * test/manifests/recheck.property.test.ts. Pure: the last FolderCheck in (consumed: its maps are
 * updated in place), the next out; src/incremental/analysis-cache.ts keeps it between loads.
 */
import { DEFAULT_POOL } from '../model/common.js';
import type { DesiredState, RepoConfig } from '../model/desired.js';
import {
  buildDesiredState,
  clusterPoolOf,
  desiredOf,
  desiredStateOf,
  DESIRED_LISTS,
  type DesiredLists,
} from './desired.js';
import type { DocumentResult, Manifest, PoolManifest } from './documents.js';
import { sortedErrors } from './report.js';
import {
  absentOf,
  checkFlyteRules,
  checkObjectStores,
  checkOwn,
  collect,
  declaredOf,
  duplicateErrors,
  firstByName,
  withheldReferences,
  groupKey,
  groupManifests,
  NAMED_KINDS,
  type Grouped,
  type KeySpace,
} from './rules.js';
import { MANIFEST_KINDS, type ManifestKind } from './schema.js';
import type { LoadCounts, LoadResult, SkippedEntry, ValidationError } from './types.js';
import { comparePaths } from './walk.js';
import { append } from '../util/append.js';

/** A file as the load read it: its analysis is the same object while its bytes are. */
export interface FileLoaded {
  readonly file: string;
  readonly analysis: { readonly documents: readonly DocumentResult[] };
}

export interface RecheckInput {
  /** The files read, in load order, with their analyses (environment patches merged). */
  readonly files: readonly FileLoaded[];
  /** Every error but the documents' and the rules' (poolsync.yaml, reads, YAML, patches). */
  readonly errors: readonly ValidationError[];
  /** Files and documents counted; the kinds are added here. */
  readonly counts: LoadCounts;
  readonly config: RepoConfig;
  readonly commit: string | null;
  readonly skipped: readonly SkippedEntry[];
}

/** What one file contributes, from its analysis alone. */
interface Share {
  readonly analysis: FileLoaded['analysis'];
  readonly grouped: Grouped;
  /** `Kind/name` of its documents that did not validate. */
  readonly broken: string[];
  readonly errors: ValidationError[];
  /** Its documents by kind (files and documents 0). */
  readonly counts: LoadCounts;
}

export interface FolderCheck {
  readonly result: LoadResult;
  readonly shares: Map<string, Share>;
  /** The first declaration of each key of each space, and all of them when more than one. */
  readonly first: Record<KeySpace, Map<string, Manifest>>;
  readonly more: Map<string, Manifest[]>;
  /** Errors of each object's own checks (checkOwn), of duplicates by key, of the global checks. */
  readonly own: Map<Manifest, ValidationError[]>;
  readonly groups: Map<string, ValidationError[]>;
  readonly stores: ValidationError[];
  readonly flyte: ValidationError[];
}

const SPACES: readonly KeySpace[] = [...NAMED_KINDS, 'V8', 'V12'];
const NAMED: ReadonlySet<string> = new Set(NAMED_KINDS);
const FLYTE_KINDS: ReadonlySet<ManifestKind> = new Set([
  'ExecutionCluster',
  'ClusterLabel',
  'ExecutionClusterLabel',
]);

/** `previous`: the last load of the same folder with the same poolsync.yaml, or null. */
export function recheck(previous: FolderCheck | null, input: RecheckInput): FolderCheck {
  const { files, config } = input;
  const order = new Map<string, number>();
  const shares = new Map<string, Share>();
  // The manifests of changed files as they were and as they are, and what they touch.
  const gone: Manifest[] = [];
  const came: Manifest[] = [];
  const brokenNames: string[] = [];
  const dropShare = (s: Share) => {
    for (const k of MANIFEST_KINDS) append(gone, s.grouped[k]);
    append(brokenNames, s.broken);
  };
  for (let i = 0; i < files.length; i++) {
    const { file, analysis } = files[i]!;
    order.set(file, i);
    const last = previous?.shares.get(file);
    if (last?.analysis === analysis) {
      shares.set(file, last);
      continue;
    }
    const share = shareOf(analysis);
    shares.set(file, share);
    for (const k of MANIFEST_KINDS) append(came, share.grouped[k]);
    append(brokenNames, share.broken);
    if (last) dropShare(last);
  }
  if (previous) for (const [file, s] of previous.shares) if (!order.has(file)) dropShare(s);

  const state: FolderCheck = previous
    ? { ...previous, shares }
    : {
        result: null!,
        shares,
        first: Object.fromEntries(SPACES.map((s) => [s, new Map()])) as FolderCheck['first'],
        more: new Map(),
        own: new Map(),
        groups: new Map(),
        stores: [],
        flyte: [],
      };
  const all = lazyGrouped(files, shares);
  // Names a changed file declares (or failed to): the objects reading them are checked again.
  const touched = previous ? touchedNames(gone, came, brokenNames) : null;
  // Each key's declarations before and from changed files never share a file: the walk's order
  // (sorted paths) orders them. From nothing, every object is checked: the keys in one pass.
  const namesChanged = previous
    ? updateKeys(state, gone, came, (a, b) => order.get(a.source.file)! - order.get(b.source.file)!)
    : firstKeys(state, came);

  const broken = new Set<string>();
  for (const s of shares.values()) for (const b of s.broken) broken.add(b);
  const { first, own } = state;
  const d = declaredOf(
    first.ClusterPool as Map<string, PoolManifest>,
    first.Cluster as Map<string, never>,
    first.Queue as Map<string, never>,
    broken,
  );
  const again = previous ? new Set<Manifest>(came) : came;
  for (const m of gone) own.delete(m);
  if (touched && again instanceof Set) {
    // Only an error's words list every name declared (V2, V8, V12): each is checked again.
    if (namesChanged) for (const m of own.keys()) again.add(m);
    readersOf(touched, files, shares, previous!.shares, again);
  }
  const absent = absentOf(config);
  const scratch: ValidationError[] = [];
  const add = collect(scratch);
  for (const m of again) {
    checkOwn(m, d, absent, add);
    if (scratch.length > 0) own.set(m, scratch.splice(0));
    else own.delete(m);
  }
  // The global checks, whole, when a changed file declares a kind they read.
  const kinds = new Set<ManifestKind>();
  if (previous) {
    for (const list of [gone, came]) for (const m of list) kinds.add(m.kind);
    for (const b of brokenNames) kinds.add(b.slice(0, b.indexOf('/')) as ManifestKind);
  }
  if (!previous || kinds.has('ClusterPool') || kinds.has('Cluster')) {
    state.stores.length = 0;
    const pools = firstByName(all().ClusterPool, () => undefined);
    checkObjectStores(pools, all().Cluster, collect(state.stores));
  }
  if (!previous || [...kinds].some((k) => FLYTE_KINDS.has(k))) {
    state.flyte.length = 0;
    checkFlyteRules(all(), collect(state.flyte));
  }

  const counts: LoadCounts = { ...input.counts };
  const errors: ValidationError[] = [...input.errors];
  for (let i = 0; i < files.length; i++) {
    const s = shares.get(files[i]!.file)!;
    addCounts(counts, s.counts);
    append(errors, s.errors);
  }
  for (const list of own.values()) append(errors, list);
  for (const list of state.groups.values()) append(errors, list);
  append(errors, state.stores);
  append(errors, state.flyte);
  const skipped = input.skipped.length > 0 ? { skipped: [...input.skipped] } : {};
  if (errors.length > 0) {
    const result = {
      valid: false as const,
      desired: null,
      errors: withheldReferences(sortedErrors(errors)),
      counts,
    };
    return { ...state, result: { ...result, ...skipped } };
  }
  const declared = MANIFEST_KINDS.filter((k) => {
    for (const s of shares.values()) if (s.grouped[k].length > 0) return true;
    return false;
  });
  const spliced =
    previous?.result.valid === true
      ? splicedLists(previous.result.desired, gone, came, touched!.Cluster, state.first)
      : null;
  const desired = spliced
    ? desiredStateOf(spliced, declared, config, input.commit)
    : buildDesiredState(all(), config, input.commit);
  return { ...state, result: { valid: true, desired, errors: [], counts, ...skipped } };
}

/** A file's documents: what collectDocuments (index.ts) adds to a whole load, kept per file. */
function shareOf(analysis: FileLoaded['analysis']): Share {
  const manifests: Manifest[] = [];
  const share: Share = {
    analysis,
    grouped: null!,
    broken: [],
    errors: [],
    counts: { pools: 0, clusters: 0, queues: 0, assignments: 0, files: 0, documents: 0 },
  };
  for (const r of analysis.documents) {
    append(share.errors, r.errors);
    if (r.kind !== null) countKind(share.counts, r.kind);
    if (r.manifest) manifests.push(r.manifest);
    else if (r.name && r.kind !== null) share.broken.push(`${r.kind}/${r.name}`);
  }
  return { ...share, grouped: groupManifests(manifests) };
}

/** The whole load's manifests by kind, in load order, made when first asked. */
function lazyGrouped(files: readonly FileLoaded[], shares: Map<string, Share>): () => Grouped {
  let g: Grouped | null = null;
  return () => {
    if (g) return g;
    g = groupManifests([]);
    for (const { file } of files) {
      const s = shares.get(file)!.grouped;
      for (const k of MANIFEST_KINDS) append(g[k] as Manifest[], s[k]);
    }
    return g;
  };
}

type Touched = Record<'ClusterPool' | 'Cluster' | 'Queue', Set<string>>;

function touchedNames(gone: Manifest[], came: Manifest[], broken: string[]): Touched {
  const t: Touched = { ClusterPool: new Set(), Cluster: new Set(), Queue: new Set() };
  for (const list of [gone, came])
    for (const m of list) if (m.kind in t) t[m.kind as keyof Touched].add(m.name);
  for (const b of broken) {
    const kind = b.slice(0, b.indexOf('/'));
    if (kind in t) t[kind as keyof Touched].add(b.slice(kind.length + 1));
  }
  return t;
}

/**
 * Each key a changed file declares (or declared): its declarations in load order, its first and
 * its duplicate errors (V1, V8, V12) made again. True when a pool, cluster or queue name came or
 * went (the words of V2, V8 and V12 list them).
 */
function updateKeys(
  state: FolderCheck,
  gone: Manifest[],
  came: Manifest[],
  byFile: (a: Manifest, b: Manifest) => number,
): boolean {
  const { first, more, groups } = state;
  const goneSet = new Set(gone);
  const keys = new Map<string, { space: KeySpace; key: string; came: Manifest[] }>();
  const note = (m: Manifest, arrived: boolean) => {
    const spaces = NAMED.has(m.kind) ? [{ space: m.kind as KeySpace, key: m.name }] : [];
    const grouped = groupKey(m);
    if (grouped) spaces.push(grouped);
    for (const { space, key } of spaces) {
      const id = `${space}\0${key}`;
      let entry = keys.get(id);
      if (!entry) keys.set(id, (entry = { space, key, came: [] }));
      if (arrived) entry.came.push(m);
    }
  };
  for (const m of gone) note(m, false);
  for (const m of came) note(m, true);
  let namesChanged = false;
  for (const [id, { space, key, came: arrived }] of keys) {
    const firstOf = first[space].get(key);
    const before = more.get(id) ?? (firstOf ? [firstOf] : []);
    const list = merged(
      before.filter((m) => !goneSet.has(m)),
      arrived,
      byFile,
    );
    if (list.length > 0) first[space].set(key, list[0]!);
    else first[space].delete(key);
    if (list.length > 1) more.set(id, list);
    else more.delete(id);
    if ((firstOf === undefined) !== (list.length === 0) && space !== 'V8' && space !== 'V12')
      namesChanged = true;
    groups.delete(id);
    if (list.length < 2) continue;
    const errors: ValidationError[] = [];
    duplicateErrors(space, key, list, collect(errors));
    groups.set(id, errors);
  }
  return namesChanged;
}

/** updateKeys from nothing: `came` (every manifest, in load order per kind) keyed in one pass. */
function firstKeys(state: FolderCheck, came: readonly Manifest[]): boolean {
  const { first, more, groups } = state;
  const keep = (space: KeySpace, key: string, m: Manifest) => {
    const f = first[space].get(key);
    if (f === undefined) return void first[space].set(key, m);
    const id = `${space}\0${key}`;
    const list = more.get(id);
    if (list) list.push(m);
    else more.set(id, [f, m]);
  };
  for (let i = 0; i < came.length; i++) {
    const m = came[i]!;
    if (NAMED.has(m.kind)) keep(m.kind as KeySpace, m.name, m);
    const grouped = groupKey(m);
    if (grouped) keep(grouped.space, grouped.key, m);
  }
  for (const [id, list] of more) {
    const cut = id.indexOf('\0');
    const errors: ValidationError[] = [];
    duplicateErrors(id.slice(0, cut) as KeySpace, id.slice(cut + 1), list, collect(errors));
    groups.set(id, errors);
  }
  return true;
}

/** Two lists in load order as one, `a`'s and `b`'s items from different files. */
function merged(a: Manifest[], b: Manifest[], byFile: (a: Manifest, b: Manifest) => number) {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: Manifest[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(byFile(a[i]!, b[j]!) < 0 ? a[i++]! : b[j++]!);
  return out.concat(a.slice(i), b.slice(j));
}

/**
 * The objects of unchanged files whose own checks read a touched name (checkOwn: a cluster its
 * pools; a queue its pool, co-named cluster and selector; an assignment its pool; a default queue
 * its queue), added to `again`. Only the kinds that read a touched kind are walked.
 */
function readersOf(
  t: Touched,
  files: readonly FileLoaded[],
  shares: Map<string, Share>,
  before: Map<string, Share>,
  again: Set<Manifest>,
): void {
  const pools = t.ClusterPool.size > 0;
  const clusters = t.Cluster.size > 0;
  if (!pools && !clusters && t.Queue.size === 0) return;
  const poolOf = (name: string) => t.ClusterPool.has(name);
  const clusterOf = (name: string) => t.Cluster.has(name);
  for (const { file } of files) {
    const s = shares.get(file)!;
    if (before.get(file) !== s) continue; // a changed file's objects are all checked
    const g = s.grouped;
    if (pools)
      for (const c of g.Cluster)
        if ((c.pools ?? [c.pool ?? DEFAULT_POOL]).some(poolOf)) again.add(c);
    if (pools || clusters)
      for (const q of g.Queue)
        if (
          clusterOf(q.name) ||
          poolOf(q.pool ?? DEFAULT_POOL) ||
          (Array.isArray(q.clusters) && q.clusters.some(clusterOf))
        )
          again.add(q);
    if (pools) for (const a of g.PoolAssignment) if (poolOf(a.pool)) again.add(a);
    for (const q of g.DefaultQueue) if (t.Queue.has(q.queue) || clusterOf(q.queue)) again.add(q);
  }
}

/**
 * The last valid desired state's lists with the changed files' objects taken out and put in at
 * their keys, and each queue whose co-named cluster changed made again; null when a key is not
 * where it should be (the caller builds the lists whole).
 */
function splicedLists(
  before: DesiredState,
  gone: Manifest[],
  came: Manifest[],
  clusters: ReadonlySet<string>,
  first: FolderCheck['first'],
): DesiredLists | null {
  const owner = (name: string) => {
    const c = first.Cluster.get(name);
    return c && c.kind === 'Cluster' ? clusterPoolOf(c) : undefined;
  };
  const drop = new Map<ManifestKind, string[]>();
  const put = new Map<ManifestKind, object[]>();
  const push = <T>(map: Map<ManifestKind, T[]>, kind: ManifestKind, item: T) => {
    const list = map.get(kind);
    if (list) list.push(item);
    else map.set(kind, [item]);
  };
  for (const m of gone) push(drop, m.kind, DESIRED_LISTS[m.kind].key(m as never));
  for (const m of came) push(put, m.kind, desiredOf(m, owner(m.name)));
  const cameSet = new Set(came);
  for (const name of clusters) {
    const q = first.Queue.get(name);
    if (!q || cameSet.has(q)) continue;
    push(drop, 'Queue', name);
    push(put, 'Queue', desiredOf(q, owner(name)));
  }
  const lists = { ...before } as Record<keyof DesiredLists, object[]>;
  for (const kind of MANIFEST_KINDS) {
    const { list, key } = DESIRED_LISTS[kind];
    const out = splice(
      (before[list] ?? []) as object[],
      drop.get(kind) ?? [],
      put.get(kind) ?? [],
      key,
    );
    if (out === null) return null;
    lists[list] = out;
  }
  return lists as DesiredLists;
}

/** `sorted` without the items at `drop`'s keys, with `add` at theirs; null if a key is missing. */
function splice<T>(
  sorted: readonly T[],
  drop: readonly string[],
  add: readonly T[],
  keyOf: (item: never) => string,
): T[] | null {
  const key = keyOf as (item: T) => string;
  const at = (k: string): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePaths(key(sorted[mid]!), k) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const dropped: number[] = [];
  for (const k of drop) {
    const i = at(k);
    if (i >= sorted.length || key(sorted[i]!) !== k) return null;
    dropped.push(i);
  }
  dropped.sort((a, b) => a - b);
  const added = add.map((item) => ({ k: key(item), item }));
  added.sort((a, b) => comparePaths(a.k, b.k));
  // Runs of kept items copied as slices, joined once (item by item was most of a splice).
  const parts: T[][] = [];
  let from = 0;
  let d = 0;
  const copyTo = (end: number) => {
    while (from < end) {
      while (d < dropped.length && dropped[d]! < from) d++;
      const stop = d < dropped.length ? Math.min(dropped[d]!, end) : end;
      if (stop > from) parts.push(sorted.slice(from, stop));
      from = stop;
      if (from < end && dropped[d] === from) from++;
    }
  };
  for (const { k, item } of added) {
    copyTo(at(k));
    parts.push([item]);
  }
  copyTo(sorted.length);
  // Spread arguments are bounded (a file of 100,000 objects renamed is as many parts).
  if (parts.length <= 1024) return ([] as T[]).concat(...parts);
  const out: T[] = [];
  for (const part of parts) for (let i = 0; i < part.length; i++) out.push(part[i]!);
  return out;
}

/** `share`'s kinds added to `total`, optional kinds in the order they first appear (as countKind). */
function addCounts(total: LoadCounts, share: LoadCounts): void {
  total.pools += share.pools;
  total.clusters += share.clusters;
  total.queues += share.queues;
  total.assignments += share.assignments;
  for (const key of Object.keys(share)) {
    if (key === 'default_queues')
      total.default_queues = (total.default_queues ?? 0) + share.default_queues!;
    else if (key === 'flyte') {
      const f = (total.flyte ??= {
        execution_clusters: 0,
        cluster_labels: 0,
        execution_cluster_labels: 0,
      });
      f.execution_clusters += share.flyte!.execution_clusters;
      f.cluster_labels += share.flyte!.cluster_labels;
      f.execution_cluster_labels += share.flyte!.execution_cluster_labels;
    }
  }
}

/** `items` pushed onto `list`: a spread of a file's 100,000 objects would overflow the stack. */
export function countKind(counts: LoadCounts, kind: string): void {
  if (kind === 'ClusterPool') counts.pools++;
  else if (kind === 'Cluster') counts.clusters++;
  else if (kind === 'Queue') counts.queues++;
  else if (kind === 'PoolAssignment') counts.assignments++;
  else if (kind === 'DefaultQueue') counts.default_queues = (counts.default_queues ?? 0) + 1;
  else {
    const f = (counts.flyte ??= {
      execution_clusters: 0,
      cluster_labels: 0,
      execution_cluster_labels: 0,
    });
    if (kind === 'ExecutionCluster') f.execution_clusters++;
    else if (kind === 'ClusterLabel') f.cluster_labels++;
    else if (kind === 'ExecutionClusterLabel') f.execution_cluster_labels++;
  }
}
