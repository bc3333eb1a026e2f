import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { driftModel, generateScaleModel, scaleCounts } from '../../bench/lib/scale.js';
import { renderRepository, writeRepository } from '../../bench/lib/yaml-writer.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('scale generator', () => {
  it('splits N into the reference ratios (quality.md: 50/2000/7000/1000 at 10k)', () => {
    expect(scaleCounts(10_000)).toEqual({
      pools: 50,
      clusters: 2000,
      queues: 6950,
      assignments: 1000,
    });
    const c = scaleCounts(1000);
    expect(c.pools + c.clusters + c.queues + c.assignments).toBe(1000);
    expect(() => scaleCounts(2)).toThrow(/objects must be an integer >= 4/);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = renderRepository(generateScaleModel(500, 7));
    const b = renderRepository(generateScaleModel(500, 7));
    const c = renderRepository(generateScaleModel(500, 8));
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...c]);
  });

  it('produces a model that keeps the cross-document rules (V1-V8)', () => {
    const model = generateScaleModel(2000, 3);
    const pools = new Map(model.pools.map((p) => [p.name, p]));
    const clusters = new Map(model.clusters.map((c) => [c.name, c]));
    // V1: unique names per kind; N1 names.
    expect(pools.size).toBe(model.pools.length);
    expect(clusters.size).toBe(model.clusters.length);
    expect(new Set(model.queues.map((q) => q.name)).size).toBe(model.queues.length);
    for (const name of [...pools.keys(), ...clusters.keys(), ...model.queues.map((q) => q.name)]) {
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(name.length).toBeLessThanOrEqual(63);
    }
    // V7: one object store per pool.
    expect(new Set(model.pools.map((p) => p.contract.object_store_ref.uri)).size).toBe(
      model.pools.length,
    );
    for (const c of model.clusters) {
      expect(pools.has(c.pool)).toBe(true); // V2
      if (c.data_plane)
        expect(c.data_plane.object_store_uri).toBe(
          pools.get(c.pool)!.contract.object_store_ref.uri,
        ); // V6
    }
    let wildcard = 0;
    let pinned = 0;
    for (const q of model.queues) {
      expect(q.spec.pool === 'default' || pools.has(q.spec.pool)).toBe(true); // V2
      if (q.coNamed) {
        // V5: a co-named queue document keeps its cluster's pool and selector.
        expect(q.spec.clusters).toEqual([q.name]);
        expect(q.spec.pool).toBe(clusters.get(q.name)!.pool);
        continue;
      }
      expect(clusters.has(q.name)).toBe(false); // Q2
      if (q.spec.clusters.includes('*')) {
        expect(q.spec.clusters).toEqual(['*']); // V4
        wildcard++;
      } else if (q.spec.clusters.length > 0) {
        pinned++;
        for (const c of q.spec.clusters) expect(clusters.get(c)?.pool).toBe(q.spec.pool); // V3
      }
    }
    expect(wildcard).toBeGreaterThan(model.queues.length * 0.2);
    expect(pinned).toBeGreaterThan(model.queues.length * 0.5);
    // V8: unique assignment keys naming known pools.
    const keys = model.assignments.map((a) => `${a.project}/${a.domain}/${a.workflow ?? ''}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const a of model.assignments) expect(pools.has(a.pool)).toBe(true);
    expect(model.assignments.some((a) => a.workflow !== null)).toBe(true);
  });

  it('writes YAML that reads back as exactly the model, several documents per file, a folder per kind', async () => {
    const model = generateScaleModel(1000, 1);
    const dir = await tempDir();
    const written = await writeRepository(model, dir);
    expect(written.documents).toBe(1000);
    expect((await readdir(dir)).sort()).toEqual([
      'assignments',
      'clusters',
      'pools',
      'poolsync.yaml',
      'queues',
    ]);

    const docs: Array<{ kind: string; metadata: { name: string }; spec: Record<string, unknown> }> =
      [];
    for (const folder of ['pools', 'clusters', 'queues', 'assignments']) {
      const files = await readdir(join(dir, folder));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        const parsed = loadAll(await readFile(join(dir, folder, f), 'utf8')) as typeof docs;
        if (folder !== 'pools') expect(parsed.length).toBeGreaterThan(1);
        docs.push(...parsed);
      }
    }
    const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
    expect(byKind('ClusterPool')).toHaveLength(model.pools.length);
    expect(byKind('Cluster')).toHaveLength(model.clusters.length);
    expect(byKind('PoolAssignment')).toHaveLength(model.assignments.length);
    const queues = new Map(byKind('Queue').map((d) => [d.metadata.name, d.spec]));
    expect(queues.size).toBe(model.queues.length);
    for (const q of model.queues) {
      const spec = queues.get(q.name)!;
      expect(spec.run_concurrency).toBe(q.spec.run_concurrency);
      if (q.coNamed) {
        // Managed by the cluster: pool and selector left out (manifests.md, Queue).
        expect(spec.pool).toBeUndefined();
        expect(spec.clusters).toBeUndefined();
      } else {
        expect(spec.clusters ?? ['*']).toEqual(q.spec.clusters);
        expect(spec.pool ?? 'default').toBe(q.spec.pool);
      }
      expect(spec.depth ?? 10000).toBe(q.spec.depth);
      expect(spec.priority ?? 'medium').toBe(q.spec.priority);
    }
    const pool = byKind('ClusterPool').find((d) => d.metadata.name === model.pools[0]!.name)!;
    expect(pool.spec).toMatchObject({
      object_store_ref: { uri: model.pools[0]!.contract.object_store_ref.uri },
      secret_store: model.pools[0]!.contract.secret_store,
    });
  });

  it('drifts 10% of queues and moves some clusters, keeping the live state consistent (Q1, C8)', () => {
    const model = generateScaleModel(5000, 1);
    const { model: live, summary } = driftModel(model);
    const standalone = model.queues.filter((q) => !q.coNamed).length;
    expect(summary.queuesChanged).toBe(Math.round(standalone * 0.1));
    expect(summary.clustersMoved).toBeGreaterThan(0);
    const liveClusters = new Map(live.clusters.map((c) => [c.name, c]));
    let differing = 0;
    model.queues.forEach((q, i) => {
      if (JSON.stringify(q.spec) !== JSON.stringify(live.queues[i]!.spec)) differing++;
    });
    expect(differing).toBeGreaterThanOrEqual(summary.queuesChanged);
    // Q1: every live selector names only clusters of the queue's own pool.
    for (const q of live.queues) {
      for (const c of q.spec.clusters)
        if (c !== '*') expect(liveClusters.get(c)?.pool).toBe(q.spec.pool);
    }
    // The source model is not mutated.
    expect(generateScaleModel(5000, 1)).toEqual(model);
  });
});
