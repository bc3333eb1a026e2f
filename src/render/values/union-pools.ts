/**
 * Union self-managed (seed union-selfmanaged-multiple-clusters.md): the clusterPool →
 * clusterNames mapping Union configures in its control plane, from the ClusterPool and Cluster
 * manifests (a cluster listed under each of its `pools`, as the seed lists my-dev-cluster under
 * `default` and development-cp), with each pool's metadata bucket as a comment (every cluster
 * of a pool must use it as `storage.bucketName`; V13 keeps buckets apart between clusters that
 * share no pool). Pure and stable.
 */
import { dump } from '../../util/js-yaml.js';
import { DEFAULT_POOL } from '../../model/common.js';
import type { DesiredState } from '../../model/desired.js';
import { header } from './header.js';
import { bucketOf } from '../../model/flyte.js';

export function unionClusterPools(desired: DesiredState): Record<string, string[]> {
  const pools = new Map<string, string[]>();
  for (const p of desired.pools) pools.set(p.name, []);
  for (const c of desired.clusters) {
    for (const pool of c.pools ?? [c.pool]) {
      const list = pools.get(pool);
      if (list) list.push(c.name);
      else pools.set(pool, [c.name]);
    }
  }
  // `default` first (where executions run without a mapping), then by name.
  const names = [...pools.keys()].sort((a, b) =>
    a === DEFAULT_POOL ? -1 : b === DEFAULT_POOL ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  return Object.fromEntries(names.map((n) => [n, [...pools.get(n)!].sort()]));
}

export function renderUnionClusterPools(
  desired: DesiredState,
  opts: { commit: string | null },
): string {
  const mapping = unionClusterPools(desired);
  const buckets = new Map(desired.pools.map((p) => [p.name, p.contract?.object_store_ref.uri]));
  const out: string[] = [];
  for (const [pool, clusters] of Object.entries(mapping)) {
    const bucket = buckets.get(pool);
    if (bucket) {
      const name = bucketOf(bucket)?.replace(/^[a-z0-9]+:\/\//i, '') ?? bucket;
      out.push(`# ${pool}: storage.bucketName ${name} for every cluster (object store ${bucket})`);
    }
    out.push(
      dump(
        { [pool]: clusters },
        { lineWidth: -1, flowLevel: clusters.length === 0 ? 1 : -1 },
      ).trimEnd(),
    );
  }
  const extra = [
    'The clusterPool -> clusterNames mapping to hand to Union (support) for its control plane;',
    'project/domain[/workflow] -> pool mappings are applied by `poolsync apply` (PoolAssignment).',
  ];
  return header(opts.commit, 'poolsync render union-cluster-pools', extra) + out.join('\n') + '\n';
}
