/**
 * The daemon prunes by inventory (docs/plan.md, Prune by inventory): a daemon records what it
 * applied in the inventory its control plane keeps (here poolsync's REST API, served from an
 * embedded state), so another replica, or the same daemon restarted with a new state folder,
 * deletes what the repository dropped — the last Queue document, a cluster, with their drain
 * and wait — and leaves hand-made objects alone. In process: the daemon's real HTTP server on
 * 127.0.0.1:0, a folder on disk (--watch), the control plane server on 127.0.0.1:0.
 */
import { realpathSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import {
  startControlPlaneServer,
  type ControlPlaneServer,
} from '../../src/controlplane/embedded/server.js';
import type { RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import { recordedAddresses } from '../../src/model/inventory.js';
import { poolContract } from '../support/builders.js';
import { runCli } from '../support/cli.js';
import { until } from '../support/until.js';
import { startOwnTestDaemon } from './harness.js';
import { tempDir } from './helpers.js';

const POOL = `apiVersion: poolsync/v1
kind: ClusterPool
metadata: {name: prod}
spec:
  object_store_ref: {uri: s3://acme-prod/metadata}
  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}
`;
const cluster = (name: string) =>
  `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: {pool: prod}\n`;
const CONFIG = 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n';
const V1 = {
  'poolsync.yaml': CONFIG,
  'pools.yaml': POOL,
  'clusters.yaml': [cluster('c1'), cluster('c2')].join('---\n'),
  'queues.yaml':
    'apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: q}\nspec: {pool: prod, clusters: [c1, c2], run_concurrency: 10, action_concurrency: 100}\n',
};
const V2 = { 'poolsync.yaml': CONFIG, 'pools.yaml': POOL, 'clusters.yaml': cluster('c1') };

let work: string;
let cp: EmbeddedControlPlane;
let server: ControlPlaneServer;
beforeAll(async () => {
  work = tempDir('poolsync-daemon-inventory-');
  cp = await EmbeddedControlPlane.open({
    path: join(work, 'cp.json'),
    capabilities: { ...BASELINE_CAPABILITIES, drain: true, queue_delete: true },
  });
  server = await startControlPlaneServer({ controlPlane: cp });
});
afterAll(async () => {
  await server.close();
  await cp.close();
  await rm(work, { recursive: true, force: true });
});

async function writeFolder(files: Record<string, string>, name = 'config'): Promise<string> {
  const dir = join(work, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) await writeFile(join(dir, path), content);
  return dir;
}

/** A daemon (a replica) with a state folder of its own; resolves once its first run finished. */
async function replica(name: string): Promise<{ daemon: RunningDaemon; status: DaemonStatus }> {
  const { daemon } = await startOwnTestDaemon({
    state: join(work, name),
    flags: { watch: join(work, 'config'), 'control-plane': server.url.replace(/\/$/, '') },
    logLevel: 'warn',
  });
  const status = await until(`${name}: a run to finish`, async () => {
    const st = (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
    return st.lastRun ? st : null;
  });
  return { daemon, status };
}

describe('the daemon prunes by the inventory its control plane keeps', { timeout: 120_000 }, () => {
  it('a second replica (or a restart with a new state folder) deletes what the first applied and the repository dropped', async () => {
    await writeFolder(V1);
    const a = await replica('replica-a');
    try {
      expect(a.status.lastRun).toMatchObject({ result: 'applied' });
    } finally {
      await a.daemon.stop();
    }
    expect(recordedAddresses((await cp.inventory.readInventory())!)).toEqual([
      'Cluster/c1',
      'Cluster/c2',
      'ClusterPool/prod',
      'Queue/q',
    ]);
    // Made by hand while no daemon ran: kinds the repository declares, never applied by poolsync.
    await cp.registerCluster({ name: 'hand-1', pool: 'prod' });
    await cp.createQueue({
      name: 'hand-q',
      pool: 'prod',
      clusters: ['c1'],
      run_concurrency: 5,
      action_concurrency: 50,
    });

    await writeFolder(V2);
    const b = await replica('replica-b');
    try {
      expect(b.status.lastRun, JSON.stringify(b.status.lastRun)).toMatchObject({
        result: 'applied',
      });
    } finally {
      await b.daemon.stop();
    }
    const queues = (await cp.listQueues()).map((q) => q.name);
    expect(queues).not.toContain('q');
    expect(queues).toContain('hand-q');
    const clusters = (await cp.listClusters()).map((c) => c.name).sort();
    expect(clusters).toEqual(['c1', 'hand-1']);
    expect(recordedAddresses((await cp.inventory.readInventory())!)).toEqual([
      'Cluster/c1',
      'ClusterPool/prod',
    ]);
  });
});

describe('the repository that applied each managed object', { timeout: 120_000 }, () => {
  it("/status `managed` and the dashboard say which are this daemon's repository's, which another's", async () => {
    // Another repository, applied from the command line: a pool of its own on the same server.
    const other = await writeFolder(
      { 'poolsync.yaml': CONFIG, 'pools.yaml': POOL.replace(/prod/g, 'labels') },
      'other',
    );
    const url = server.url.replace(/\/$/, '');
    const applied = await runCli([
      'apply',
      other,
      '--auto-approve',
      '--control-plane',
      url,
      '--state-dir',
      join(work, 'cli-state'),
    ]);
    expect(applied.code, applied.stderr).toBe(0);
    const config = await writeFolder(V2);
    const { daemon } = await replica('replica-names');
    try {
      const { managed } = (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
      const [own, theirs] = [realpathSync(config), realpathSync(other)];
      expect(managed?.repository).toBe(own);
      expect(managed?.objects).toContainEqual(
        expect.objectContaining({ address: 'ClusterPool/labels', repository: theirs }),
      );
      expect(managed?.objects).toContainEqual(
        expect.objectContaining({ address: 'Cluster/c1', repository: own }),
      );
      expect(managed?.repositories).toContainEqual({ repository: theirs, count: 1 });
      const html = await (await fetch(`${daemon.url}/`)).text();
      expect(html).toMatch(
        new RegExp(
          `: \\d+ applied by this repository \\(<code>${own}</code>\\), 1 by <code>${theirs}</code>`,
        ),
      );
      const row = (address: string) => {
        const at = html.slice(html.indexOf(`id="object-${address}"`));
        return at.slice(0, at.indexOf('</summary>'));
      };
      expect(row('ClusterPool/labels')).toContain(`applied by repository <code>${theirs}</code>`);
      expect(row('Cluster/c1')).not.toContain('applied by');
    } finally {
      await daemon.stop();
    }
  });
});

describe('a commit whose plan only adopts', { timeout: 120_000 }, () => {
  it('its run says what it recorded, as the CLI says it, in /status and `poolsync status`', async () => {
    // Made on the control plane, never recorded: the repository declares them.
    await cp.createPool(
      'adopted',
      poolContract('s3://acme-adopted/metadata', {
        secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
      }),
    );
    await cp.registerCluster({ name: 'a1', pool: 'adopted' });
    const pool = POOL.replace(/prod/g, 'adopted');
    // A repository of its own: what the other tests here applied is not its to prune.
    await writeFolder(
      {
        'poolsync.yaml': `${CONFIG}repository: example.com/adopters\n`,
        'pools.yaml': pool,
        'clusters.yaml': cluster('a1').replace('prod', 'adopted'),
      },
      'config',
    );
    const { daemon, status } = await replica('replica-adopts');
    try {
      const said =
        "in sync: nothing was sent to the control plane, but the apply recorded 2 objects as this repository's";
      expect(status.lastRun).toMatchObject({ result: 'in_sync', message: said });
      expect(recordedAddresses((await cp.inventory.readInventory())!)).toEqual(
        expect.arrayContaining(['Cluster/a1', 'ClusterPool/adopted']),
      );
      const cli = await runCli(['status', '--daemon', daemon.url]);
      expect(cli.stdout).toContain(`: ${said}\n`);
    } finally {
      await daemon.stop();
    }
  });
});
