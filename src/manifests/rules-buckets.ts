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
import { DEFAULT_POOL } from '../model/common.js';
import { bucketOf } from '../model/flyte.js';
import type { ClusterManifest, Manifest, PoolManifest } from './documents.js';
import { positionOf, usable } from './documents.js';
import { err, where } from './rule-helpers.js';
import type { ValidationError } from './types.js';

/** Every pool a cluster is in (`pools`, else `pool`, else `default`). */
export function clusterPools(c: ClusterManifest): string[] {
  return c.pools ?? [c.pool ?? DEFAULT_POOL];
}

/** Two object store URIs in the same bucket (a URI without one compares whole). */
export function sameBucket(a: string, b: string): boolean {
  const ba = bucketOf(a);
  return ba !== null && ba === bucketOf(b);
}

const strip = (u: string) => u.replace(/\/+$/, '');

export function checkObjectStores(
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
