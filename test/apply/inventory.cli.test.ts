/**
 * Prune by inventory, as users run it (docs/plan.md, Prune by inventory): `poolsync apply`
 * records what it applied; removing the last Queue document and a cluster then plans their
 * deletes (drain, wait, delete) while hand-made objects of the same kinds stay `unmanaged`;
 * `import` adopts one into the inventory, `export` none; `manage:` claims a whole kind. Over
 * HTTP the server keeps the inventory beside its state, so another client (CI, a second
 * replica) and a restarted server read the same one. The CLI in child processes.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import { parseCapabilities } from '../../src/model/capabilities.js';
import type { Plan } from '../../src/model/plan.js';
import { runCli } from '../support/cli.js';
import { acquireApplyLock, lockPathFor } from '../../src/apply/lock.js';
import { recordedAddresses, type InventoryRecord } from '../../src/model/inventory.js';

const POOL = `apiVersion: poolsync/v1
kind: ClusterPool
metadata: {name: prod}
spec:
  object_store_ref: {uri: s3://acme-prod/metadata}
  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}
`;
const cluster = (name: string) =>
  `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: {pool: prod}\n`;
const QUEUE =
  'apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: q}\nspec: {pool: prod, clusters: [c1, c2], run_concurrency: 10, action_concurrency: 100}\n';

const V1 = {
  'pools/prod.yaml': POOL,
  'clusters/c1.yaml': cluster('c1'),
  'clusters/c2.yaml': cluster('c2'),
  'queues/q.yaml': QUEUE,
};
/** The last Queue document and cluster c2 removed. */
const V2 = { 'pools/prod.yaml': POOL, 'clusters/c1.yaml': cluster('c1') };
const CAPS = 'drain,queue_delete';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolsync-inventory-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function writeRepo(dir: string, files: Record<string, string>, config = 'prune: true') {
  await rm(dir, { recursive: true, force: true });
  for (const [path, content] of Object.entries({
    ...files,
    'poolsync.yaml': `apiVersion: poolsync/v1\nkind: RepoConfig\n${config}\n`,
  })) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

async function planJson(repo: string, url: string): Promise<Plan> {
  const r = await runCli(['plan', repo, '--control-plane', url, '--output', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Plan;
}

const actions = (plan: Plan) =>
  Object.fromEntries(
    plan.changes.filter((c) => c.action !== 'noop').map((c) => [c.address, c.action]),
  );

/** Made by hand beside what poolsync applied: a cluster and a queue of kinds the repository declares. */
async function handMade(cp: EmbeddedControlPlane): Promise<void> {
  await cp.registerCluster({ name: 'hand-1', pool: 'prod' });
  await cp.createQueue({
    name: 'hand-q',
    pool: 'prod',
    clusters: ['c1'],
    run_concurrency: 5,
    action_concurrency: 50,
  });
}

describe('prune by inventory (file: control plane)', { timeout: 240_000 }, () => {
  it('deletes what apply recorded once the repository drops it; leaves hand-made objects; import adopts; manage: claims a kind', async () => {
    const repo = join(root, 'file-repo');
    const state = join(root, 'file-cp.json');
    const url = `file:${state}?capabilities=${CAPS}`;
    await writeRepo(repo, V1);
    const first = await runCli(['apply', repo, '--control-plane', url, '--auto-approve']);
    expect(first.code, first.stderr).toBe(0);
    const recorded = JSON.parse(
      await readFile(`${state}.inventory.json`, 'utf8'),
    ) as InventoryRecord;
    expect(recordedAddresses(recorded)).toEqual([
      'Cluster/c1',
      'Cluster/c2',
      'ClusterPool/prod',
      'Queue/q',
    ]);

    const cp = await EmbeddedControlPlane.open({ path: state });
    await handMade(cp);
    await cp.close();

    await writeRepo(repo, V2);
    const plan = await planJson(repo, url);
    expect(plan.prune_scope).toEqual({ kinds: [], source: 'inventory', inventory: true });
    expect(actions(plan)).toMatchObject({
      'Queue/q': 'delete',
      'Cluster/c2': 'delete',
      'Cluster/hand-1': 'unmanaged',
      'Queue/hand-q': 'unmanaged',
    });
    const ops = plan.steps.map((s) => `${s.op} ${s.target}`);
    for (const op of ['drain_queue Queue/q', 'wait_drained Queue/q', 'delete_queue Queue/q'])
      expect(ops).toContain(op);
    expect(ops).toContain('delete_cluster Cluster/c2');
    expect(ops.indexOf('delete_queue Queue/q')).toBeGreaterThan(ops.indexOf('drain_queue Queue/q'));

    const second = await runCli(['apply', repo, '--control-plane', url, '--auto-approve']);
    expect(second.code, second.stderr).toBe(0);
    const after = await planJson(repo, url);
    expect(after.steps).toEqual([]);
    expect(actions(after)).toEqual({ 'Cluster/hand-1': 'unmanaged', 'Queue/hand-q': 'unmanaged' });
    expect(
      recordedAddresses(
        JSON.parse(await readFile(`${state}.inventory.json`, 'utf8')) as InventoryRecord,
      ),
    ).toEqual(['Cluster/c1', 'ClusterPool/prod']);

    // import adopts hand-1: once its manifest leaves the repository, prune deletes it.
    const imported = await runCli([
      'import',
      'Cluster/hand-1',
      '--dir',
      repo,
      '--control-plane',
      url,
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('Recorded 1 adopted object in the inventory');
    await rm(join(repo, 'clusters', 'hand-1.yaml'));
    expect(actions(await planJson(repo, url))['Cluster/hand-1']).toBe('delete');

    // manage: claims the whole Queue kind: the hand-made queue is pruned too.
    await writeRepo(repo, V2, 'prune: true\nmanage: [ClusterPool, Cluster, Queue]');
    const claimed = await planJson(repo, url);
    expect(claimed.prune_scope).toEqual({
      kinds: ['ClusterPool', 'Cluster', 'Queue'],
      source: 'manage',
      inventory: true,
    });
    expect(actions(claimed)['Queue/hand-q']).toBe('delete');
  });
});

describe('export records nothing (file: control plane)', { timeout: 240_000 }, () => {
  it('a hand-made or forgotten object stays out of the inventory, so exporting to a scratch folder prunes nothing', async () => {
    const state = join(root, 'export-cp.json');
    const url = `file:${state}?capabilities=${CAPS}`;
    const repo = join(root, 'export-repo');
    await writeRepo(repo, V1);
    const applied = await runCli(['apply', repo, '--control-plane', url, '--auto-approve']);
    expect(applied.code, applied.stderr).toBe(0);
    const cp = await EmbeddedControlPlane.open({ path: state });
    await handMade(cp);
    await cp.close();
    const forgot = await runCli(['state', 'forget', 'Queue/q', repo, '--control-plane', url]);
    expect(forgot.code, forgot.stderr).toBe(0);
    await rm(join(repo, 'queues', 'q.yaml'));
    const inventory = await readFile(`${state}.inventory.json`, 'utf8');

    const exported = await runCli([
      'export',
      '--dir',
      join(root, 'scratch'),
      '--control-plane',
      url,
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).not.toContain('Recorded');
    expect(await readFile(`${state}.inventory.json`, 'utf8')).toBe(inventory);
    expect(actions(await planJson(repo, url))).toEqual({
      'Cluster/hand-1': 'unmanaged',
      'Queue/hand-q': 'unmanaged',
      'Queue/q': 'unmanaged',
    });
  });
});

describe('import records under the apply lock (file: control plane)', { timeout: 240_000 }, () => {
  it('while an apply holds the lock, the manifest is written and the record is left to the next apply, said in a warning', async () => {
    const state = join(root, 'locked-cp.json');
    const url = `file:${state}`;
    const repo = join(root, 'locked-repo');
    await writeRepo(repo, { 'pools/prod.yaml': POOL });
    expect((await runCli(['apply', repo, '--control-plane', url, '--auto-approve'])).code).toBe(0);
    const cp = await EmbeddedControlPlane.open({ path: state });
    await cp.registerCluster({ name: 'hand-1', pool: 'prod' });
    await cp.close();
    const inventory = await readFile(`${state}.inventory.json`, 'utf8');
    const lock = await acquireApplyLock(lockPathFor(url));
    try {
      const r = await runCli(['import', 'Cluster/hand-1', '--dir', repo, '--control-plane', url]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        `Warning: could not record Cluster/hand-1 in the inventory (${state}.inventory.json): another apply is running against this control plane`,
      );
    } finally {
      await lock.release();
    }
    expect(await readFile(`${state}.inventory.json`, 'utf8')).toBe(inventory);
    expect(existsSync(join(repo, 'clusters', 'hand-1.yaml'))).toBe(true);
  });
});

describe(
  'prune by inventory over HTTP: every client reads the one the server keeps',
  { timeout: 240_000 },
  () => {
    it('a CI plan and a second replica see what another apply recorded, also after the server restarts', async () => {
      const state = join(root, 'served-cp.json');
      const caps = parseCapabilities(CAPS);
      if (!caps.ok) throw new Error(caps.error);
      const serve = async () => {
        const cp = await EmbeddedControlPlane.open({
          path: state,
          capabilities: caps.capabilities,
        });
        const server = await startControlPlaneServer({ controlPlane: cp });
        return { cp, server, url: server.url.replace(/\/$/, '') };
      };
      let s = await serve();
      const repo = join(root, 'http-repo');
      try {
        await writeRepo(repo, V1);
        // One machine applies (its own state folder)...
        const applied = await runCli([
          'apply',
          repo,
          '--control-plane',
          s.url,
          '--auto-approve',
          '--state-dir',
          join(root, 'machine-a'),
        ]);
        expect(applied.code, applied.stderr).toBe(0);
        const inv = (await (await fetch(`${s.url}/v1/inventory`)).json()) as {
          inventory: InventoryRecord | null;
        };
        expect(recordedAddresses(inv.inventory!)).toEqual([
          'Cluster/c1',
          'Cluster/c2',
          'ClusterPool/prod',
          'Queue/q',
        ]);
        await handMade(s.cp);
        // ...the server restarts...
        await s.server.close();
        await s.cp.close();
        s = await serve();
        // ...and another (CI, a second replica, with no state folder of its own) plans with it.
        await writeRepo(repo, V2);
        const r = await runCli([
          'plan',
          repo,
          '--control-plane',
          s.url,
          '--output',
          'json',
          '--state-dir',
          join(root, 'machine-b'),
        ]);
        expect(r.code, r.stderr).toBe(0);
        const plan = JSON.parse(r.stdout) as Plan;
        expect(plan.prune_scope?.inventory).toBe(true);
        expect(actions(plan)).toMatchObject({
          'Queue/q': 'delete',
          'Cluster/c2': 'delete',
          'Cluster/hand-1': 'unmanaged',
          'Queue/hand-q': 'unmanaged',
        });
        expect(existsSync(join(root, 'machine-b', 'inventory'))).toBe(false);
        // Where it is kept, said once (not "the inventory (the control plane's inventory (…))").
        const listed = await runCli(['state', 'list', repo, '--control-plane', s.url]);
        expect(listed.stdout).toContain(`Inventory: ${s.url}/v1/inventory (updated `);
      } finally {
        await s.server.close();
        await s.cp.close();
      }
    });
  },
);
