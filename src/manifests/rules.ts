/**
 * Cross-document rules of manifests.md: V1–V8, then object stores and buckets (V7, V13), queue
 * caps (V15) and `absent:` (V16); the Flyte kinds' in rules-multicluster.ts. Pure: manifests
 * in, errors out. Every lookup goes through a Map built once, so the pass stays linear in the
 * number of objects.
 */
import { canonicalSelector } from '../gen/union/accelerators.js';
import {
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  WILDCARD,
  assignmentKeyString,
  dataPlaneMismatches,
  type DataPlaneMismatch,
  type PoolContract,
} from '../model/common.js';
import type { RepoConfig } from '../model/desired.js';
import { bucketOf } from '../model/flyte.js';
import type {
  AssignmentManifest,
  ClusterManifest,
  DefaultQueueManifest,
  Manifest,
  PoolManifest,
  QueueManifest,
} from './documents.js';
import { intact, positionOf, usable } from './documents.js';
import { didYouMean } from './suggest.js';
import { checkFlyteRules, emptyFlyteGroup, type FlyteGrouped } from './rules-multicluster.js';
import { err, firstByName, where } from './rule-helpers.js';
import type { ValidationError } from './types.js';

export interface Grouped {
  pools: PoolManifest[];
  clusters: ClusterManifest[];
  queues: QueueManifest[];
  assignments: AssignmentManifest[];
  defaultQueues: DefaultQueueManifest[];
  flyte: FlyteGrouped;
}

export function groupManifests(manifests: readonly Manifest[]): Grouped {
  const g: Grouped = {
    pools: [],
    clusters: [],
    queues: [],
    assignments: [],
    defaultQueues: [],
    flyte: emptyFlyteGroup(),
  };
  for (const m of manifests) {
    if (m.kind === 'ClusterPool') g.pools.push(m);
    else if (m.kind === 'Cluster') g.clusters.push(m);
    else if (m.kind === 'Queue') g.queues.push(m);
    else if (m.kind === 'DefaultQueue') g.defaultQueues.push(m);
    else if (m.kind === 'PoolAssignment') g.assignments.push(m);
    else if (m.kind === 'ExecutionCluster') g.flyte.executionClusters.push(m);
    else if (m.kind === 'ClusterLabel') g.flyte.labels.push(m);
    else g.flyte.executionClusterLabels.push(m);
  }
  return g;
}

/** The key as written, or the document's name when the key is not even strings. */
function assignmentLabel(a: AssignmentManifest): string {
  return a.key.project !== '' && a.key.domain !== '' ? assignmentKeyString(a.key) : `'${a.name}'`;
}

function keyUsable(a: AssignmentManifest): boolean {
  return usable(a, '/spec/project') && usable(a, '/spec/domain') && usable(a, '/spec/workflow');
}

/**
 * Names declared by documents that failed their schema: they count as declared, so one
 * broken pool does not also make every cluster and queue in it an error.
 */
export interface BrokenNames {
  pools: ReadonlySet<string>;
  clusters: ReadonlySet<string>;
  /** Queues whose document failed its schema (V12 counts them as declared). */
  queues?: ReadonlySet<string>;
}

const NONE: BrokenNames = { pools: new Set(), clusters: new Set() };

export function checkRules(g: Grouped, broken: BrokenNames = NONE): ValidationError[] {
  const errors: ValidationError[] = [];
  const pools = firstByName(g.pools, errors);
  const clusters = firstByName(g.clusters, errors);
  const queues = firstByName(g.queues, errors);
  firstByName(g.assignments, errors);
  firstByName(g.defaultQueues, errors);

  const poolExists = (name: string): boolean =>
    name === DEFAULT_POOL || pools.has(name) || broken.pools.has(name);
  // Built on the first unknown pool only: a clean repository pays nothing for it.
  let declared: string[] | null = null;
  const unknownPool = (name: string): string => {
    declared ??= [...pools.keys()].sort();
    const hint = didYouMean(name, [...declared, DEFAULT_POOL]);
    return `pool '${name}' is not declared${hint} (declared: ${declared.length > 0 ? declared.join(', ') + ', ' : ''}default)`;
  };

  for (const c of g.clusters) checkCluster(c, pools, poolExists, unknownPool, errors);

  for (const q of g.queues)
    errors.push(...checkQueue(q, clusters, broken.clusters, poolExists, unknownPool));

  checkAssignments(g.assignments, poolExists, unknownPool, errors);
  errors.push(...checkDefaultQueues(g.defaultQueues, queues, clusters, broken));
  errors.push(...checkObjectStores(pools, g.clusters), ...checkFlyteRules(g.flyte));
  errors.push(...checkQueueCaps(g.queues));
  return errors;
}

/** V5 (a reserved name), pool or pools, V2 and V6 of one cluster. */
function checkCluster(
  c: ClusterManifest,
  pools: Map<string, PoolManifest>,
  poolExists: (name: string) => boolean,
  unknownPool: (name: string) => string,
  errors: ValidationError[],
): void {
  // V5 (C1): `default` is reserved.
  if (c.name === DEFAULT_POOL) {
    errors.push(
      err(
        'V5',
        c,
        positionOf(c.root, 'metadata', 'name'),
        `a cluster cannot be named 'default' (reserved, C1): rename it`,
      ),
    );
  }
  if (c.pool !== null && c.pools !== null)
    errors.push(
      err(
        'SCHEMA',
        c,
        positionOf(c.root, 'spec', 'pools'),
        `cluster '${c.name}': give pool (one pool) or pools (Union self-managed's pool map), not both`,
      ),
    );
  // A pool field that failed its schema is already reported; V2 and V6 need its value.
  if (!usable(c, '/spec/pool') || !usable(c, '/spec/pools')) return;
  clusterPools(c).forEach((poolName, i) => {
    const at = () =>
      c.pools ? positionOf(c.root, 'spec', 'pools', i) : positionOf(c.root, 'spec', 'pool');
    // V2 (C1): the pool must exist.
    if (!poolExists(poolName)) {
      errors.push(err('V2', c, at(), `cluster '${c.name}': ${unknownPool(poolName)}`));
      return;
    }
    // V6 (C4): every declared data-plane value must equal the contract (the object store by
    // bucket: sameBucket). The `default` pool's contract is set at provisioning; it is
    // only checked when the repo declares it.
    // A pool whose contract is marked unknown (poolsync/contract: unknown) has nothing to check.
    const pool = pools.get(poolName);
    if (pool?.contract && c.data_plane) errors.push(...checkDataPlane(c, pool, pool.contract));
  });
}

/** V8 (A1): assignments name an existing pool, one per key. */
function checkAssignments(
  assignments: AssignmentManifest[],
  poolExists: (name: string) => boolean,
  unknownPool: (name: string) => string,
  errors: ValidationError[],
): void {
  const byKey = new Map<string, AssignmentManifest>();
  for (const a of assignments) {
    if (usable(a, '/spec/pool') && !poolExists(a.pool)) {
      errors.push(
        err(
          'V8',
          a,
          positionOf(a.root, 'spec', 'pool'),
          `assignment ${assignmentLabel(a)}: ${unknownPool(a.pool)}`,
        ),
      );
    }
    if (!keyUsable(a)) continue;
    const key = assignmentKeyString(a.key);
    const first = byKey.get(key);
    if (first) {
      const msg = (other: AssignmentManifest): string =>
        `assignment key ${key} is also set by '${other.name}' at ${where(other)}; keep one (A1)`;
      errors.push(err('V8', a, positionOf(a.root, 'spec'), msg(first)));
      errors.push(err('V8', first, positionOf(first.root, 'spec'), msg(a)));
    } else byKey.set(key, a);
  }
}

/** Where V6 reads each compared value: the cluster's declared field and the pool's contract field. */
const DATA_PLANE_POINTERS: Record<DataPlaneMismatch['field'], string> = {
  object_store_uri: '/spec/object_store_ref/uri',
  'secret_store.type': '/spec/secret_store/type',
  'secret_store.locator': '/spec/secret_store/locator',
  image_registry: '/spec/image_registry',
};

function checkDataPlane(
  c: ClusterManifest,
  pool: PoolManifest,
  contract: PoolContract,
): ValidationError[] {
  return (
    dataPlaneMismatches(contract, c.data_plane!)
      // Only values well-formed on both sides are compared: a broken one is already reported.
      .filter(
        (m) =>
          usable(c, `/spec/data_plane/${m.field.replace('.', '/')}`) &&
          usable(pool, DATA_PLANE_POINTERS[m.field]) &&
          !(m.field === 'object_store_uri' && sameBucket(m.declared, m.contract)),
      )
      .map((m) =>
        err(
          'V6',
          c,
          positionOf(c.root, 'spec', 'data_plane', ...m.field.split('.')),
          `cluster '${c.name}': data_plane.${m.field} is ${JSON.stringify(m.declared)} but pool '${pool.name}' requires ` +
            `${m.contract === '' ? 'no image registry' : JSON.stringify(m.contract)} (C4)`,
        ),
      )
  );
}

function checkQueue(
  q: QueueManifest,
  clusters: Map<string, ClusterManifest>,
  brokenClusters: ReadonlySet<string>,
  poolExists: (name: string) => boolean,
  unknownPool: (name: string) => string,
): ValidationError[] {
  const out: ValidationError[] = [];
  const owner = clusters.get(q.name);
  const isDefault = q.name === DEFAULT_QUEUE;
  // V5 (C2, Q4, P1, Q5): a managed queue's pool and selector are not the repo's to choose.
  if (owner || isDefault) return checkManagedQueue(q, owner);
  const poolKnown = usable(q, '/spec/pool');
  const poolName = q.pool ?? DEFAULT_POOL;
  // V2 (Q1)
  if (poolKnown && !poolExists(poolName)) {
    out.push(
      err(
        'V2',
        q,
        positionOf(q.root, 'spec', 'pool'),
        `queue '${q.name}': ${unknownPool(poolName)}`,
      ),
    );
  }
  // A selector that is not a list of entries was reported by the schema; nothing to add.
  if (!intact(q, '/spec/clusters')) return out;
  const selector = q.clusters ?? [WILDCARD];
  // V4 (Q1): "*" must be the only entry.
  const star = selector.indexOf(WILDCARD);
  if (star !== -1 && selector.length > 1) {
    out.push(
      err(
        'V4',
        q,
        positionOf(q.root, 'spec', 'clusters', star),
        `queue '${q.name}': "*" selects every cluster of the pool and must be the only entry; remove it or the cluster names`,
      ),
    );
  }
  out.push(...checkNamedClusters(q, selector, clusters, brokenClusters, poolKnown && poolName));
  return out;
}

/** V3 (Q1): named clusters are declared, in the queue's pool (`poolName`: false when unusable). */
function checkNamedClusters(
  q: QueueManifest,
  selector: readonly string[],
  clusters: Map<string, ClusterManifest>,
  brokenClusters: ReadonlySet<string>,
  poolName: string | false,
): ValidationError[] {
  const out: ValidationError[] = [];
  selector.forEach((name, i) => {
    if (name === WILDCARD || !usable(q, `/spec/clusters/${i}`)) return;
    const c = clusters.get(name);
    // Only an error needs the position (from the analysis cache, positions are parsed on demand).
    const pos = () => positionOf(q.root, 'spec', 'clusters', i);
    if (!c) {
      if (brokenClusters.has(name)) return;
      out.push(err('V3', q, pos(), `queue '${q.name}': cluster '${name}' is not declared`));
    } else if (poolName !== false && usable(c, '/spec/pool') && clusterPools(c)[0] !== poolName) {
      out.push(
        err(
          'V3',
          q,
          pos(),
          `queue '${q.name}' is in pool '${poolName}' but cluster '${name}' is in pool '${clusterPools(c)[0]}'; a queue routes only to clusters of its pool`,
        ),
      );
    }
  });
  return out;
}

/** V5 of the default queue, or of a cluster's co-named queue (`owner`). */
function checkManagedQueue(
  q: QueueManifest,
  owner: ClusterManifest | undefined,
): ValidationError[] {
  const out: ValidationError[] = [];
  const managedPool = owner ? clusterPools(owner)[0]! : DEFAULT_POOL;
  const managedSelector = owner ? [owner.name] : [WILDCARD];
  const what = owner
    ? `the co-named queue of cluster '${owner.name}' (C2, Q4)`
    : `the default queue (P1, Q5)`;
  const poolKnown = usable(q, '/spec/pool') && (!owner || usable(owner, '/spec/pool'));
  if (poolKnown && q.pool !== null && q.pool !== managedPool) {
    out.push(
      err(
        'V5',
        q,
        positionOf(q.root, 'spec', 'pool'),
        `queue '${q.name}' is ${what}: its pool is '${managedPool}', not '${q.pool}'; omit spec.pool`,
      ),
    );
  }
  if (
    usable(q, '/spec/clusters') &&
    q.clusters !== null &&
    !sameList(q.clusters, managedSelector)
  ) {
    out.push(
      err(
        'V5',
        q,
        positionOf(q.root, 'spec', 'clusters'),
        `queue '${q.name}' is ${what}: its selector is ${JSON.stringify(managedSelector)}, not ${JSON.stringify(q.clusters)}; omit spec.clusters`,
      ),
    );
  }
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * V12 (Union v2 default queues): the queue a DefaultQueue names is declared (a Queue
 * document, a cluster's co-named queue, or `default`), and each project/domain has one
 * setting.
 */
function checkDefaultQueues(
  list: readonly DefaultQueueManifest[],
  queues: Map<string, QueueManifest>,
  clusters: Map<string, ClusterManifest>,
  broken: BrokenNames,
): ValidationError[] {
  const out: ValidationError[] = [];
  const queueExists = (name: string): boolean =>
    name === DEFAULT_QUEUE ||
    queues.has(name) ||
    clusters.has(name) ||
    broken.clusters.has(name) ||
    (broken.queues?.has(name) ?? false);
  let declared: string[] | null = null;
  const byKey = new Map<string, DefaultQueueManifest>();
  for (const d of list) {
    // '' is the placeholder of a missing (or misspelt, so not reported missing) field.
    if (usable(d, '/spec/queue') && d.queue !== '' && !queueExists(d.queue)) {
      declared ??= [...new Set([...queues.keys(), ...clusters.keys(), DEFAULT_QUEUE])].sort();
      out.push(
        err(
          'V12',
          d,
          positionOf(d.root, 'spec', 'queue'),
          `default queue of ${d.project}/${d.domain}: queue '${d.queue}' is not declared${didYouMean(d.queue, declared)}; declare it with a Queue document or name one of: ${listShort(declared)}`,
        ),
      );
    }
    if (!usable(d, '/spec/project') || !usable(d, '/spec/domain')) continue;
    const key = `${d.project}/${d.domain}`;
    const first = byKey.get(key);
    if (first) {
      const msg = (other: DefaultQueueManifest): string =>
        `the default queue of ${key} is also set by '${other.name}' at ${where(other)}; keep one (V12)`;
      out.push(err('V12', d, positionOf(d.root, 'spec'), msg(first)));
      out.push(err('V12', first, positionOf(first.root, 'spec'), msg(d)));
    } else byKey.set(key, d);
  }
  return out;
}

function listShort(names: readonly string[]): string {
  return names.length > 10
    ? `${names.slice(0, 10).join(', ')} … (${names.length} queues)`
    : names.join(', ');
}

/**
 * Object stores and metadata buckets (docs/union-self-managed.md, domain.md P7):
 *  V7  two pools must not share an object store (the same URI, P7), unless they share a
 *      cluster (Union self-managed's pool map lets a cluster be in several pools, and a cluster
 *      has one `storage.bucketName`, so those pools share its bucket);
 *  V13 the seed's bucket rule, between clusters and on bucket names (not whole paths): two
 *      clusters in the same pool must use the same metadata bucket, two clusters that share no
 *      pool must use different ones. A cluster's bucket is its declared
 *      `data_plane.object_store_uri`, else its pools' object store; `file://` has no bucket.
 * Linear but for groups of clusters in one bucket spread over pools without a common one.
 */
/** Every pool a cluster is in (`pools`, else `pool`, else `default`). */
function clusterPools(c: ClusterManifest): string[] {
  return c.pools ?? [c.pool ?? DEFAULT_POOL];
}

/** Two object store URIs in the same bucket (a URI without one compares whole). */
function sameBucket(a: string, b: string): boolean {
  const ba = bucketOf(a);
  return ba !== null && ba === bucketOf(b);
}

const strip = (u: string) => u.replace(/\/+$/, '');

function checkObjectStores(
  pools: ReadonlyMap<string, PoolManifest>,
  clusters: readonly ClusterManifest[],
): ValidationError[] {
  const out: ValidationError[] = [];
  const usableClusters = clusters.filter(
    (c) => usable(c, '/spec/pool') && usable(c, '/spec/pools'),
  );
  // Pools that share a cluster: "a|b" with a < b.
  const sharing = new Set<string>();
  for (const c of usableClusters) {
    const ps = [...new Set(clusterPools(c))].sort();
    for (let i = 0; i < ps.length; i++)
      for (let j = i + 1; j < ps.length; j++) sharing.add(`${ps[i]}|${ps[j]}`);
  }
  const share = (a: string, b: string) => sharing.has(a < b ? `${a}|${b}` : `${b}|${a}`);

  // V7 (P7): pools must not share an object store. Trailing slashes do not make a new store.
  // A contract marked unknown names no store: nothing to compare (never a shared placeholder).
  const byUri = new Map<string, PoolManifest>();
  const sameStore = new Set<Manifest>();
  for (const p of pools.values()) {
    if (!p.contract || !usable(p, '/spec/object_store_ref/uri')) continue;
    const uri = strip(p.contract.object_store_ref.uri);
    const first = byUri.get(uri);
    if (!first) byUri.set(uri, p);
    else if (!share(first.name, p.name)) {
      sameStore.add(p);
      out.push(
        err(
          'V7',
          p,
          positionOf(p.root, 'spec', 'object_store_ref', 'uri'),
          `pool '${p.name}' uses the object store ${p.contract.object_store_ref.uri} of pool '${first.name}' (${where(first)}); pools must not share an object store (P7)`,
        ),
      );
    }
  }
  // A pool V7 reported is not reported again for its bucket.
  out.push(...checkClusterBuckets(pools, usableClusters, sameStore));
  return out;
}

interface Placed {
  cluster: ClusterManifest;
  pools: string[];
  bucket: string;
  /** Where the bucket comes from: the cluster's own data_plane, or this pool's contract. */
  from: ClusterManifest | PoolManifest;
}

function checkClusterBuckets(
  pools: ReadonlyMap<string, PoolManifest>,
  clusters: readonly ClusterManifest[],
  reported: Set<Manifest>,
): ValidationError[] {
  const out: ValidationError[] = [];
  const placed = placeClusters(pools, clusters, out);
  checkSamePoolBuckets(pools, placed, out);
  checkSharedBuckets(placed, reported, out);
  return out;
}

/** Each cluster's metadata bucket (its own, or its pools' when they agree: V13 otherwise). */
function placeClusters(
  pools: ReadonlyMap<string, PoolManifest>,
  clusters: readonly ClusterManifest[],
  out: ValidationError[],
): Placed[] {
  const placed: Placed[] = [];
  for (const c of clusters) {
    const ps = [...new Set(clusterPools(c))];
    const declared = c.data_plane?.object_store_uri;
    if (declared && usable(c, '/spec/data_plane/object_store_uri')) {
      const bucket = bucketOf(declared);
      if (bucket) placed.push({ cluster: c, pools: ps, bucket, from: c });
      continue;
    }
    // No bucket of its own: its pools' object store, when they agree.
    const known = ps
      .map((name) => pools.get(name))
      .filter((p): p is PoolManifest => !!p?.contract && usable(p, '/spec/object_store_ref/uri'))
      .map((p) => ({ p, bucket: bucketOf(p.contract!.object_store_ref.uri) }))
      .filter((x): x is { p: PoolManifest; bucket: string } => x.bucket !== null);
    const other = known.find((k) => k.bucket !== known[0]!.bucket);
    if (other) {
      out.push(
        err(
          'V13',
          c,
          positionOf(c.root, 'spec', 'pools'),
          `cluster '${c.name}' is in pool '${known[0]!.p.name}' (bucket ${known[0]!.bucket}) and pool '${other.p.name}' (bucket ${other.bucket}); ` +
            `a cluster has one metadata bucket (storage.bucketName): pools that share a cluster share its bucket`,
        ),
      );
      continue;
    }
    if (known.length > 0)
      placed.push({ cluster: c, pools: ps, bucket: known[0]!.bucket, from: known[0]!.p });
  }
  return placed;
}

/**
 * Same pool, same bucket: checked here for pools the repository does not declare, or
 * declares with a contract marked unknown (V6 checks each declared data plane against a
 * declared pool's contract).
 */
function checkSamePoolBuckets(
  pools: ReadonlyMap<string, PoolManifest>,
  placed: readonly Placed[],
  out: ValidationError[],
): void {
  const firstInPool = new Map<string, Placed>();
  for (const x of placed) {
    for (const pool of x.pools) {
      if (pools.get(pool)?.contract) continue;
      const first = firstInPool.get(pool);
      if (!first) firstInPool.set(pool, x);
      else if (first.bucket !== x.bucket)
        out.push(
          bucketError(
            x,
            `cluster '${x.cluster.name}' uses metadata bucket ${x.bucket}, but cluster '${first.cluster.name}' (${where(first.cluster)}) in the same pool '${pool}' uses ${first.bucket}; ` +
              `clusters in one pool must share one metadata bucket (storage.bucketName)`,
          ),
        );
    }
  }
}

/** Different pools, different buckets: in one bucket every two clusters must share a pool. */
function checkSharedBuckets(
  placed: readonly Placed[],
  reported: Set<Manifest>,
  out: ValidationError[],
): void {
  const byBucket = new Map<string, Placed[]>();
  for (const x of placed) {
    const list = byBucket.get(x.bucket);
    if (list) list.push(x);
    else byBucket.set(x.bucket, [x]);
  }
  for (const [bucket, group] of byBucket) {
    if (group.length < 2 || commonPool(group)) continue;
    // One representative per distinct pool set keeps this short for large groups.
    const seen: Placed[] = [];
    for (const x of group) {
      const apart = seen.find((e) => !e.pools.some((p) => x.pools.includes(p)));
      if (apart && !reported.has(x.from)) {
        reported.add(x.from);
        out.push(
          bucketError(
            x,
            `${x.from === x.cluster ? `cluster '${x.cluster.name}'` : `pool '${x.from.name}' (cluster '${x.cluster.name}')`} uses metadata bucket ${bucket}, ` +
              `as does ${apart.from === apart.cluster ? `cluster '${apart.cluster.name}'` : `pool '${apart.from.name}'`} (${where(apart.from)}) in pool ${apart.pools.map((p) => `'${p}'`).join(', ')}; ` +
              `clusters in different pools must have different metadata buckets (storage.bucketName): give each pool its own bucket, or put the clusters in one pool`,
          ),
        );
      }
      const sig = [...x.pools].sort().join('|');
      if (!seen.some((e) => [...e.pools].sort().join('|') === sig)) seen.push(x);
    }
  }
}

function commonPool(group: readonly Placed[]): boolean {
  const counts = new Map<string, number>();
  for (const x of group) for (const p of new Set(x.pools)) counts.set(p, (counts.get(p) ?? 0) + 1);
  return [...counts.values()].some((n) => n === group.length);
}

/** At the cluster's own object store, or at the pool's when the bucket comes from it. */
function bucketError(x: Placed, message: string): ValidationError {
  return x.from === x.cluster
    ? err(
        'V13',
        x.cluster,
        positionOf(x.cluster.root, 'spec', 'data_plane', 'object_store_uri'),
        message,
      )
    : err('V13', x.from, positionOf(x.from.root, 'spec', 'object_store_ref', 'uri'), message);
}

/**
 * V15: Union's queue caps (manifests.md, Queue `max_accelerators`) as Union's own client checks
 * them before sending (flyteplugins-union 0.19.1, remote/_queue.py:295-346, 378-401): a device
 * must be a canonical accelerator or a spelling of one, of the class the selector names; a cap
 * without a device is accepted for NVIDIA GPUs only; no accelerator twice once canonicalised
 * (`nvidia_gpu/t4` is `nvidia_gpu/nvidia-t4`); and GPUs are capped only that way, never as a
 * `max_resources` total. The schema has already checked the selector's shape and the counts.
 */
function checkQueueCaps(queues: readonly QueueManifest[]): ValidationError[] {
  const errors: ValidationError[] = [];
  for (const q of queues) {
    if (Object.hasOwn(q.caps?.max_resources ?? {}, 'gpu')) {
      errors.push(
        err(
          'V15',
          q,
          positionOf(q.root, 'spec', 'max_resources', 'gpu'),
          'max_resources: Union has no total GPU cap (its queues cap cpu, memory and ephemeral_storage); ' +
            'cap GPUs per accelerator type with max_accelerators (nvidia_gpu: 8 for GPUs requested without a device, nvidia_gpu/nvidia-h100: 8 for one device)',
        ),
      );
    }
    const seen = new Map<string, string>();
    for (const selector of Object.keys(q.caps?.max_accelerators ?? {})) {
      const at = positionOf(q.root, 'spec', 'max_accelerators', selector);
      const read = canonicalSelector(selector);
      if ('error' in read) {
        errors.push(
          err(
            'V15',
            q,
            at,
            `max_accelerators: "${selector}": ${read.error} (Union's client refuses it: remote/_queue.py:295-346); ` +
              'name a canonical device of its class (nvidia_gpu/nvidia-h100, google_tpu/google-tpu-v5e, …), or nvidia_gpu alone',
          ),
        );
        continue;
      }
      const twin = seen.get(read.selector);
      if (twin !== undefined)
        errors.push(
          err(
            'V15',
            q,
            at,
            `max_accelerators: "${selector}" and "${twin}" name the same accelerator (${read.selector}); keep one`,
          ),
        );
      seen.set(read.selector, selector);
    }
  }
  return errors;
}

/**
 * V16: poolsync.yaml `absent:` lists system objects the repository wants deleted (`Queue/default`,
 * `ClusterPool/default`, docs/manifests.md); a document declaring one of them contradicts it, and
 * so does a cluster or queue that lives in an absent pool. Reported at the document.
 */
/** The pool a cluster or queue lives in: its own, else "default" (C1, Q1). */
const poolOf = (m: ClusterManifest | QueueManifest): string => m.pool ?? 'default';

export function checkAbsent(g: Grouped, config: RepoConfig): ValidationError[] {
  const absent = new Set(config.absent ?? []);
  if (absent.size === 0) return [];
  const declared = [...g.queues, ...g.pools]
    .filter((m) => absent.has(m.address ?? `${m.kind}/${m.name}`))
    .map((m) =>
      err(
        'V16',
        m,
        positionOf(m.root, 'metadata', 'name'),
        `${m.kind}/${m.name} is declared here but listed under absent in poolsync.yaml: remove one of the two`,
      ),
    );
  if (!absent.has('ClusterPool/default')) return declared;
  // Union refuses to register a cluster without a pool while `default` is deleted
  // (remote/_cluster.py:299-301), and no queue can live in a deleted pool.
  // A co-named queue without a pool is in its cluster's pool (Q4): judged by that cluster.
  const clusters = new Set(g.clusters.map((c) => c.name));
  const inDefault = [
    ...g.clusters,
    ...g.queues.filter((q) => q.pool !== null || !clusters.has(q.name)),
  ].filter((m) => m.name !== 'default' && poolOf(m) === 'default');
  return [
    ...declared,
    ...inDefault.map((m) =>
      err(
        'V16',
        m,
        positionOf(m.root, 'metadata', 'name'),
        `${m.kind}/${m.name} lives in pool "default", which poolsync.yaml lists absent: name another pool`,
      ),
    ),
  ];
}
