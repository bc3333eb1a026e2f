/**
 * Cross-document rules of manifests.md (V1–V16). Pure: manifests in, errors out. Every lookup
 * goes through a Map built once, so the pass stays linear in the number of objects.
 */
import { canonicalSelector } from '../gen/union/accelerators.js';
import {
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  WILDCARD,
  assignmentKeyString,
  dataPlaneMismatches,
  DATA_PLANE_CONTRACT,
} from '../model/common.js';
import type { RepoConfig } from '../model/desired.js';
import { bucketOf, weightProblem } from '../model/flyte.js';
import {
  intact,
  positionOf,
  usable,
  type AssignmentManifest,
  type ClusterLabelManifest,
  type ClusterManifest,
  type DefaultQueueManifest,
  type ExecutionClusterLabelManifest,
  type ExecutionClusterManifest,
  type Manifest,
  type PoolManifest,
  type QueueManifest,
} from './documents.js';
import { MANIFEST_KINDS, type ManifestKind } from './schema.js';
import { didYouMean, meant } from './suggest.js';
import type { ValidationCode, ValidationError } from './types.js';

export type Grouped = { [K in ManifestKind]: Extract<Manifest, { kind: K }>[] };

export function groupManifests(manifests: readonly Manifest[]): Grouped {
  const g = Object.fromEntries(MANIFEST_KINDS.map((k) => [k, []])) as unknown as Grouped;
  // Index loops here and below: run once, they stay unoptimised, where `for…of` makes an
  // iterator result per object (~15 MB over a load of 100,000 objects).
  for (let i = 0; i < manifests.length; i++) {
    const m = manifests[i]!;
    (g[m.kind] as Manifest[]).push(m);
  }
  return g;
}

/** A field of a manifest, from its root (`['spec', 'clusters', 2]`). */
type Path = (string | number)[];
/** A pool's object store (V7, V13). */
const STORE_URI: Path = ['spec', 'object_store_ref', 'uri'];
/** Every error of a check is added to the manifest `m` it is about (recheck.ts files it there). */
export type Add = (code: ValidationCode, m: Manifest, path: Path, message: string) => void;

export function collect(errors: ValidationError[]): Add {
  return (code, m, path, message) => {
    const pos = positionOf(m.root, ...path);
    const file = pos.file ?? m.source.file;
    errors.push({ code, message, file, line: pos.line, column: pos.column, address: m.address });
  };
}

/** Where `path` of `m` is, as its errors are placed (collect): a message names the other's so. */
function fieldAt(m: Manifest, path: Path): string {
  const pos = positionOf(m.root, ...path);
  return `${pos.file ?? m.source.file}:${pos.line}:${pos.column}`;
}

/** Keeps the first manifest of each key; a later one is reported with it, each naming the other. */
function keepFirst<T extends Manifest>(
  add: Add,
  code: ValidationCode,
  byKey: Map<string, T>,
  key: string,
  m: T,
  path: Path,
  message: (other: T) => string,
): void {
  const first = byKey.get(key);
  if (!first) byKey.set(key, m);
  else {
    add(code, m, path, message(first));
    add(code, first, path, message(m));
  }
}

/** V1: the first declaration of each name; later ones are errors. */
function firstByName<T extends Manifest>(list: readonly T[], add: Add): Map<string, T> {
  const byName = new Map<string, T>();
  // keepFirst written out: its path and closure per object were most of what this pass allocated.
  for (let i = 0; i < list.length; i++) {
    const m = list[i]!;
    const first = byName.get(m.name);
    if (!first) byName.set(m.name, m);
    else {
      add('V1', m, ['metadata', 'name'], duplicateName(m, first));
      add('V1', first, ['metadata', 'name'], duplicateName(m, m));
    }
  }
  return byName;
}

/** The kinds V1 holds to one declaration per name here (the Flyte kinds' is in checkFlyteRules). */
export const NAMED_KINDS = [
  'ClusterPool',
  'Cluster',
  'Queue',
  'PoolAssignment',
  'DefaultQueue',
] as const;
/** Where a declaration must be alone: a kind's names (V1), assignment keys (V8), default-queue keys (V12). */
export type KeySpace = (typeof NAMED_KINDS)[number] | 'V8' | 'V12';

/** The key of `m` in the spaces other than its kind's names (V8, V12), when it has a usable one. */
export function groupKey(m: Manifest): { space: 'V8' | 'V12'; key: string } | null {
  if (m.kind === 'PoolAssignment')
    return keyUsable(m) ? { space: 'V8', key: assignmentKeyString(m) } : null;
  if (m.kind === 'DefaultQueue' && usable(m, '/spec/project') && usable(m, '/spec/domain'))
    return { space: 'V12', key: `${m.project}/${m.domain}` };
  return null;
}

/**
 * The errors of a key declared more than once (`list` in load order): each later declaration and
 * the first name each other, as firstByName and keepFirst report them in one pass.
 */
export function duplicateErrors(
  space: KeySpace,
  key: string,
  list: readonly Manifest[],
  add: Add,
): void {
  const first = list[0]!;
  for (let i = 1; i < list.length; i++) {
    const m = list[i]!;
    if (space === 'V8' || space === 'V12') {
      add(space, m, ['spec'], sameKey(space, key, first));
      add(space, first, ['spec'], sameKey(space, key, m));
    } else {
      add('V1', m, ['metadata', 'name'], duplicateName(m, first));
      add('V1', first, ['metadata', 'name'], duplicateName(m, m));
    }
  }
}

function sameKey(space: 'V8' | 'V12', key: string, other: Manifest): string {
  return space === 'V8'
    ? `assignment key ${key} is also set by '${other.name}' at ${fieldAt(other, ['spec'])}; keep one (A1)`
    : `the default queue of ${key} is also set by '${other.name}' at ${fieldAt(other, ['spec'])}; keep one (V12)`;
}

function duplicateName(m: Manifest, other: Manifest): string {
  return `duplicate ${m.kind} '${m.name}': also declared at ${fieldAt(other, ['metadata', 'name'])}`;
}

/** `Kind/name` of documents that failed their schema: declared, so dependents are no error. */
type Broken = ReadonlySet<string>;

/** What the checks of one object read of the others: the first declaration of each name. */
export interface Declared {
  pools: ReadonlyMap<string, PoolManifest>;
  clusters: ReadonlyMap<string, ClusterManifest>;
  queues: ReadonlyMap<string, QueueManifest>;
  broken: Broken;
  poolExists: (name: string) => boolean;
  /** Why an undeclared pool is an error, with the pools declared. */
  unknownPool: (name: string) => string;
  /** V12: a queue a DefaultQueue may name. */
  queueExists: (name: string) => boolean;
  /** The queues a DefaultQueue may name, sorted. */
  queueNames: () => string[];
}

export function declaredOf(
  pools: ReadonlyMap<string, PoolManifest>,
  clusters: ReadonlyMap<string, ClusterManifest>,
  queues: ReadonlyMap<string, QueueManifest>,
  broken: Broken,
): Declared {
  // Built on the first unknown name only: a clean repository pays nothing for them.
  let names: string[] | null = null;
  let queueNames: string[] | null = null;
  return {
    pools,
    clusters,
    queues,
    broken,
    poolExists: (name) =>
      name === DEFAULT_POOL || pools.has(name) || broken.has(`ClusterPool/${name}`),
    unknownPool: (name) =>
      notDeclared(
        'pool',
        name,
        // `default` last, once, whether or not a document declares it.
        (names ??= [...[...pools.keys()].filter((p) => p !== DEFAULT_POOL).sort(), DEFAULT_POOL]),
      ),
    queueExists: (name) =>
      name === DEFAULT_QUEUE ||
      queues.has(name) ||
      clusters.has(name) ||
      broken.has(`Cluster/${name}`) ||
      broken.has(`Queue/${name}`),
    queueNames: () =>
      (queueNames ??= [...new Set([...queues.keys(), ...clusters.keys(), DEFAULT_QUEUE])].sort()),
  };
}

export function checkRules(g: Grouped, broken: Broken): ValidationError[] {
  const errors: ValidationError[] = [];
  const add = collect(errors);
  const pools = firstByName(g.ClusterPool, add);
  const d = declaredOf(pools, firstByName(g.Cluster, add), firstByName(g.Queue, add), broken);
  firstByName(g.PoolAssignment, add);
  firstByName(g.DefaultQueue, add);
  for (let i = 0; i < g.Cluster.length; i++) checkCluster(g.Cluster[i]!, d, add);
  for (let i = 0; i < g.Queue.length; i++) checkQueue(g.Queue[i]!, d, add);
  checkAssignments(g.PoolAssignment, d, add);
  checkDefaultQueues(g.DefaultQueue, d, add);
  checkObjectStores(pools, g.Cluster, add);
  checkFlyteRules(g, add);
  checkQueueCaps(g.Queue, add);
  return errors;
}

/**
 * The checks of one object against the others' first declarations (checkRules runs them kind by
 * kind, with the duplicate and global checks); every error is added to `m`. `absent`: checkAbsent's.
 */
export function checkOwn(m: Manifest, d: Declared, absent: Absent | null, add: Add): void {
  if (m.kind === 'Cluster') checkCluster(m, d, add);
  else if (m.kind === 'Queue') {
    checkQueue(m, d, add);
    checkQueueCap(m, add);
  } else if (m.kind === 'PoolAssignment') checkAssignmentPool(m, d, add);
  else if (m.kind === 'DefaultQueue') checkDefaultQueueTarget(m, d, add);
  if (absent !== null) checkAbsentOf(m, absent, (name) => d.clusters.has(name), add);
}

// The checks recheck.ts runs whole when a changed file declares a kind they read: object stores
// (V7, V13: pools and clusters), the Flyte kinds (V1, V9–V11, V14).
export { checkFlyteRules, checkObjectStores, firstByName };

const NOT_DECLARED = 'is not declared';

/**
 * A file that did not parse (YAML) or was not read (IO) may declare any name, so an error naming
 * an undeclared one is withheld until it reads (manifests.md); the first such error says so.
 */
export function withheldReferences(sorted: ValidationError[]): ValidationError[] {
  const unread = sorted.find((e) => e.code === 'YAML' || e.code === 'IO');
  if (unread === undefined) return sorted;
  const kept = sorted.filter((e) => !(e.code.startsWith('V') && e.message.includes(NOT_DECLARED)));
  const withheld = sorted.length - kept.length;
  if (withheld === 0) return sorted;
  const refs = withheld === 1 ? 'reference to a name' : 'references to names';
  const message = `${unread.message} (${withheld} ${refs} not declared withheld until every file reads: this one may declare them)`;
  kept[kept.indexOf(unread)] = { ...unread, message };
  return kept;
}

function notDeclared(what: string, name: string, declared: readonly string[]): string {
  const list = declared.length > 0 ? declared.join(', ') : 'none';
  const hit = meant(name, declared);
  // One bracket: the guess, then the list it was taken from.
  return `${what} '${name}' ${NOT_DECLARED} (${hit !== null ? `did you mean '${hit}'? ` : ''}declared: ${list})`;
}

function clusterPools(c: ClusterManifest): string[] {
  return c.pools ?? [c.pool ?? DEFAULT_POOL];
}

/** clusterPools without repeats; no Set for the one pool of most clusters. */
function distinctPools(c: ClusterManifest): string[] {
  return c.pools == null ? [c.pool ?? DEFAULT_POOL] : [...new Set(c.pools)];
}

/** `clusterPools(c)[0]` without making the list. */
function firstPool(c: ClusterManifest): string | undefined {
  return c.pools != null ? c.pools[0] : (c.pool ?? DEFAULT_POOL);
}

function checkCluster(c: ClusterManifest, d: Declared, add: Add): void {
  // V5 (C1): `default` is reserved.
  if (c.name === DEFAULT_POOL) {
    const message = `a cluster cannot be named 'default' (reserved, C1): rename it`;
    add('V5', c, ['metadata', 'name'], message);
  }
  if (c.pool !== null && c.pools !== null) {
    const message = `cluster '${c.name}': give pool (one pool) or pools (Union self-managed's pool map), not both`;
    add('SCHEMA', c, ['spec', 'pools'], message);
  }
  // A pool field that failed its schema is already reported; V2 and V6 need its value.
  if (!usable(c, '/spec/pool') || !usable(c, '/spec/pools')) return;
  // Its pools read in place: clusterPools' list and a closure per cluster were ~3 MB of a
  // 100,000-object load (20,000 clusters).
  const count = c.pools ? c.pools.length : 1;
  for (let i = 0; i < count; i++) {
    const poolName = c.pools ? c.pools[i]! : (c.pool ?? DEFAULT_POOL);
    // V2 (C1): the pool must exist.
    if (!d.poolExists(poolName)) {
      const at = c.pools ? ['spec', 'pools', i] : ['spec', 'pool'];
      add('V2', c, at, `cluster '${c.name}': ${d.unknownPool(poolName)}`);
      continue;
    }
    // V6 (C4): declared data-plane values equal the contract (the object store by bucket); the
    // `default` pool's is checked only when declared, one marked unknown never.
    const pool = d.pools.get(poolName);
    if (pool?.contract && c.data_plane) checkDataPlane(c, pool, add);
  }
}

/** The key as written, or the document's name when the key is not even strings. */
function keyLabel(m: AssignmentManifest | ExecutionClusterLabelManifest): string {
  const domain = m.domain !== '' || (m.kind === 'ExecutionClusterLabel' && projectWide(m));
  return m.project !== '' && domain ? assignmentKeyString(m) : `'${m.name}'`;
}

/** An ExecutionClusterLabel declared without a domain: flyteadmin's project-wide row. */
function projectWide(m: ExecutionClusterLabelManifest): boolean {
  return m.domain === '' && m.workflow === null && usable(m, '/spec/domain');
}

function keyUsable(m: AssignmentManifest | ExecutionClusterLabelManifest): boolean {
  return usable(m, '/spec/project') && usable(m, '/spec/domain') && usable(m, '/spec/workflow');
}

/** V8 (A1): assignments name an existing pool, one per key. */
function checkAssignments(assignments: AssignmentManifest[], d: Declared, add: Add): void {
  const byKey = new Map<string, AssignmentManifest>();
  for (let i = 0; i < assignments.length; i++) {
    const a = assignments[i]!;
    checkAssignmentPool(a, d, add);
    if (!keyUsable(a)) continue;
    const key = assignmentKeyString(a);
    keepFirst(add, 'V8', byKey, key, a, ['spec'], (other) => sameKey('V8', key, other));
  }
}

function checkAssignmentPool(a: AssignmentManifest, d: Declared, add: Add): void {
  if (usable(a, '/spec/pool') && !d.poolExists(a.pool))
    add('V8', a, ['spec', 'pool'], `assignment ${keyLabel(a)}: ${d.unknownPool(a.pool)}`);
}

function checkDataPlane(c: ClusterManifest, pool: PoolManifest, add: Add): void {
  for (const m of dataPlaneMismatches(pool.contract!, c.data_plane!)) {
    // Only values well-formed on both sides are compared: a broken one is already reported.
    if (
      !usable(c, `/spec/data_plane/${m.field.replace('.', '/')}`) ||
      !usable(pool, `/spec/${DATA_PLANE_CONTRACT[m.field].replace('.', '/')}`) ||
      (m.field === 'object_store_uri' && sameBucket(m.declared, m.contract))
    )
      continue;
    const message =
      `cluster '${c.name}': data_plane.${m.field} is ${JSON.stringify(m.declared)} but pool '${pool.name}' requires ` +
      `${m.contract === '' ? 'no image registry' : JSON.stringify(m.contract)} (C4)`;
    add('V6', c, ['spec', 'data_plane', ...m.field.split('.')], message);
  }
}

function checkQueue(q: QueueManifest, d: Declared, add: Add): void {
  // `default` is the default queue whatever else is declared: a cluster of that name is V5's own
  // error (C1), and must not change the queue's (one typo, one error: manifests.md).
  const owner = q.name === DEFAULT_QUEUE ? undefined : d.clusters.get(q.name);
  // V5 (C2, Q4, P1, Q5): a managed queue's pool and selector are not the repo's to choose.
  if (owner || q.name === DEFAULT_QUEUE) return checkManagedQueue(q, owner, add);
  const poolKnown = usable(q, '/spec/pool');
  const poolName = q.pool ?? DEFAULT_POOL;
  // V2 (Q1)
  if (poolKnown && !d.poolExists(poolName))
    add('V2', q, ['spec', 'pool'], `queue '${q.name}': ${d.unknownPool(poolName)}`);
  // A selector that is not a list of entries was reported by the schema; nothing to add.
  if (!intact(q, '/spec/clusters')) return;
  const selector = q.clusters ?? [WILDCARD];
  // V4 (Q1): "*" must be the only entry.
  const star = selector.indexOf(WILDCARD);
  // `["*", "*"]` is the schema's repeat alone, not also V4's.
  if (star !== -1 && selector.some((name) => name !== WILDCARD)) {
    const message = `queue '${q.name}': "*" selects every cluster of the pool and must be the only entry; remove it or the cluster names`;
    add('V4', q, ['spec', 'clusters', star], message);
  }
  // V3 (Q1): named clusters are declared, in the queue's pool. Nothing made per right entry: a
  // closure, a path and a pointer per entry were a tenth of the pass.
  // The schema names one repeat per list: a third copy is not checked again either.
  const checked = q.faults.length > 0 ? new Set<string>() : null;
  for (let i = 0; i < selector.length; i++) {
    const name = selector[i]!;
    if (name === WILDCARD || (checked && (!usable(q, `/spec/clusters/${i}`) || checked.has(name))))
      continue;
    checked?.add(name);
    const c = d.clusters.get(name);
    if (!c) {
      if (!d.broken.has(`Cluster/${name}`)) {
        const message = `queue '${q.name}': cluster '${name}' ${NOT_DECLARED}`;
        add('V3', q, ['spec', 'clusters', i], message);
      }
    } else if (poolKnown && usable(c, '/spec/pool') && firstPool(c) !== poolName) {
      const message = `queue '${q.name}' is in pool '${poolName}' but cluster '${name}' is in pool '${firstPool(c)}'; a queue routes only to clusters of its pool`;
      add('V3', q, ['spec', 'clusters', i], message);
    }
  }
}

/** V5 of the default queue, or of a cluster's co-named queue (`owner`). */
function checkManagedQueue(q: QueueManifest, owner: ClusterManifest | undefined, add: Add): void {
  const managedPool = owner ? clusterPools(owner)[0]! : DEFAULT_POOL;
  const managedSelector = owner ? [owner.name] : [WILDCARD];
  const what = owner
    ? `the co-named queue of cluster '${owner.name}' (C2, Q4)`
    : `the default queue (P1, Q5)`;
  const poolKnown = usable(q, '/spec/pool') && (!owner || usable(owner, '/spec/pool'));
  if (poolKnown && q.pool !== null && q.pool !== managedPool) {
    const message = `queue '${q.name}' is ${what}: its pool is '${managedPool}', not '${q.pool}'; omit spec.pool`;
    add('V5', q, ['spec', 'pool'], message);
  }
  if (
    usable(q, '/spec/clusters') &&
    q.clusters !== null &&
    JSON.stringify(q.clusters) !== JSON.stringify(managedSelector)
  ) {
    const message = `queue '${q.name}' is ${what}: its selector is ${JSON.stringify(managedSelector)}, not ${JSON.stringify(q.clusters)}; omit spec.clusters`;
    add('V5', q, ['spec', 'clusters'], message);
  }
}

/**
 * V12 (Union v2): a DefaultQueue names a declared queue (a Queue document, a cluster's co-named
 * queue, or `default`), one setting per project/domain.
 */
function checkDefaultQueues(list: readonly DefaultQueueManifest[], d: Declared, add: Add): void {
  const byKey = new Map<string, DefaultQueueManifest>();
  for (const q of list) {
    checkDefaultQueueTarget(q, d, add);
    if (!usable(q, '/spec/project') || !usable(q, '/spec/domain')) continue;
    const key = `${q.project}/${q.domain}`;
    keepFirst(add, 'V12', byKey, key, q, ['spec'], (other) => sameKey('V12', key, other));
  }
}

function checkDefaultQueueTarget(q: DefaultQueueManifest, d: Declared, add: Add): void {
  // '' is the placeholder of a missing (or misspelt, so not reported missing) field.
  if (!usable(q, '/spec/queue') || q.queue === '' || d.queueExists(q.queue)) return;
  const declared = d.queueNames();
  const names =
    declared.length > 10
      ? `${declared.slice(0, 10).join(', ')} … (${declared.length} queues)`
      : declared.join(', ');
  const message = `default queue of ${q.project}/${q.domain}: queue '${q.queue}' ${NOT_DECLARED}${didYouMean(q.queue, declared)}; declare it with a Queue document or name one of: ${names}`;
  add('V12', q, ['spec', 'queue'], message);
}

/** Two object store URIs in the same bucket (a URI without one compares whole). */
function sameBucket(a: string, b: string): boolean {
  const ba = bucketOf(a);
  return ba !== null && ba === bucketOf(b);
}

/**
 * Object stores and metadata buckets (docs/union-self-managed.md). V7 (P7): pools do not share an
 * object store unless they share a cluster (Union self-managed's pool map; a cluster has one
 * `storage.bucketName`). V13: clusters in one pool use one bucket, clusters sharing no pool
 * different ones; a cluster's bucket is its `data_plane.object_store_uri`, else its pools'.
 */
function checkObjectStores(
  pools: ReadonlyMap<string, PoolManifest>,
  clusters: readonly ClusterManifest[],
  add: Add,
): void {
  const usableClusters = clusters.filter(
    (c) => usable(c, '/spec/pool') && usable(c, '/spec/pools'),
  );
  // Pools that share a cluster: "a|b" with a < b.
  const sharing = new Set<string>();
  for (let k = 0; k < usableClusters.length; k++) {
    const c = usableClusters[k]!;
    if (c.pools == null) continue; // one pool: no pair
    const ps = distinctPools(c).sort();
    for (let i = 0; i < ps.length; i++)
      for (let j = i + 1; j < ps.length; j++) sharing.add(`${ps[i]}|${ps[j]}`);
  }
  const share = (a: string, b: string) => sharing.has(a < b ? `${a}|${b}` : `${b}|${a}`);

  // V7: trailing slashes make no new store; a contract marked unknown names none.
  const byUri = new Map<string, PoolManifest>();
  // A pool V7 reported is not reported again for its bucket.
  const reported = new Set<Manifest>();
  for (const p of pools.values()) {
    if (!p.contract || !usable(p, '/spec/object_store_ref/uri')) continue;
    const uri = p.contract.object_store_ref.uri.replace(/\/+$/, '');
    const first = byUri.get(uri);
    if (!first) byUri.set(uri, p);
    else if (!share(first.name, p.name)) {
      reported.add(p);
      const message = `pool '${p.name}' uses the object store ${p.contract.object_store_ref.uri} of pool '${first.name}' (${fieldAt(first, STORE_URI)}); pools must not share an object store (P7)`;
      add('V7', p, STORE_URI, message);
    }
  }
  const placed = placeClusters(pools, usableClusters, add);
  checkSamePoolBuckets(pools, placed, add);
  checkSharedBuckets(placed, reported, add);
}

interface Placed {
  cluster: ClusterManifest;
  pools: string[];
  bucket: string;
  /** Where the bucket comes from: the cluster's own data_plane, or this pool's contract. */
  from: ClusterManifest | PoolManifest;
}

/** Each cluster's metadata bucket (its own, or its pools' when they agree: V13 otherwise). */
function placeClusters(
  pools: ReadonlyMap<string, PoolManifest>,
  clusters: readonly ClusterManifest[],
  add: Add,
): Placed[] {
  // Each pool's bucket read once, not once per cluster in it: arrays and regex matches per
  // cluster were 28 of the 85 MB that checking and building 100,000 objects allocated.
  const stores = new Map<string, PoolStore | null>();
  const storeOf = (name: string): PoolStore | null => {
    let store = stores.get(name);
    if (store === undefined) stores.set(name, (store = poolStore(pools.get(name))));
    return store;
  };
  const placed: Placed[] = [];
  for (let i = 0; i < clusters.length; i++) {
    const c = clusters[i]!;
    const ps = distinctPools(c);
    const declared = c.data_plane?.object_store_uri;
    if (declared && usable(c, '/spec/data_plane/object_store_uri')) {
      const bucket = bucketOf(declared);
      if (bucket) placed.push({ cluster: c, pools: ps, bucket, from: c });
      continue;
    }
    // No bucket of its own: its pools' object store, when they agree.
    let first: PoolStore | null = null;
    let other: PoolStore | null = null;
    for (let j = 0; j < ps.length; j++) {
      const store = storeOf(ps[j]!);
      if (store === null) continue;
      if (first === null) first = store;
      else if (other === null && store.bucket !== first.bucket) other = store;
    }
    if (first !== null && other !== null) {
      const message =
        `cluster '${c.name}' is in pool '${first.p.name}' (bucket ${first.bucket}) and pool '${other.p.name}' (bucket ${other.bucket}); ` +
        `a cluster has one metadata bucket (storage.bucketName): pools that share a cluster share its bucket`;
      add('V13', c, ['spec', 'pools'], message);
    } else if (first !== null)
      placed.push({ cluster: c, pools: ps, bucket: first.bucket, from: first.p });
  }
  return placed;
}

/** A pool's object store bucket, as placeClusters reads it. */
interface PoolStore {
  p: PoolManifest;
  bucket: string;
}

/** The bucket of a declared pool's usable object store; null for any other pool. */
function poolStore(p: PoolManifest | undefined): PoolStore | null {
  if (!p?.contract || !usable(p, '/spec/object_store_ref/uri')) return null;
  const bucket = bucketOf(p.contract.object_store_ref.uri);
  return bucket === null ? null : { p, bucket };
}

/** Same pool, same bucket, for pools without a declared contract (V6 covers the others). */
function checkSamePoolBuckets(
  pools: ReadonlyMap<string, PoolManifest>,
  placed: readonly Placed[],
  add: Add,
): void {
  const firstInPool = new Map<string, Placed>();
  for (let i = 0; i < placed.length; i++) {
    const x = placed[i]!;
    for (let j = 0; j < x.pools.length; j++) {
      const pool = x.pools[j]!;
      if (pools.get(pool)?.contract) continue;
      const first = firstInPool.get(pool);
      if (!first) firstInPool.set(pool, x);
      else if (first.bucket !== x.bucket) {
        const message =
          `cluster '${x.cluster.name}' uses metadata bucket ${x.bucket}, but cluster '${first.cluster.name}' (${fieldAt(...bucketAt(first))}) in the same pool '${pool}' uses ${first.bucket}; ` +
          `clusters in one pool must share one metadata bucket (storage.bucketName)`;
        bucketError(x, add, message);
      }
    }
  }
}

/** Different pools, different buckets: in one bucket every two clusters must share a pool. */
function checkSharedBuckets(placed: readonly Placed[], reported: Set<Manifest>, add: Add): void {
  const byBucket = new Map<string, Placed[]>();
  for (let i = 0; i < placed.length; i++) {
    const x = placed[i]!;
    const list = byBucket.get(x.bucket);
    if (list) list.push(x);
    else byBucket.set(x.bucket, [x]);
  }
  for (const [bucket, group] of byBucket) {
    // Clusters that all share a pool may share its bucket.
    if (group.length < 2 || group[0]!.pools.some((p) => group.every((x) => x.pools.includes(p))))
      continue;
    // One representative per distinct pool set keeps this short for large groups.
    const seen: Placed[] = [];
    for (const x of group) {
      const apart = seen.find((e) => !e.pools.some((p) => x.pools.includes(p)));
      if (apart && !reported.has(x.from)) {
        reported.add(x.from);
        // A pool's side names its cluster too (the pool alone does not say which cluster clashes).
        const inPools =
          apart.from === apart.cluster
            ? ` in pool ${apart.pools.map((p) => `'${p}'`).join(', ')}`
            : '';
        const message =
          `${bucketUser(x)} uses metadata bucket ${bucket}, as does ${bucketUser(apart)} (${fieldAt(...bucketAt(apart))})${inPools}; ` +
          `clusters in different pools must have different metadata buckets (storage.bucketName): give each pool its own bucket, or put the clusters in one pool`;
        bucketError(x, add, message);
      }
      const sig = [...x.pools].sort().join('|');
      if (!seen.some((e) => [...e.pools].sort().join('|') === sig)) seen.push(x);
    }
  }
}

/** `cluster 'c'`, or `pool 'p' (cluster 'c')` when the bucket is the pool's. */
function bucketUser(x: Placed): string {
  const cluster = `cluster '${x.cluster.name}'`;
  return x.from === x.cluster ? cluster : `pool '${x.from.name}' (${cluster})`;
}

/** Where a placed cluster's bucket is written: its own data_plane, or its pool's object store. */
function bucketAt(x: Placed): [Manifest, Path] {
  return x.from === x.cluster
    ? [x.cluster, ['spec', 'data_plane', 'object_store_uri']]
    : [x.from, STORE_URI];
}

function bucketError(x: Placed, add: Add, message: string): void {
  add('V13', ...bucketAt(x), message);
}

/**
 * V15: Union's queue caps (manifests.md, Queue `max_accelerators`) as Union's own client checks
 * them before sending (flyteplugins-union 0.19.1, remote/_queue.py:295-346, 378-401): a device
 * must be a canonical accelerator or a spelling of one, of the class the selector names; a cap
 * without a device is accepted for NVIDIA GPUs only; no accelerator twice once canonicalised
 * (`nvidia_gpu/t4` is `nvidia_gpu/nvidia-t4`); and GPUs are capped only that way, never as a
 * `max_resources` total. The schema has already checked the selector's shape and the counts.
 */
function checkQueueCaps(queues: readonly QueueManifest[], add: Add): void {
  for (let i = 0; i < queues.length; i++) checkQueueCap(queues[i]!, add);
}

function checkQueueCap(q: QueueManifest, add: Add): void {
  const resources = q.caps?.max_resources;
  if (resources !== undefined && Object.hasOwn(resources, 'gpu')) {
    const message =
      'max_resources: Union has no total GPU cap (its queues cap cpu, memory and ephemeral_storage); ' +
      'cap GPUs per accelerator type with max_accelerators (nvidia_gpu: 8 for GPUs requested without a device, nvidia_gpu/nvidia-h100: 8 for one device)';
    add('V15', q, ['spec', 'max_resources', 'gpu'], message);
  }
  // Most queues cap no accelerator: no Map, no key list made for them.
  if (!q.caps?.max_accelerators) return;
  const seen = new Map<string, string>();
  for (const selector of Object.keys(q.caps.max_accelerators)) {
    const at = ['spec', 'max_accelerators', selector];
    const read = canonicalSelector(selector);
    if ('error' in read) {
      const message =
        `max_accelerators: "${selector}": ${read.error} (Union's client refuses it: remote/_queue.py:295-346); ` +
        'name a canonical device of its class (nvidia_gpu/nvidia-h100, google_tpu/google-tpu-v5e, …), or nvidia_gpu alone';
      add('V15', q, at, message);
      continue;
    }
    const twin = seen.get(read.selector);
    if (twin !== undefined) {
      const message = `max_accelerators: "${selector}" and "${twin}" name the same accelerator (${read.selector}); keep one`;
      add('V15', q, at, message);
    }
    seen.set(read.selector, selector);
  }
}

/**
 * V16: poolsync.yaml `absent:` (`Queue/default`, `ClusterPool/default`, docs/manifests.md) is
 * contradicted by a document declaring one, or by a cluster or queue living in an absent pool.
 */
export function checkAbsent(g: Grouped, config: RepoConfig): ValidationError[] {
  const errors: ValidationError[] = [];
  const absent = absentOf(config);
  if (absent === null) return errors;
  const add = collect(errors);
  const clusters = new Set(g.Cluster.map((c) => c.name));
  for (const m of [...g.Queue, ...g.ClusterPool, ...g.Cluster])
    checkAbsentOf(m, absent, (name) => clusters.has(name), add);
  return errors;
}

/** poolsync.yaml's `absent:` addresses, null when none. */
export type Absent = ReadonlySet<string>;
export function absentOf(config: RepoConfig): Absent | null {
  return config.absent && config.absent.length > 0 ? new Set(config.absent) : null;
}

/** V16 of one object; `hasCluster`: whether a Cluster of that name is declared. */
function checkAbsentOf(
  m: Manifest,
  absent: Absent,
  hasCluster: (name: string) => boolean,
  add: Add,
): void {
  if (m.kind !== 'Queue' && m.kind !== 'ClusterPool' && m.kind !== 'Cluster') return;
  if (m.kind !== 'Cluster' && absent.has(m.address ?? `${m.kind}/${m.name}`)) {
    const message = `${m.kind}/${m.name} is declared here but listed under absent in poolsync.yaml: remove one of the two`;
    add('V16', m, ['metadata', 'name'], message);
  }
  if (m.kind === 'ClusterPool' || !absent.has('ClusterPool/default')) return;
  // Union refuses a cluster without a pool while `default` is deleted (remote/_cluster.py:299-301);
  // a co-named queue without a pool is in its cluster's pool (Q4): judged by that cluster.
  if (m.kind === 'Queue' && m.pool === null && hasCluster(m.name)) return;
  // A cluster's pool map read whole: `pools: [a, b]` is not in `default`.
  const i = (m.kind === 'Cluster' ? clusterPools(m) : [m.pool ?? DEFAULT_POOL]).indexOf(
    DEFAULT_POOL,
  );
  if (m.name !== 'default' && i >= 0) {
    const message = `${m.kind}/${m.name} lives in pool "default", which poolsync.yaml lists absent: name another pool`;
    // At the `default` written; an omitted pool has no node of its own.
    const at =
      m.kind === 'Cluster' && m.pools !== null
        ? ['spec', 'pools', i]
        : m.pool !== null
          ? ['spec', 'pool']
          : ['metadata', 'name'];
    add('V16', m, at, message);
  }
}

/**
 * The Flyte kinds (docs/flyte-oss.md). V9: weights as flyteadmin reads them (weightProblem),
 * relative (their sum need not be 1). V10: a ClusterLabel names declared ExecutionClusters, each
 * once; one default label. V11: an ExecutionClusterLabel names a declared ClusterLabel, one per
 * key. V14: credentials where the chart mounts them.
 */
function checkFlyteRules(g: Grouped, add: Add): void {
  const clusters = firstByName(g.ExecutionCluster, add);
  const labels = firstByName(g.ClusterLabel, add);
  firstByName(g.ExecutionClusterLabel, add);
  for (const c of g.ExecutionCluster) checkClusterAuth(c, add);
  const clusterNames = [...clusters.keys()].sort();
  let defaultLabel: ClusterLabelManifest | null = null;
  for (const l of g.ClusterLabel) {
    if (l.isDefault && defaultLabel) {
      const message = `ClusterLabel '${l.name}' is default: true, as is '${defaultLabel.name}' (${fieldAt(defaultLabel, ['spec', 'default'])}); flyte-core has one defaultExecutionLabel: keep one`;
      add('V10', l, ['spec', 'default'], message);
    } else if (l.isDefault) defaultLabel = l;
    checkLabelEntries(l, clusters, clusterNames, add);
  }
  checkChartCredentials(g.ExecutionCluster, g.ClusterLabel.length > 0, add);
  checkExecutionClusterLabels(g.ExecutionClusterLabel, labels, add);
}

/** SCHEMA: either auth (with an endpoint) or inCluster: true. */
function checkClusterAuth(c: ExecutionClusterManifest, add: Add): void {
  if (c.authConflict) {
    const message = `ExecutionCluster '${c.name}': give either auth (a file_path token and certificate) or inCluster: true, not both`;
    add('SCHEMA', c, ['spec', 'inCluster'], message);
  } else if (c.auth === null && usable(c, '/spec/auth') && usable(c, '/spec/inCluster')) {
    const message = `ExecutionCluster '${c.name}': missing auth: add auth {type: file_path, tokenPath, certPath} with an endpoint, or inCluster: true`;
    add('SCHEMA', c, ['spec'], message);
  } else if (c.auth?.type === 'file_path' && c.endpoint === null && usable(c, '/spec/endpoint')) {
    const message = `ExecutionCluster '${c.name}': missing endpoint: the data plane's Kubernetes API URL, e.g. https://dataplane1.example.com:443`;
    add('SCHEMA', c, ['spec'], message);
  }
}

function checkLabelEntries(
  l: ClusterLabelManifest,
  clusters: Map<string, unknown>,
  clusterNames: string[],
  add: Add,
): void {
  const seen = new Map<string, number>();
  l.clusters.forEach((entry, i) => {
    const problem = usable(l, `/spec/clusters/${i}/weight`) ? weightProblem(entry.weight) : null;
    if (problem) {
      const message = `ClusterLabel '${l.name}': weight ${entry.weight} of cluster '${entry.cluster}' ${problem}; a weight lies in [0, 1], relative to the label's other weights, and 0 skips the cluster`;
      add('V9', l, ['spec', 'clusters', i, 'weight'], message);
    }
    if (!usable(l, `/spec/clusters/${i}/cluster`) || entry.cluster === '') return;
    const at = ['spec', 'clusters', i, 'cluster'];
    const earlier = seen.get(entry.cluster);
    if (earlier !== undefined) {
      const message = `ClusterLabel '${l.name}': cluster '${entry.cluster}' is listed twice (entries ${earlier + 1} and ${i + 1}); merge them into one weight`;
      add('V10', l, at, message);
    } else seen.set(entry.cluster, i);
    if (!clusters.has(entry.cluster)) {
      const message = `ClusterLabel '${l.name}': ${notDeclared('ExecutionCluster', entry.cluster, clusterNames)}`;
      add('V10', l, at, message);
    }
  });
}

function checkExecutionClusterLabels(
  ecls: ExecutionClusterLabelManifest[],
  labels: Map<string, unknown>,
  add: Add,
): void {
  const labelNames = [...labels.keys()].sort();
  const byKey = new Map<string, ExecutionClusterLabelManifest>();
  for (const e of ecls) {
    if (usable(e, '/spec/label') && e.label !== '' && !labels.has(e.label)) {
      const message = `ExecutionClusterLabel ${keyLabel(e)}: ${notDeclared('ClusterLabel', e.label, labelNames)}`;
      add('V11', e, ['spec', 'label'], message);
    }
    if (!keyUsable(e) || e.project === '' || (e.domain === '' && !projectWide(e))) continue;
    const key = assignmentKeyString(e);
    keepFirst(add, 'V11', byKey, key, e, ['spec'], (other) => {
      return `execution cluster label key ${key} is also set by '${other.name}' at ${fieldAt(other, ['spec'])}; keep one`;
    });
  }
}

/**
 * V14 (docs/flyte-oss.md): in flyteorg/flyte charts/flyte-core/templates, the `syncresources`
 * Deployment (clusterresourcesync/deployment.yaml, on by default) mounts this Secret at this
 * folder whatever the values say, and reads the same clusterConfigs: every tokenPath and certPath
 * must be a file there. That mount and the init container's (admin/deployment.yaml:113-117) exist
 * only when labelClusterMap is non-empty: credentials need a ClusterLabel. flyteadmin reads every
 * cluster's token and certificate at start-up (list_targets.go NewListTargets).
 */
export const CHART_CREDENTIALS_SECRET = 'cluster-credentials';
export const CHART_CREDENTIALS_DIR = '/var/run/credentials';
/** A Secret key (k8s.io/apimachinery IsConfigMapKey): the file name under the mount. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

function checkChartCredentials(
  clusters: readonly ExecutionClusterManifest[],
  hasLabels: boolean,
  add: Add,
): void {
  let firstWithCredentials: ExecutionClusterManifest | null = null;
  for (const c of clusters) {
    if (c.auth?.type !== 'file_path' || c.authConflict || !usable(c, '/spec/auth')) continue;
    firstWithCredentials ??= c;
    for (const field of ['tokenPath', 'certPath'] as const) {
      const path = c.auth[field];
      const key = path.slice(CHART_CREDENTIALS_DIR.length + 1);
      if (path.startsWith(`${CHART_CREDENTIALS_DIR}/`) && SECRET_KEY.test(key) && key !== '..')
        continue;
      const message =
        `ExecutionCluster '${c.name}': ${field} ${path} is not a file of ${CHART_CREDENTIALS_DIR}/: the flyte-core chart's syncresources Deployment mounts ` +
        `Secret ${CHART_CREDENTIALS_SECRET} at ${CHART_CREDENTIALS_DIR} whatever the values say (templates/clusterresourcesync/deployment.yaml:68-71, 86-90) and reads these paths; ` +
        `use ${CHART_CREDENTIALS_DIR}/<key of Secret ${CHART_CREDENTIALS_SECRET}>, e.g. ${CHART_CREDENTIALS_DIR}/${c.name}_${field === 'tokenPath' ? 'token' : 'cacert'}`;
      add('V14', c, ['spec', 'auth', field], message);
    }
  }
  if (firstWithCredentials && !hasLabels) {
    const message =
      `ExecutionCluster '${firstWithCredentials.name}' has credentials but no ClusterLabel is declared: the flyte-core chart mounts the credentials only when ` +
      `labelClusterMap is non-empty (templates/admin/deployment.yaml:113-117, templates/clusterresourcesync/deployment.yaml:68, 86), so flyteadmin's sync-cluster-resources ` +
      `init container could not read them and the pod would not start; declare a ClusterLabel`;
    add('V14', firstWithCredentials, ['spec', 'auth'], message);
  }
}
