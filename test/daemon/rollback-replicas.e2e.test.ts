/**
 * A rollback outlasts a change of replica (issue 76 item 2 with several replicas; docs/daemon.md
 * #rollback): daemons sharing a Lease keep the rollback in force in a ConfigMap beside it
 * (`<lease>-rollback`), so a replica with a state folder of its own that takes over holds it,
 * and does not apply the branch head; `poolsync resume` on it lifts it for every replica. In
 * process: the daemons' HTTP servers, the Union stand-in, real Git and the fake Kubernetes API
 * (test/support/fake-kube-api.ts, held to the real kube-apiserver's answers).
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeze, rollback } from '../../src/cli/commands/daemon-client.js';
import { cleanup } from '../support/cleanup.js';
import { memoryIo } from '../support/memory-io.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { apiKey, startUnionServer, type UnionServer } from '../controlplane/union/helpers.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const ADMIN = 'admin-token-rollback-replicas-0123456789';
let s: UnionServer;
let kube: FakeKubeApi;
beforeAll(async () => {
  s = await startUnionServer();
  kube = await startFakeKubeApi();
});
afterAll(async () => {
  await s.close();
  await kube.close();
  await rm(dirname(kube.kubeconfig), { recursive: true, force: true });
});

const queue = (rc: number) => ({
  'queues/web.yaml': `apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: web\nspec:\n  pool: default\n  clusters: ["c1"]\n  run_concurrency: ${rc}\n  action_concurrency: 10\n`,
});
const args = (url: string, run?: number) => ({
  daemon: url,
  output: 'text' as const,
  wait: true,
  ...(run !== undefined ? { run } : {}),
});

async function replica(repo: TestRepo) {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kube.kubeconfig);
  const h = await startOwnTestDaemon({
    state: tempDir(),
    flags: { repo: repo.bare, 'control-plane': s.url('connect'), lock: 'k8s:poolsync/apply-lock' },
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN, POOLSYNC_UNION_API_KEY: apiKey(s.host) },
    logLevel: 'silent',
    deps: { kubeConfig },
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  return h;
}

describe('a rollback with several replicas', { timeout: 120_000 }, () => {
  it('is held by a replica that takes over with its own state folder, until resumed there', async () => {
    await s.embedded.registerCluster({ name: 'c1' });
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(
      {
        'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\n',
        'cluster.yaml':
          'apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: c1\nspec:\n  pool: default\n  enabled: true\n',
        ...queue(3),
      },
      'A',
    );
    const a = await replica(repo);
    const runA = a.daemon.status().lastRun!.id;
    repo.commit(queue(8), 'B');
    await a.daemon.reconcile('webhook');
    expect((await s.embedded.getQueue('web')).run_concurrency).toBe(8);
    expect(
      await rollback(args(a.daemon.url, runA), memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN })),
    ).toBe(0);
    expect((await s.embedded.getQueue('web')).run_concurrency).toBe(3);
    const kept = kube.configMaps.get('poolsync/apply-lock-rollback')?.data?.['rollback.json'];
    expect(JSON.parse(kept!)).toMatchObject({ rollback: { run: runA } });
    await a.stop();

    // Another replica, a state folder of its own: the branch (still at B) is not applied.
    const b = await replica(repo);
    expect(b.daemon.status()).toMatchObject({ rollback: { run: runA } });
    expect(b.daemon.status().lastRun).toMatchObject({ rollback: { to: runA } });
    expect((await s.embedded.getQueue('web')).run_concurrency).toBe(3);
    // Resumed there: lifted for every replica, and the branch is applied.
    expect(await freeze(args(b.daemon.url), memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN }), false)).toBe(
      0,
    );
    await b.daemon.reconcile('manual');
    expect((await s.embedded.getQueue('web')).run_concurrency).toBe(8);
    expect(
      kube.configMaps.get('poolsync/apply-lock-rollback')?.data?.['rollback.json'],
    ).toBeUndefined();
  });
});
