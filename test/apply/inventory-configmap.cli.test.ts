/**
 * The inventory shared through a Kubernetes ConfigMap (docs/plan.md, Prune by inventory), as CI
 * runs it against Union: two runners with state folders of their own, each with `--lock
 * k8s:poolsync/apply-lock` (the inventory then lives in ConfigMap poolsync/poolsync-inventory
 * beside that Lease). One applies; the other, which never applied, plans the delete of what the
 * first applied and the repository dropped, leaves a hand-made queue `unmanaged`, and applies
 * its saved plan. A runner keeping the inventory in its own state folder has none: it deletes
 * nothing poolsync did not apply, and says so. The CLI in child processes; the Union stand-in and the fake
 * Kubernetes API server on 127.0.0.1.
 */
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { apiKey, startUnionServer, type UnionServer } from '../controlplane/union/helpers.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { runCli } from '../support/cli.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { recordedAddresses, type InventoryRecord } from '../../src/model/inventory.js';

let s: UnionServer;
let kube: FakeKubeApi;
let root: string;
beforeAll(async () => {
  s = await startUnionServer();
  kube = await startFakeKubeApi();
  root = await tempDir('poolsync-inventory-cm-');
});
afterAll(async () => {
  await s.close();
  await kube.close();
  await rm(dirname(kube.kubeconfig), { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

const queue = { pool: 'default', clusters: ['c1'] };
const actions = (plan: Plan) =>
  Object.fromEntries(
    plan.changes.filter((c) => c.action !== 'noop').map((c) => [c.address, c.action]),
  );

describe('the inventory in a ConfigMap, shared by CI runners (Union)', { timeout: 240_000 }, () => {
  it('one runner applies; another plans the prune from the same inventory and applies it', async () => {
    await s.embedded.registerCluster({ name: 'c1' });
    const env = { POOLSYNC_UNION_API_KEY: apiKey(s.host), KUBECONFIG: kube.kubeconfig };
    const url = s.url('connect');
    const repo = join(root, 'repo');
    const runner = (name: string) => [
      '--control-plane',
      url,
      '--state-dir',
      join(root, name, '.poolsync'),
      '--lock',
      'k8s:poolsync/apply-lock',
    ];
    await writeRepo(repo, { clusters: { c1: 'default' }, queues: { web: queue, batch: queue } });
    const first = await runCli(['apply', repo, '--auto-approve', ...runner('a')], env);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const cm = kube.configMaps.get('poolsync/poolsync-inventory');
    expect(cm, 'the ConfigMap beside the Lease').toBeDefined();
    const entries = Object.values(cm!.data!).map((t) =>
      recordedAddresses(JSON.parse(t) as InventoryRecord),
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]).toEqual(expect.arrayContaining(['Cluster/c1', 'Queue/batch', 'Queue/web']));
    expect(entries[0]).not.toContain('Queue/hand-q');

    // Made by hand after the apply; the repository drops Queue/batch; runner b never applied.
    await s.embedded.createQueue({
      name: 'hand-q',
      pool: 'default',
      clusters: ['c1'],
      run_concurrency: 5,
      action_concurrency: 50,
    });
    await writeRepo(repo, { clusters: { c1: 'default' }, queues: { web: queue } });
    const saved = join(root, 'plan.json');
    const planned = await runCli(
      ['plan', repo, '--output', 'json', '--out', saved, ...runner('b')],
      env,
    );
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as Plan;
    expect(plan.prune_scope).toMatchObject({ source: 'inventory', inventory: true });
    expect(actions(plan)).toMatchObject({ 'Queue/batch': 'delete', 'Queue/hand-q': 'unmanaged' });
    // The saved plan applies in runner b (the inventory is part of the live fingerprint): batch
    // is drained, waited for and deleted by API (Union's DeleteQueue; a soft delete).
    const applied = await runCli(['apply', saved, '--auto-approve', ...runner('b')], env);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    expect(applied.stdout).not.toContain('hand-q');
    expect((await s.embedded.listDeletedQueues()).map((q) => q.name)).toEqual(['batch']);
    const again = await runCli(['apply', repo, '--auto-approve', ...runner('b')], env);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(await s.embedded.getQueue('hand-q')).toMatchObject({ name: 'hand-q' });
    const after = JSON.parse(
      Object.values(kube.configMaps.get('poolsync/poolsync-inventory')!.data!)[0]!,
    ) as InventoryRecord;
    expect(recordedAddresses(after)).not.toContain('Queue/batch');

    // A runner keeping the inventory in its own (empty) state folder has none: it deletes
    // nothing poolsync did not apply (issue 61), the hand-made queue included.
    const local = await runCli(
      ['plan', repo, '--output', 'json', ...runner('c'), '--inventory', 'state-dir'],
      env,
    );
    expect(local.code, local.stderr).toBe(0);
    const fallback = JSON.parse(local.stdout) as Plan;
    expect(fallback.prune_scope).toMatchObject({ inventory: false });
    expect(actions(fallback)['Queue/hand-q']).toBe('unmanaged');
    // `state list` there: nothing recorded on this machine, and where the applies keep theirs.
    const listed = await runCli(
      ['state', 'list', repo, ...runner('c'), '--inventory', 'state-dir'],
      env,
    );
    expect(listed.stdout).toContain(
      'This is the inventory of this machine: applies that passed --lock or --inventory k8s:NAMESPACE/NAME (CI, the daemon) keep theirs in that ConfigMap',
    );

    // The same ConfigMap named outright (env POOLSYNC_INVENTORY), without --lock: no changes.
    const named = await runCli(
      ['plan', repo, '--control-plane', url, '--state-dir', join(root, 'd'), '--detailed-exitcode'],
      { ...env, POOLSYNC_INVENTORY: 'k8s:poolsync/poolsync-inventory' },
    );
    expect(named.stdout + named.stderr).toContain('No changes.');
    expect(named.code).toBe(0);

    const bad = await runCli(
      ['plan', repo, ...runner('e'), '--inventory', 'poolsync-inventory'],
      env,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      '--inventory: "poolsync-inventory" is not a Kubernetes ConfigMap; write k8s:NAMESPACE/NAME',
    );
    // A lock that names no Lease is refused by plan and state as by apply (they took it
    // as none and read the inventory from the state folder), named where it came from.
    const state = ['--control-plane', url, '--state-dir', join(root, 'f')];
    for (const [args, vars, origin] of [
      [['plan', repo, ...state, '--lock', 'apply-lock'], {}, '--lock'],
      [['state', 'list', repo, ...state], { POOLSYNC_LOCK: 'apply-lock' }, 'POOLSYNC_LOCK'],
      [
        ['apply', repo, ...state, '--auto-approve'],
        { POOLSYNC_LOCK: 'apply-lock' },
        'POOLSYNC_LOCK',
      ],
    ] as const) {
      const r = await runCli([...args], { ...env, ...vars });
      expect([r.code, r.stderr]).toEqual([
        1,
        `Error: ${origin}: "apply-lock" is not a Kubernetes Lease; write k8s:NAMESPACE/NAME (for example k8s:poolsync/apply-lock)\n`,
      ]);
    }
    // A Lease with no kubeconfig to reach it: what to set.
    const unreachable = await runCli(
      ['plan', repo, ...state, '--lock', 'k8s:poolsync/apply-lock'],
      { ...env, KUBECONFIG: join(root, 'no-kubeconfig') },
    );
    expect([unreachable.code, unreachable.stderr]).toEqual([
      1,
      expect.stringMatching(
        /^Error: cannot load a Kubernetes configuration .*no-kubeconfig.*; set KUBECONFIG to a kubeconfig file of the cluster, or run in a pod with a service account\n$/,
      ),
    ]);
  });
});
