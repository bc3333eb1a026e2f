/**
 * Union's own CLI (flyte 2.12.1 with flyteplugins-union 0.19.1) against poolsync's Union
 * stand-in, for what issue 33 left: clusters and pools deleted and undeleted by the CLI (an
 * active cluster answers DELETING first, as Union's does), poolsync reading them as deleted
 * (an export of that organisation plans to no changes) and undeleting them when the repository
 * declares them again; and `flyte edit settings` writing `run.default_queue` at the
 * organisation's and a domain's scope, which poolsync reads and names when it blocks that
 * queue's delete. Skipped, saying why, without the venv.
 */
import { changeDocument } from '../../../src/render/json.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../../src/apply/executor.js';
import { exportManifests } from '../../../src/controlplane/export.js';
import { readLiveState } from '../../../src/controlplane/types.js';
import { planRepository } from '../../../src/ops/plan-run.js';
import { tempDir } from '../../support/repo.js';
import { flyte, flyteOk, remote, venv } from './flyte-cli.js';
import { openUnion, startUnionServer, type UnionServer } from './helpers.js';

if (typeof venv === 'string') console.warn(`flyte-cli-soft-deletes.e2e.test.ts ${venv}`);

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const POOL_FILE =
  'name: gpu\nconfig:\n  object_store_ref: {uri: s3://gpu-bucket/meta, endpoint: ""}\n  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}\n';

async function setUp() {
  s = await startUnionServer({ acceptUnauthenticated: true });
  const home = await tempDir('poolsync-flyte-home-');
  const ok = flyteOk(s!, home);
  const repo = join(home, 'repo');
  const put = async (rel: string, content: string) => {
    await mkdir(dirname(join(repo, rel)), { recursive: true });
    await writeFile(join(repo, rel), content);
  };
  return { server: s, home, ok, repo, put };
}

describe.skipIf(typeof venv === 'string')(
  "Union's own CLI: soft deletes and settings scopes",
  () => {
    it('clusters and pools deleted by the CLI: read as deleted, exported to no changes, undeleted by the CLI and by poolsync', async () => {
      const { server, home, ok, repo, put } = await setUp();
      await writeFile(join(home, 'gpu.yaml'), POOL_FILE);
      await ok(['create', 'cluster-pool', 'gpu', '--file', join(home, 'gpu.yaml')]);
      await ok(['create', 'cluster', 'g1', '--pool', 'gpu']);
      // An active cluster's delete answers DELETING; the stand-in finishes it at the next call.
      const del = await ok(['delete', 'cluster', 'g1', '--yes']);
      expect(del.toLowerCase()).toContain('deleting');
      await ok(['delete', 'cluster-pool', 'gpu', '--yes']);
      const [clusters, pools] = await remote(server, home, ['cluster:--deleted', 'pool:--deleted']);
      expect(JSON.stringify(clusters)).toMatch(/"name":"g1"[^]*"deletedAt"/);
      expect(JSON.stringify(pools)).toMatch(/"name":"gpu"[^]*"deletedAt"/);

      const cp = await openUnion(server, 'connect');
      try {
        const live = await readLiveState(cp);
        expect(live.deleted_pools?.map((p) => p.name)).toEqual(['gpu']);
        expect(live.deleted_clusters?.map((c) => [c.name, c.pool])).toEqual([['g1', 'gpu']]);
        // Export writes only what is live: its folder plans to no changes.
        // (prune on: what is deleted is never deleted again)
        await put('poolsync.yaml', 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n');
        for (const f of exportManifests(live).files) await put(f.path, f.content);
        const first = await planRepository(repo, cp);
        if (!first.ok) throw new Error(JSON.stringify(first.errors));
        expect(first.plan.steps).toEqual([]);

        // The CLI undeletes (pool first: a cluster comes back only into a live pool); poolsync
        // reads them live, the cluster drained, and the CLI activates it.
        const early = await flyte(server, home, ['undelete', 'cluster', 'g1']);
        expect(early.code).not.toBe(0);
        expect(early.out).toMatch(/pool/);
        await ok(['undelete', 'cluster-pool', 'gpu']);
        await ok(['undelete', 'cluster', 'g1']);
        expect(await cp.clusters.getCluster('g1')).toMatchObject({ pool: 'gpu', enabled: false });
        expect((await cp.queues.getQueue('g1')).state).not.toBe('active');
        await ok(['update', 'cluster', 'g1', '--activate', '--yes']);
        expect((await cp.queues.getQueue('g1')).state).toBe('active');

        // Deleted again by the CLI (drained first: deleted at once); declared in the repository,
        // poolsync undeletes both and activates the cluster; the CLI reads them back live.
        await ok(['update', 'cluster', 'g1', '--drain', '--yes']);
        await ok(['delete', 'cluster', 'g1', '--yes']);
        await ok(['delete', 'cluster-pool', 'gpu', '--yes']);
        const again = await readLiveState(cp);
        for (const f of exportManifests(again).files) await put(f.path, f.content);
        await put(
          'pools/gpu.yaml',
          'apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata: {name: gpu}\nspec:\n  object_store_ref: {uri: s3://gpu-bucket/meta}\n  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}\n',
        );
        await put(
          'clusters/g1.yaml',
          'apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: g1}\nspec: {pool: gpu, enabled: true}\n',
        );
        const planned = await planRepository(repo, cp);
        if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
        expect(planned.plan.errors).toEqual([]);
        expect(planned.plan.steps.map((x) => `${x.op} ${x.target}`)).toEqual([
          'undelete_pool ClusterPool/gpu',
          'undelete_cluster Cluster/g1',
          'update_cluster Cluster/g1',
        ]);
        expect((await executePlan(planned.plan, cp)).ok).toBe(true);
        const after = await planRepository(repo, cp);
        expect(after.ok && after.plan.steps).toEqual([]);
        const [g1, gpu] = await remote(server, home, ['cluster:g1', 'pool:gpu']);
        expect(JSON.stringify(g1)).not.toMatch(/deletedAt/);
        expect(JSON.stringify(g1)).toMatch(/CLUSTER_STATE_ACTIVE/);
        expect(JSON.stringify(gpu)).not.toMatch(/deletedAt/);
      } finally {
        await cp.close();
      }
    }, 300_000);

    it('`flyte edit settings` at the organisation and a domain: poolsync reads both scopes and blocks the queue delete naming them', async () => {
      const { server, home, ok, repo, put } = await setUp();
      for (const q of ['org-q', 'dom-q', 'ml-q'])
        await ok(['create', 'queue', q, '--run-concurrency', '1', '--action-concurrency', '1']);
      const file = (name: string, text: string) => writeFile(join(home, name), text);
      await file('org.yaml', 'run.default_queue: org-q\n');
      await file('staging.yaml', 'run.default_queue: dom-q\n');
      await ok(['edit', 'settings', '--from-file', join(home, 'org.yaml')]);
      await ok([
        'edit',
        'settings',
        '--domain',
        'staging',
        '--from-file',
        join(home, 'staging.yaml'),
      ]);
      // A project in that domain (Union lists domains only through the projects that have them).
      await file('ml.yaml', 'run.default_queue: ml-q\n');
      await ok([
        'edit',
        'settings',
        '--project',
        'ml',
        '--domain',
        'staging',
        '--from-file',
        join(home, 'ml.yaml'),
      ]);
      // The CLI reads back what it wrote, at each scope.
      expect(await ok(['get', 'settings'])).toContain('org-q');
      expect(await ok(['get', 'settings', '--domain', 'staging'])).toContain('dom-q');

      const cp = await openUnion(server, 'connect');
      try {
        const live = await readLiveState(cp);
        expect(live.default_queue_scopes).toEqual([
          { queue: 'org-q' },
          { domain: 'staging', queue: 'dom-q' },
        ]);
        // A repository without the two queues (prune on): their deletes are blocked, naming the scope.
        for (const f of exportManifests(live).files)
          if (!/org-q|dom-q/.test(f.path)) await put(f.path, f.content);
        await put('poolsync.yaml', 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n');
        const planned = await planRepository(repo, cp);
        if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
        const reason = (q: string) => planned.plan.changes.find((c) => c.address === `Queue/${q}`);
        expect(changeDocument(reason('org-q')!)).toMatchObject({
          action: 'blocked',
          reason: expect.stringContaining('default queue of the organisation'),
        });
        expect(changeDocument(reason('dom-q')!)).toMatchObject({
          action: 'blocked',
          reason: expect.stringContaining('default queue of domain staging'),
        });
        expect(planned.plan.steps.filter((x) => /org-q|dom-q/.test(JSON.stringify(x)))).toEqual([]);
        // And Union (the stand-in) drains it for the CLI, but refuses its delete, as poolsync
        // planned (remote/_queue.py:934-938, 1011-1012).
        await ok(['update', 'queue', 'dom-q', '--drain']);
        const refused = await flyte(server, home, ['delete', 'queue', 'dom-q', '--yes']);
        expect(refused.code).not.toBe(0);
        expect(refused.out).toContain('default queue of domain staging');
      } finally {
        await cp.close();
      }
    }, 300_000);
  },
);
