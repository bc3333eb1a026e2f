/**
 * Union's own client checks poolsync's Union stand-in: the real `flyte` CLI (flyte 2.12.1 with
 * flyteplugins-union 0.19.1, installed by scripts/install-union-venv.sh) lists, gets and creates
 * pools, clusters and queues, drains, deletes and undeletes them against the stand-in on
 * 127.0.0.1, and poolsync's union backend reads what the CLI wrote (and the CLI what poolsync
 * wrote). Where the two disagreed, the stand-in was wrong and was fixed (docs/union.md, "Union's
 * client against the stand-in"). Skipped, saying why, without the venv.
 *
 * The CLI runs with `--insecure` (plain HTTP): it then sends no token (flyte
 * remote/_client/auth/_session.py), so the stand-in is started accepting calls without one.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../../src/apply/executor.js';
import { exportManifests } from '../../../src/controlplane/export.js';
import { readLiveState } from '../../../src/controlplane/types.js';
import { planRepository } from '../../../src/ops/plan-run.js';
import type { UnionControlPlane } from '../../../src/controlplane/union/union.js';
import { tempDir } from '../../support/repo.js';
import { byName, flyte, flyteOk, remote, venv } from './flyte-cli.js';
import { openUnion, startUnionServer, type UnionServer } from './helpers.js';
import { poolContract } from '../../support/builders.js';

if (typeof venv === 'string') console.warn(`flyte-cli.e2e.test.ts ${venv}`);

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe.skipIf(typeof venv === 'string')(
  "Union's own CLI against poolsync's Union stand-in",
  () => {
    it('pools, clusters and queues: create, get, drain, delete, undelete; poolsync reads what the CLI wrote', async () => {
      s = await startUnionServer({ acceptUnauthenticated: true });
      const home = await tempDir('poolsync-flyte-home-');
      const poolFile = join(home, 'gpu-pool.yaml');
      await writeFile(
        poolFile,
        'name: gpu\nconfig:\n  object_store_ref: {uri: s3://gpu-bucket/meta, endpoint: ""}\n  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}\n  image_registry: {locator: reg.example.com/union}\n',
      );
      const ok = flyteOk(s!, home);

      await ok(['create', 'cluster-pool', 'gpu', '--file', poolFile]);
      await ok(['create', 'cluster', 'g1', '--pool', 'gpu']);
      await ok(['create', 'cluster', 'c1']);
      await ok([
        'create',
        'queue',
        'batch',
        '--run-concurrency',
        '5',
        '--action-concurrency',
        '50',
        '--cluster-pool',
        'gpu',
        '--cluster',
        'g1',
        '--max-resources',
        'cpu=64',
      ]);

      // What the CLI reads back.
      const [pools, queueRead, ownRead] = await remote(s, home, [
        'pool:--list',
        'queue:batch',
        'queue:g1',
      ]);
      // ClusterPool.to_dict() is the message itself (MessageToDict).
      const gpu = (pools as { id: { name: string } }[]).find((p) => p.id.name === 'gpu');
      expect(JSON.stringify(gpu)).toContain('s3://gpu-bucket/meta');
      const queue = queueRead as Record<string, unknown>;
      expect(queue).toMatchObject({
        name: 'batch',
        status: 'active',
        run_concurrency: 5,
        action_concurrency: 50,
        depth: 10000,
        clusters: ['g1'],
        cluster_pool: 'gpu',
        max_resources: { cpu: '64' },
        scheduling: 'strict_fifo',
      });
      const own = ownRead as Record<string, unknown>;
      expect(own).toMatchObject({ cluster_managed: true, cluster_pool: 'gpu', clusters: ['g1'] });

      // What poolsync reads of what the CLI wrote.
      const cp = await openUnion(s, 'connect');
      const live = await readLiveState(cp);
      expect(live.pools.find((p) => p.name === 'gpu')?.contract).toEqual(
        poolContract('s3://gpu-bucket/meta', {
          image_registry: { locator: 'reg.example.com/union' },
        }),
      );
      expect(live.clusters.find((c) => c.name === 'g1')).toMatchObject({
        pool: 'gpu',
        enabled: true,
      });
      expect(live.queues.find((q) => q.name === 'batch')).toMatchObject({
        pool: 'gpu',
        clusters: ['g1'],
        run_concurrency: 5,
        depth: 10000,
        unknown_fields: [8, 9],
      });

      // Cluster drain and activate: poolsync's `enabled`.
      // Its co-named queue drains and activates with it (Union, remote/_cluster.py).
      await ok(['update', 'cluster', 'c1', '--drain', '--yes']);
      expect((await cp.clusters.getCluster('c1')).enabled).toBe(false);
      expect((await cp.queues.getQueue('c1')).state).not.toBe('active');
      await ok(['update', 'cluster', 'c1', '--activate', '--yes']);
      expect((await cp.clusters.getCluster('c1')).enabled).toBe(true);
      expect((await cp.queues.getQueue('c1')).state).toBe('active');
      // A cluster another queue names cannot be deleted (Union: unpin it first).
      const pinned = await flyte(s, home, ['delete', 'cluster', 'g1', '--yes']);
      expect(pinned.code).not.toBe(0);
      expect(pinned.out).toMatch(/batch/);

      // Queue drain, delete (soft: the name stays reserved), undelete.
      await ok(['update', 'queue', 'batch', '--drain']);
      const early = await flyte(s, home, ['delete', 'queue', 'batch', '--yes']);
      expect(early.code).toBe(0); // drained at once: nothing in flight
      expect((await cp.queues.listDeletedQueues()).map((q) => q.name)).toEqual(['batch']);
      const deleted = (await remote(s, home, ['queue:--deleted']))[0];
      expect(byName(deleted, 'batch')).toMatchObject({ status: 'deleted' });
      const taken = await flyte(s, home, [
        'create',
        'queue',
        'batch',
        '--run-concurrency',
        '1',
        '--action-concurrency',
        '1',
      ]);
      expect(taken.code).not.toBe(0);
      await ok(['undelete', 'queue', 'batch']);
      expect(await cp.queues.getQueue('batch')).toMatchObject({
        state: 'drained',
        run_concurrency: 5,
      });
      // The caps came back with it.
      expect((await cp.queues.getQueue('batch')).unknown_fields).toEqual([8, 9]);
      await ok(['update', 'queue', 'batch', '--activate']);

      // What poolsync writes, the CLI reads.
      await cp.pools.createPool(
        'cpu',
        poolContract('s3://cpu-bucket/meta', {
          secret_store: { type: 'KUBERNETES', locator: 'union' },
        }),
      );
      await cp.clusters.registerCluster({ name: 'k1', pool: 'cpu' });
      await cp.clusters.updateCluster('k1', { enabled: false });
      const [k1Read] = await remote(s, home, ['cluster:k1']);
      const k1 = k1Read as Record<string, unknown>;
      expect(JSON.stringify(k1)).toMatch(/cpu/);
      expect(JSON.stringify(k1)).toMatch(/drain/);
      await cp.capabilityCalls.drainQueue('k1');
      await cp.clusters.deleteCluster('k1');
      const gone = (await remote(s, home, ['cluster:--deleted']))[0];
      // Cluster.to_dict() is the message itself: the deleted cluster, with deleted_at.
      expect(JSON.stringify(gone)).toMatch(/"name":"k1"[^]*"deletedAt"/);
      await cp.close();
    }, 300_000);

    it("queue caps and the default queue: what the CLI writes exports to a folder that plans to no changes; poolsync's cap change reads back in the CLI; absent: [Queue/default] deletes it", async () => {
      s = await startUnionServer({ acceptUnauthenticated: true });
      const home = await tempDir('poolsync-flyte-home-');
      const ok = flyteOk(s!, home);
      await ok([
        'create',
        'queue',
        'gpu',
        '--run-concurrency',
        '4',
        '--action-concurrency',
        '40',
        '--max-accelerators',
        'H100=8',
        '--max-accelerators',
        'nvidia_gpu=2',
        '--max-resources',
        'memory=512Gi',
        '--scheduling',
        'greedy_capacity',
      ]);
      // Union allows draining `default` (the stand-in follows: capability default_delete).
      await ok(['update', 'queue', 'default', '--drain']);
      await ok(['update', 'queue', 'default', '--activate']);

      const cp = await openUnion(s, 'connect');
      const live = await readLiveState(cp);
      expect(live.queues.find((q) => q.name === 'gpu')).toMatchObject({
        max_accelerators: { 'nvidia_gpu/nvidia-h100': 8, nvidia_gpu: 2 },
        max_resources: { memory: '512Gi' },
        scheduling: 'greedy_capacity',
      });
      const repo = join(home, 'repo');
      const put = async (rel: string, content: string) => {
        await mkdir(dirname(join(repo, rel)), { recursive: true });
        await writeFile(join(repo, rel), content);
      };
      const exported = exportManifests(live).files;
      for (const f of exported) await put(f.path, f.content);
      const first = await planRepository(repo, cp);
      expect(first.ok && first.plan.steps).toEqual([]);

      // poolsync changes one cap; the CLI reads it, the device model the CLI set kept.
      const gpuFile = exported.find((f) => f.path === 'queues/gpu.yaml')!;
      await put('queues/gpu.yaml', gpuFile.content.replace(/(nvidia-h100['"]?: )8/, '$116'));
      await applyAndReplan(repo, cp, ['update_queue']);
      const [gpuRead] = await remote(s, home, ['queue:gpu']);
      expect(gpuRead).toMatchObject({
        max_accelerators: { 'nvidia_gpu/nvidia-h100': 16, nvidia_gpu: 2 },
        max_resources: { memory: '512Gi' },
        scheduling: 'greedy_capacity',
      });

      // The repository wants `default` gone: drained, waited for, deleted (soft, as the CLI sees it).
      await put(
        'poolsync.yaml',
        'apiVersion: poolsync/v1\nkind: RepoConfig\nabsent: [Queue/default]\n',
      );
      await applyAndReplan(repo, cp, ['drain_queue', 'wait_drained', 'delete_queue']);
      const [deleted] = await remote(s, home, ['queue:--deleted']);
      expect(byName(deleted, 'default')).toMatchObject({ status: 'deleted' });
      await cp.close();
    }, 300_000);
  },
);

/** Plans `repo`, checks the steps' ops, applies, and checks that the next plan is empty. */
async function applyAndReplan(repo: string, cp: UnionControlPlane, ops: string[]): Promise<void> {
  const planned = await planRepository(repo, cp);
  if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
  expect(planned.plan.errors).toEqual([]);
  expect(planned.plan.steps.map((st) => st.op)).toEqual(ops);
  await executePlan(planned.plan, cp, { parallelism: 2, waitTimeoutMs: 20_000 });
  const again = await planRepository(repo, cp);
  expect(again.ok && again.plan.steps).toEqual([]);
}
