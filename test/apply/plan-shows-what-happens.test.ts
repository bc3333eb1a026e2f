/**
 * Issue 58, items 1-3, seen from outside: the CLI as a user runs it (in process: `apply DIR`
 * to seed, then examples/github-actions' flow, `plan --out plan.json` and `apply plan.json`
 * with a plan key, then `plan --detailed-exitcode`), and the control plane's state read through
 * its own API (the REST `/v1/...` endpoints, or the embedded store's own calls), never through
 * the planner. Each `it` is one bullet of the issue's "Why":
 *  - a step touches only what the plan shows: moving or pruning the last cluster of the default
 *    pool leaves `default` active; another team's `*` queue, reported unmanaged, is never
 *    drained; a project's default queue whose delete is blocked is never drained;
 *  - a cluster's disable drains its co-named queue and its enable activates it (U25, U27), and
 *    the plan shows both as `caused_by` the cluster;
 *  - every plan the CLI saves, it applies: a deleted queue declared again in another pool (or
 *    with other settings) plans undelete → move/update → activate, and `apply plan.json` does it;
 *  - the REST backend lists deleted queues (soft_delete), so that plan undeletes instead of a
 *    create refused forever, and with default_delete a registration after
 *    `absent: [Queue/default]` plans no `+ Queue/default` the control plane never makes.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import { parseCapabilities } from '../../src/model/capabilities.js';
import type { Change, Plan } from '../../src/model/plan.js';
import type { LiveCluster, LiveQueue } from '../../src/model/live.js';
import { runCli } from '../support/cli.js';
import { cleanup } from '../support/cleanup.js';
import { tempDir } from '../support/repo.js';

/** Union today: every capability the control plane can have. */
const UNION =
  'drain,queue_delete,cluster_move,pool_update,queue_move,soft_delete,default_delete,unpin_first';
const KEY = 'plan-key-of-the-ci-secret-0123456789abcdef';

/** A control plane as the test sees it: its URL, and reads through its own API. */
interface Backend {
  url: string;
  queue(name: string): Promise<LiveQueue | null>;
  cluster(name: string): Promise<LiveCluster | null>;
  deletedQueues(): Promise<string[]>;
  /** Another team's write, through the control plane's own API. */
  createQueue(name: string, pool: string, clusters: string[]): Promise<void>;
}

/** The embedded control plane (`file:`), read and written through its own calls. */
async function embedded(root: string, caps: string): Promise<Backend> {
  const path = join(root, 'cp.json');
  const open = async <T>(fn: (cp: EmbeddedControlPlane) => Promise<T>, readOnly = true) => {
    const cp = await EmbeddedControlPlane.open({ path, readOnly });
    try {
      return await fn(cp);
    } finally {
      await cp.close();
    }
  };
  const orNull = async <T>(read: Promise<T>) =>
    read.catch((err: { code?: string }) => {
      if (err.code === 'NOT_FOUND') return null;
      throw err;
    });
  // Created with its capabilities (stored with the state), as `control-plane serve` would.
  const capabilities = parseCapabilities(caps);
  if (!capabilities.ok) throw new Error(capabilities.error);
  await (
    await EmbeddedControlPlane.open({ path, capabilities: capabilities.capabilities })
  ).close();
  return {
    url: `file:${path}`,
    queue: (name) => open((cp) => orNull(cp.getQueue(name))),
    cluster: (name) => open((cp) => orNull(cp.getCluster(name))),
    deletedQueues: () => open(async (cp) => (await cp.listDeletedQueues()).map((q) => q.name)),
    createQueue: (name, pool, clusters) =>
      open(async (cp) => {
        await cp.createQueue({ name, pool, clusters, run_concurrency: 1, action_concurrency: 1 });
      }, false),
  };
}

/** `poolsync control-plane serve` in this process, read and written over HTTP. */
async function rest(root: string, caps: string): Promise<Backend> {
  const capabilities = parseCapabilities(caps);
  if (!capabilities.ok) throw new Error(capabilities.error);
  const cp = await EmbeddedControlPlane.open({
    path: join(root, 'served.json'),
    capabilities: capabilities.capabilities,
  });
  const server = await startControlPlaneServer({ controlPlane: cp });
  cleanup.add(async () => {
    await server.close();
    await cp.close();
  });
  const get = async <T>(path: string): Promise<T | null> => {
    const r = await fetch(`${server.url}${path}`);
    if (r.status === 404) return null;
    expect(r.status, path).toBe(200);
    return (await r.json()) as T;
  };
  return {
    url: server.url,
    queue: (name) => get<LiveQueue>(`/v1/queues/${name}`),
    cluster: (name) => get<LiveCluster>(`/v1/clusters/${name}`),
    deletedQueues: async () =>
      (await get<{ items: LiveQueue[] }>('/v1/deleted/queues'))!.items.map((q) => q.name),
    createQueue: async (name, pool, clusters) => {
      const body = { name, pool, clusters, run_concurrency: 1, action_concurrency: 1 };
      const r = await fetch(`${server.url}/v1/queues`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(201);
    },
  };
}

const BACKENDS = { embedded, rest } as const;

// ---------------------------------------------------------------- repositories

const pool = (name: string, bucket = name) =>
  `apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata: {name: ${name}}\nspec:\n  object_store_ref: {uri: s3://acme-${bucket}/metadata}\n  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}\n`;
const cluster = (name: string, pool: string, enabled = true) =>
  `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: {pool: ${pool}, enabled: ${enabled}}\n`;
const queue = (name: string, pool: string, clusters: string[], run = 10) =>
  `apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: ${name}}\nspec: {pool: ${pool}, clusters: ${JSON.stringify(clusters)}, run_concurrency: ${run}, action_concurrency: 100}\n`;

/** poolsync.yaml: prune within what poolsync applied (its inventory), plus `extra` lines. */
const config = (extra = '') => `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n${extra}`;
/** poolsync.yaml with prune off: nothing undeclared is deleted. */
const keep = (extra = '') => `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\n${extra}`;
const defaultQueue = (project: string, domain: string, queue: string) =>
  `apiVersion: poolsync/v1\nkind: DefaultQueue\nmetadata: {name: ${project}-${domain}}\nspec: {project: ${project}, domain: ${domain}, queue: ${queue}}\n`;

async function writeDocs(dir: string, docs: string[], poolsyncYaml = config()): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'poolsync.yaml'), poolsyncYaml);
  if (docs.length > 0) await writeFile(join(dir, 'objects.yaml'), docs.join('---\n'));
  return dir;
}

// ---------------------------------------------------------------- the CLI as a user runs it

/** `apply DIR --auto-approve`: how the live states are seeded (run in the folder of DIR). */
async function applyDir(b: Backend, repo: string): Promise<void> {
  const r = await runCli(
    ['apply', repo, '--control-plane', b.url, '--auto-approve'],
    {},
    dirname(repo),
  );
  expect(r.stderr).toBe('');
  expect(r.code, r.stdout).toBe(0);
}

/**
 * examples/github-actions/poolsync-apply.yml: `plan . --out plan.json` then `apply plan.json`,
 * the control plane and plan key in the environment; then `plan --detailed-exitcode` finds
 * nothing left to do. The plan applied, as the file has it.
 */
async function githubActionsFlow(b: Backend, repo: string, root: string): Promise<Plan> {
  const env = { POOLSYNC_CONTROL_PLANE: b.url, POOLSYNC_PLAN_KEY: KEY };
  const file = join(root, 'plan.json');
  const planned = await runCli(['plan', repo, '--out', file], env, root);
  expect(planned.stderr).toBe('');
  expect(planned.code, planned.stdout).toBe(0);
  const shown = await runCli(['show', file, '--output', 'json'], env, root);
  expect(shown.code, shown.stderr).toBe(0);
  const applied = await runCli(['apply', file], env, root);
  expect(applied.stderr).toBe('');
  expect(applied.code, applied.stdout).toBe(0);
  const again = await runCli(['plan', repo, '--detailed-exitcode'], env, root);
  expect(again.code, again.stdout).toBe(0);
  return JSON.parse(shown.stdout) as Plan;
}

/**
 * The same flow for `--target ADDRESS` (a partial plan): what it keeps is done whole, so the
 * next partial plan of the same target finds nothing left.
 */
async function targetFlow(b: Backend, repo: string, root: string, target: string): Promise<Plan> {
  const env = { POOLSYNC_CONTROL_PLANE: b.url, POOLSYNC_PLAN_KEY: KEY };
  const file = join(root, 'plan.json');
  const planned = await runCli(['plan', repo, '--target', target, '--out', file], env, root);
  expect(planned.code, planned.stdout + planned.stderr).toBe(0);
  const shown = await runCli(['show', file, '--output', 'json'], env, root);
  expect(shown.code, shown.stderr).toBe(0);
  const applied = await runCli(['apply', file], env, root);
  expect(applied.code, applied.stdout + applied.stderr).toBe(0);
  const again = await runCli(['plan', repo, '--target', target, '--detailed-exitcode'], env, root);
  expect(again.code, again.stdout).toBe(0);
  return JSON.parse(shown.stdout) as Plan;
}

const changeOf = (plan: Plan, address: string): Change | undefined =>
  plan.changes.find((c) => c.address === address);
const touched = (plan: Plan) => new Set(plan.steps.map((s) => s.target));

describe.each(Object.keys(BACKENDS) as (keyof typeof BACKENDS)[])('%s backend', (kind) => {
  const start = async (caps = UNION) => {
    const root = await tempDir('poolsync-i58-');
    return { root, repo: join(root, 'repo'), b: await BACKENDS[kind](root, caps) };
  };

  it.each(['moved to another pool', 'pruned'] as const)(
    'the last cluster of the default pool %s: Queue/default is never drained (remote/_cluster.py:328-331, 433)',
    async (how) => {
      const { root, repo, b } = await start();
      await applyDir(b, await writeDocs(repo, [pool('p1'), cluster('c1', 'default')]));
      const v2 = how === 'pruned' ? [pool('p1')] : [pool('p1'), cluster('c1', 'p1')];
      const plan = await githubActionsFlow(b, await writeDocs(repo, v2), root);
      expect(touched(plan).has('Queue/default')).toBe(false);
      expect(changeOf(plan, 'Queue/default')?.action).toBe('noop');
      expect(await b.queue('default')).toMatchObject({ state: 'active', clusters: ['*'] });
      if (how === 'pruned') expect(await b.cluster('c1')).toBeNull();
      else {
        expect(await b.cluster('c1')).toMatchObject({ pool: 'p1' });
        // The co-named queue, drained for the move as Union asks, is active again.
        expect(await b.queue('c1')).toMatchObject({ pool: 'p1', state: 'active' });
      }
    },
  );

  it("another team's `*` queue, reported unmanaged, is never drained when its pool's last cluster goes", async () => {
    const { root, repo, b } = await start();
    await applyDir(b, await writeDocs(repo, [pool('p1'), cluster('c1', 'p1')]));
    await b.createQueue('team-q', 'p1', ['*']);
    const plan = await githubActionsFlow(b, await writeDocs(repo, [pool('p1')]), root);
    expect(changeOf(plan, 'Queue/team-q')?.action).toBe('unmanaged');
    expect(touched(plan).has('Queue/team-q')).toBe(false);
    expect(await b.cluster('c1')).toBeNull();
    expect(await b.queue('team-q')).toMatchObject({ state: 'active', clusters: ['*'] });
  });

  it("a cluster's disable drains its co-named queue, its enable activates it: shown as caused by the cluster (U25, U27)", async () => {
    const { root, repo, b } = await start();
    await applyDir(b, await writeDocs(repo, [pool('p1'), cluster('c1', 'p1')]));

    const off = await githubActionsFlow(
      b,
      await writeDocs(repo, [pool('p1'), cluster('c1', 'p1', false)]),
      root,
    );
    expect(changeOf(off, 'Queue/c1')).toMatchObject({
      action: 'update',
      caused_by: 'Cluster/c1',
      diff: [{ path: 'state', before: 'active', after: 'draining', forces_replacement: false }],
    });
    expect((await b.queue('c1'))?.state).not.toBe('active');

    const on = await githubActionsFlow(
      b,
      await writeDocs(repo, [pool('p1'), cluster('c1', 'p1')]),
      root,
    );
    expect(changeOf(on, 'Queue/c1')).toMatchObject({
      action: 'update',
      caused_by: 'Cluster/c1',
      diff: [{ path: 'state', before: 'drained', after: 'active', forces_replacement: false }],
    });
    expect(touched(on).has('Queue/c1')).toBe(false);
    expect((await b.queue('c1'))?.state).toBe('active');
  });

  it.each([
    ['in another pool', 'p2', ['c2'], 'move_queue'],
    ['with other settings', 'p1', ['c1'], 'update_queue'],
  ] as const)(
    'a deleted queue declared again %s: the saved plan (undelete → %s → activate) applies',
    async (_how, to, clusters, op) => {
      const { root, repo, b } = await start();
      const base = [pool('p1'), pool('p2'), cluster('c1', 'p1'), cluster('c2', 'p2')];
      await applyDir(b, await writeDocs(repo, [...base, queue('q1', 'p1', ['c1'])]));
      await applyDir(b, await writeDocs(repo, base));
      expect(await b.queue('q1')).toBeNull();
      // soft_delete: its name stays reserved, and the control plane lists it as deleted.
      expect(await b.deletedQueues()).toEqual(['q1']);

      const plan = await githubActionsFlow(
        b,
        await writeDocs(repo, [...base, queue('q1', to, [...clusters], 20)]),
        root,
      );
      expect(plan.steps.filter((s) => s.target === 'Queue/q1').map((s) => s.op)).toEqual([
        'undelete_queue',
        op,
        'activate_queue',
      ]);
      expect(changeOf(plan, 'Queue/q1')?.action).toBe('create');
      expect(await b.queue('q1')).toMatchObject({
        pool: to,
        clusters,
        run_concurrency: 20,
        state: 'active',
      });
      expect(await b.deletedQueues()).toEqual([]);
    },
  );

  it('absent: [Queue/default] with default_delete: a later registration in the default pool plans no `+ Queue/default` (nothing creates it)', async () => {
    const { root, repo, b } = await start();
    const absent = config('absent: [Queue/default]\n');
    await applyDir(b, await writeDocs(repo, [pool('p1'), cluster('c1', 'p1')], absent));
    expect(await b.queue('default')).toBeNull();
    expect(await b.deletedQueues()).toEqual(['default']);

    const plan = await githubActionsFlow(
      b,
      await writeDocs(repo, [pool('p1'), cluster('c1', 'p1'), cluster('c9', 'default')], absent),
      root,
    );
    expect(changeOf(plan, 'Queue/default')).toBeUndefined();
    expect(changeOf(plan, 'Cluster/c9')?.action).toBe('create');
    expect(await b.cluster('c9')).toMatchObject({ pool: 'default' });
    expect(await b.queue('default')).toBeNull();
  });
});

// The counterexamples the outside-observer property (issue 58 item 5) found, each as its CLI run.
describe.each(Object.keys(BACKENDS) as (keyof typeof BACKENDS)[])(
  '%s backend: partial and saved plans',
  (kind) => {
    const start = async (caps: string) => {
      const root = await tempDir('poolsync-i58-');
      return { root, repo: join(root, 'repo'), b: await BACKENDS[kind](root, caps) };
    };

    it("--target Queue/c0 of a co-named queue keeps its cause's registration (CX-1)", async () => {
      const { root, repo, b } = await start('none');
      const plan = await targetFlow(
        b,
        await writeDocs(repo, [cluster('c0', 'default', false)], keep()),
        root,
        'Queue/c0',
      );
      expect(changeOf(plan, 'Queue/c0')).toMatchObject({
        action: 'create',
        caused_by: 'Cluster/c0',
      });
      expect(touched(plan).has('Cluster/c0')).toBe(true);
      expect(await b.cluster('c0')).toMatchObject({ pool: 'default', enabled: false });
      expect(await b.queue('c0')).toMatchObject({ clusters: ['c0'] });
    });

    it("a cluster replaced into another pool: its co-named queue's lost selector is in the diff (CX-2, C8)", async () => {
      const { root, repo, b } = await start('none');
      await applyDir(b, await writeDocs(repo, [pool('pa'), cluster('c0', 'pa', false)], keep()));
      const plan = await githubActionsFlow(
        b,
        await writeDocs(repo, [pool('pa'), cluster('c0', 'default', false)], keep()),
        root,
      );
      const after = await b.queue('c0');
      const shown = changeOf(plan, 'Queue/c0')!;
      expect(shown.diff).toContainEqual(
        expect.objectContaining({ path: 'clusters', before: ['c0'], after: after?.clusters }),
      );
      expect(after?.clusters).toEqual([]);
    });

    it('a cluster replaced into another pool, registered disabled: its co-named queue goes with it and comes back drained, as its diff says (U25)', async () => {
      const { root, repo, b } = await start('drain,queue_delete');
      await applyDir(b, await writeDocs(repo, [pool('pa'), cluster('c0', 'pa')], keep()));
      const plan = await githubActionsFlow(
        b,
        await writeDocs(repo, [pool('pa'), cluster('c0', 'default', false)], keep()),
        root,
      );
      expect(changeOf(plan, 'Queue/c0')).toMatchObject({
        action: 'replace',
        caused_by: 'Cluster/c0',
      });
      const state = changeOf(plan, 'Queue/c0')!.diff.find((d) => d.path === 'state');
      const after = await b.queue('c0');
      expect(after).toMatchObject({ pool: 'default', clusters: ['c0'] });
      // Asked to drain with its cluster: draining, drained once idle.
      expect(state).toMatchObject({ before: 'active', after: 'draining' });
      expect(after?.state).not.toBe('active');
    });

    it('--target Queue/q0 keeps the disable of the cluster it registers (CX-3)', async () => {
      const { root, repo, b } = await start('none');
      const docs = [
        cluster('c0', 'default', false),
        queue('q1', 'default', []),
        queue('q0', 'default', ['c0']),
      ];
      const plan = await targetFlow(b, await writeDocs(repo, docs, keep()), root, 'Queue/q0');
      expect(changeOf(plan, 'Cluster/c0')).toMatchObject({ action: 'create' });
      expect(changeOf(plan, 'Queue/q1')).toBeUndefined();
      expect(await b.cluster('c0')).toMatchObject({ enabled: false });
      expect(await b.queue('q0')).toMatchObject({ clusters: ['c0'] });
    });

    it('a queue that routes nowhere, moved to another pool, is left drained, as the plan shows (CX-4; issue 73 items 3, 10)', async () => {
      const { root, repo, b } = await start('drain,queue_move');
      await applyDir(b, await writeDocs(repo, [queue('q0', 'default', [])], keep()));
      const plan = await githubActionsFlow(
        b,
        await writeDocs(repo, [pool('pa'), queue('q0', 'pa', [])], keep()),
        root,
      );
      // A selector that routes nowhere keeps a queue drained (docs/plan.md), so the move's drain
      // is where it ends, cut short or not: re-activated "as it was", a kill between the move and
      // the activation left it drained, which the next plan kept (the outside observer).
      expect(plan.steps.filter((s) => s.target === 'Queue/q0').map((s) => s.op)).toEqual([
        'drain_queue',
        'wait_drained',
        'move_queue',
      ]);
      expect(changeOf(plan, 'Queue/q0')?.diff).toContainEqual(
        expect.objectContaining({ path: 'state', before: 'active', after: 'drained' }),
      );
      expect(await b.queue('q0')).toMatchObject({ pool: 'pa', state: 'drained' });
    });

    it('--target Cluster/c1 enabling a cluster lists the co-named queue it activates (CX-5, U27)', async () => {
      const { root, repo, b } = await start('drain');
      await applyDir(b, await writeDocs(repo, [cluster('c1', 'default', false)], keep()));
      expect((await b.queue('c1'))?.state).not.toBe('active');
      const plan = await targetFlow(
        b,
        await writeDocs(repo, [cluster('c1', 'default'), queue('c1', 'default', ['c1'])], keep()),
        root,
        'Cluster/c1',
      );
      expect(changeOf(plan, 'Queue/c1')).toMatchObject({ caused_by: 'Cluster/c1' });
      expect(changeOf(plan, 'Queue/c1')?.diff).toContainEqual(
        expect.objectContaining({ path: 'state', after: 'active' }),
      );
      expect(await b.queue('c1')).toMatchObject({ state: 'active' });
    });
  },
);

describe('embedded backend: default-queue settings', () => {
  it("a project's default queue whose delete is blocked is never drained when its pool's last cluster goes", async () => {
    const root = await tempDir('poolsync-i58-');
    const repo = join(root, 'repo');
    const b = await embedded(root, UNION);
    await applyDir(
      b,
      await writeDocs(repo, [pool('p1'), cluster('c1', 'p1'), queue('dq', 'p1', ['*'])]),
    );
    // A project's setting, made through the control plane's own API (not poolsync's).
    const cp = await EmbeddedControlPlane.open({ path: b.url.slice('file:'.length) });
    await cp.setDefaultQueue('ml', 'production', 'dq');
    await cp.close();
    // dq is no longer declared, but the setting names it: its delete is blocked.
    const plan = await githubActionsFlow(b, await writeDocs(repo, [pool('p1')]), root);
    expect(changeOf(plan, 'Queue/dq')?.action).toBe('blocked');
    expect(touched(plan).has('Queue/dq')).toBe(false);
    expect(await b.cluster('c1')).toBeNull();
    expect(await b.queue('dq')).toMatchObject({ state: 'active', clusters: ['*'] });
  });

  it('--target DefaultQueue/ml/development keeps the activation of the default queue it undeletes (CX-6)', async () => {
    const root = await tempDir('poolsync-i58-');
    const repo = join(root, 'repo');
    const b = await embedded(root, UNION);
    const absent = keep('absent: [Queue/default]\n');
    await applyDir(b, await writeDocs(repo, [pool('pa')], absent));
    expect(await b.deletedQueues()).toEqual(['default']);
    const docs = [
      pool('pa'),
      queue('default', 'default', ['*'], 0),
      defaultQueue('ml', 'development', 'default'),
    ];
    const plan = await targetFlow(
      b,
      await writeDocs(repo, docs, keep()),
      root,
      'DefaultQueue/ml/development',
    );
    expect(plan.steps.filter((s) => s.target === 'Queue/default').map((s) => s.op)).toContain(
      'activate_queue',
    );
    expect(await b.queue('default')).toMatchObject({ state: 'active' });
  });
});
