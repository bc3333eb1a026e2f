/**
 * Union self-managed as the seed writes it (union-selfmanaged-multiple-clusters.md): a cluster
 * may be in several pools of the pool map, and the bucket rule is the seed's, between clusters
 * and on bucket names: two clusters in one pool share a bucket (storage.bucketName), two that
 * share no pool do not (V13); a prefix does not make another bucket.
 */
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import { planForBackend } from '../../src/plan/index.js';
import { POOL, writeRepo } from './helpers.js';

const cluster = (name: string, pools: string, uri?: string) => `apiVersion: poolsync/v1
kind: Cluster
metadata:
  name: ${name}
spec:
  ${pools.startsWith('[') ? `pools: ${pools}` : `pool: ${pools}`}
${uri ? `  data_plane:\n    object_store_uri: ${uri}\n` : ''}`;

async function load(files: Record<string, string>) {
  return loadRepository(await writeRepo(files));
}
const brief = (errors: { code: string; address: string | null; file: string; line: number }[]) =>
  errors.map((e) => `${e.code} ${e.address} ${e.file}:${e.line}`);

describe('the seed’s bucket rule (V13) and a cluster in several pools', () => {
  it('the seed’s own mapping validates: my-dev-cluster in default and development-cp', async () => {
    const r = await loadRepository('examples/union-self-managed');
    expect(r.errors).toEqual([]);
    const dev = r.desired!.clusters.find((c) => c.name === 'my-dev-cluster')!;
    expect([dev.pool, dev.pools]).toEqual(['default', ['default', 'development-cp']]);
  });

  it('compares bucket names, not paths: one pool, one bucket, prefixes free', async () => {
    const ok = await load({
      'p.yaml': POOL('dev', 's3://acme-dev/metadata'),
      'c.yaml': [
        cluster('a', 'dev', 's3://acme-dev/a'),
        cluster('b', 'dev', 's3://acme-dev/b/'),
      ].join('---\n'),
    });
    expect(ok.errors).toEqual([]);
    // Another bucket in the pool: V6 (the cluster's data plane against its pool).
    const other = await load({
      'p.yaml': POOL('dev', 's3://acme-dev/metadata'),
      'c.yaml': cluster('a', 'dev', 's3://acme-other/metadata'),
    });
    expect(brief(other.errors)).toEqual(['V6 Cluster/a c.yaml:8']);
    // In the undeclared `default` pool, two clusters with two buckets: V13.
    const def = await load({
      'c.yaml': [cluster('a', 'default', 's3://one/m'), cluster('b', 'default', 's3://two/m')].join(
        '---\n',
      ),
    });
    expect(brief(def.errors)).toEqual(['V13 Cluster/b c.yaml:17']);
    expect(def.errors[0]!.message).toContain("in the same pool 'default'");
  });

  it('two clusters that share no pool must not share a bucket, whatever the prefixes', async () => {
    const r = await load({
      'p.yaml': [POOL('dev', 's3://acme/dev'), POOL('prod', 's3://acme/prod')].join('---\n'),
      'c.yaml': [cluster('a', 'dev', 's3://acme/dev'), cluster('b', 'prod', 's3://acme/prod')].join(
        '---\n',
      ),
    });
    expect(brief(r.errors)).toEqual(['V13 Cluster/b c.yaml:17']);
    expect(r.errors[0]!.message).toContain(
      "cluster 'b' uses metadata bucket s3://acme, as does cluster 'a' (c.yaml:8:23) in pool 'dev'",
    );
    // Bucket derived from the pools (no data_plane): reported once, at the pool.
    const derived = await load({
      'p.yaml': [POOL('dev', 's3://acme/dev'), POOL('prod', 's3://acme/prod')].join('---\n'),
      'c.yaml': [cluster('a', 'dev'), cluster('b', 'prod'), cluster('c', 'prod')].join('---\n'),
    });
    expect(brief(derived.errors)).toEqual(['V13 ClusterPool/prod p.yaml:18']);
    // Both sides name a cluster, and the pool once.
    expect(derived.errors[0]!.message).toContain(
      "pool 'prod' (cluster 'b') uses metadata bucket s3://acme, as does pool 'dev' (cluster 'a') (p.yaml:7:10);",
    );
  });

  it('pools that share a cluster share its bucket (V7 does not apply to them); their other clusters still may not', async () => {
    const shared = await load({
      'p.yaml': [POOL('default', 's3://acme-dev/m'), POOL('dev', 's3://acme-dev/m')].join('---\n'),
      'c.yaml': [
        cluster('my-dev', '[default, dev]', 's3://acme-dev/m'),
        cluster('prod-1', 'prod-cp'),
      ].join('---\n'),
      'q.yaml': POOL('prod-cp', 's3://acme-prod/m'),
    });
    expect(shared.errors).toEqual([]);
    // x only in default and y only in dev share no pool, but would share the bucket.
    const apart = await load({
      'p.yaml': [POOL('default', 's3://acme-dev/m'), POOL('dev', 's3://acme-dev/m')].join('---\n'),
      'c.yaml': [
        cluster('my-dev', '[default, dev]'),
        cluster('x', 'default'),
        cluster('y', 'dev'),
      ].join('---\n'),
    });
    expect(brief(apart.errors)).toEqual(['V13 ClusterPool/dev p.yaml:18']);
    // Without the shared cluster, two pools with one object store are V7 (P7).
    const v7 = await load({
      'p.yaml': [POOL('a', 's3://acme-dev/m'), POOL('b', 's3://acme-dev/m')].join('---\n'),
    });
    expect(brief(v7.errors)).toEqual(['V7 ClusterPool/b p.yaml:18']);
  });

  it('a cluster in pools with different buckets, and pool with pools, are refused', async () => {
    const two = await load({
      'p.yaml': [POOL('a', 's3://one/m'), POOL('b', 's3://two/m')].join('---\n'),
      'c.yaml': cluster('c', '[a, b]'),
    });
    expect(two.errors.map((e) => [e.code, e.message])).toEqual([
      [
        'V13',
        "cluster 'c' is in pool 'a' (bucket s3://one) and pool 'b' (bucket s3://two); a cluster has one metadata bucket (storage.bucketName): pools that share a cluster share its bucket",
      ],
    ]);
    const both = await load({
      'p.yaml': POOL('a', 's3://one/m'),
      'c.yaml': `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: c}\nspec: {pool: a, pools: [a]}\n`,
    });
    expect(both.errors.map((e) => e.code)).toEqual(['SCHEMA']);
    const unknown = await load({ 'c.yaml': cluster('c', '[default, nowhere]') });
    expect(brief(unknown.errors)).toEqual(['V2 Cluster/c c.yaml:6']);
  });

  it('only Union self-managed’s pool map has clusters in several pools: a backend that registers clusters refuses them (C7)', async () => {
    const r = await loadRepository('examples/union-self-managed');
    const live = {
      pools: [],
      clusters: [],
      queues: [],
      assignments: [],
      capabilities: { ...BASELINE_CAPABILITIES },
    };
    const embedded = planForBackend(r.desired!, live, {
      name: 'embedded',
      kinds: ['ClusterPool', 'Cluster', 'Queue', 'PoolAssignment'],
    });
    expect(embedded.errors.map((e) => [e.code, e.address])).toEqual([
      ['MULTI_POOL_CLUSTER', 'Cluster/my-dev-cluster'],
    ]);
    const flyteadmin = planForBackend(r.desired!, live, {
      name: 'flyteadmin',
      kinds: ['PoolAssignment', 'ExecutionClusterLabel'],
      configKinds: ['ExecutionCluster', 'ClusterLabel', 'ClusterPool', 'Cluster'],
    });
    expect(flyteadmin.errors).toEqual([]);
  });
});
