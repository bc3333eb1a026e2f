/**
 * Daemon replicas against Union share the inventory through a ConfigMap beside their `--lock`
 * Lease (docs/daemon.md, High availability; docs/plan.md, Prune by inventory): replica a
 * applies; replica b, with a state folder of its own, plans the delete of what a applied and
 * the repository dropped, and leaves a hand-made queue unmanaged. In process: the daemons' HTTP
 * servers, the Union stand-in and the fake Kubernetes API on 127.0.0.1.
 */
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { writeRepo } from '../support/repo.js';
import { apiKey, startUnionServer, type UnionServer } from '../controlplane/union/helpers.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { until } from '../support/until.js';
import { startOwnTestDaemon } from './harness.js';
import { tempDir } from './helpers.js';
import { recordedAddresses, type InventoryRecord } from '../../src/model/inventory.js';

let s: UnionServer;
let kube: FakeKubeApi;
let work: string;
const saved = process.env.POOLSYNC_UNION_API_KEY;
beforeAll(async () => {
  s = await startUnionServer();
  kube = await startFakeKubeApi();
  work = tempDir('poolsync-daemon-inventory-cm-');
  await mkdir(work, { recursive: true });
  process.env.POOLSYNC_UNION_API_KEY = apiKey(s.host);
});
afterAll(async () => {
  if (saved === undefined) delete process.env.POOLSYNC_UNION_API_KEY;
  else process.env.POOLSYNC_UNION_API_KEY = saved;
  await s.close();
  await kube.close();
  await rm(dirname(kube.kubeconfig), { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

/** A replica with a state folder of its own; resolves with its status once its first run ended. */
async function replica(name: string): Promise<DaemonStatus> {
  const state = join(work, name);
  await mkdir(state, { recursive: true });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kube.kubeconfig);
  const { daemon, config } = await startOwnTestDaemon({
    state,
    flags: {
      watch: join(work, 'repo'),
      'control-plane': s.url('connect'),
      lock: 'k8s:poolsync/apply-lock',
    },
    logLevel: 'warn',
    deps: { kubeConfig },
  });
  try {
    expect(config.inventory).toEqual({ namespace: 'poolsync', name: 'poolsync-inventory' });
    return await until(`${name}: a run to finish`, async () => {
      const st = (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
      return st.lastRun ? st : null;
    });
  } finally {
    await daemon.stop();
  }
}

const queue = { pool: 'default', clusters: ['c1'] };
const inventory = () =>
  Object.values(kube.configMaps.get('poolsync/poolsync-inventory')?.data ?? {}).map((t) =>
    recordedAddresses(JSON.parse(t) as InventoryRecord),
  );

describe(
  'daemon replicas share the inventory ConfigMap beside their Lease (Union)',
  { timeout: 120_000 },
  () => {
    it('replica b plans the delete of what replica a applied; a hand-made queue stays unmanaged', async () => {
      await s.embedded.registerCluster({ name: 'c1' });
      await writeRepo(join(work, 'repo'), {
        clusters: { c1: 'default' },
        queues: { web: queue, batch: queue },
      });
      const a = await replica('a');
      expect(a.lastRun, JSON.stringify(a.lastRun)).toMatchObject({ result: 'applied' });
      expect(inventory()).toHaveLength(1);
      expect(inventory()[0]).toEqual(expect.arrayContaining(['Queue/batch', 'Queue/web']));

      await s.embedded.createQueue({
        name: 'hand-q',
        pool: 'default',
        clusters: ['c1'],
        run_concurrency: 5,
        action_concurrency: 50,
      });
      await writeRepo(join(work, 'repo'), { clusters: { c1: 'default' }, queues: { web: queue } });
      const b = await replica('b');
      expect(b.summary, JSON.stringify(b)).toMatchObject({ delete: 1, unmanaged: 1 });
      // Union deletes a queue by API (drain, wait, DeleteQueue): batch is soft-deleted.
      await expect(s.embedded.getQueue('batch')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect((await s.embedded.listDeletedQueues()).map((q) => q.name)).toEqual(['batch']);
      expect((await s.embedded.getQueue('hand-q')).state).not.toBe('drained');
    });
  },
);
