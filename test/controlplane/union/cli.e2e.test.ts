/**
 * poolsync as a user runs it against a Union endpoint: the CLI (child process) with
 * `--control-plane union+http://127.0.0.1:PORT[?protocol=grpc]` and the API key in
 * POOLSYNC_UNION_API_KEY, against the embedded control plane serving Union's API over real
 * sockets. apply, then plan → apply (with a wait_idle on WatchQueueMetrics) → plan, then
 * export → plan.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { tempDir, writeRepo } from '../../support/repo.js';
import { until } from '../../support/until.js';
import { apiKey, CLIENT, startUnionServer, type UnionServer, unexpectedStderr } from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe.each(['connect', 'grpc'] as const)('poolsync against union+http:// (%s)', (protocol) => {
  it('plan → apply → plan, export → plan: no changes, nothing secret in any output', async () => {
    s = await startUnionServer();
    await s.embedded.registerCluster({ name: 'c1' });
    const root = await tempDir('poolsync-union-e2e-');
    const key = apiKey(s.host);
    const env = { POOLSYNC_UNION_API_KEY: key };
    const url = s.url(protocol);
    // The inventory of a Union control plane: in this state folder.
    const cp = ['--control-plane', url, '--state-dir', join(root, 'state')];
    // poolsync registers c2 (its inventory records it), so that removing it from the
    // repository deletes it: prune never deletes what poolsync did not apply (issue 61).
    const repo = await writeRepo(join(root, 'repo'), {
      clusters: { c1: 'default', c2: 'default' },
    });
    // check says what a plan does with the kind Union has no calls for (it said "manual steps
    // or render them to files", neither of which it is).
    const checked = await runCli(['check', repo, '--control-plane', url], env);
    expect(checked.stdout).toContain(
      '✓ PoolAssignment: no API on union; replaced by DefaultQueue: each is planned blocked, naming the DefaultQueue to declare instead\n',
    );
    const first = await runCli(['apply', repo, ...cp, '--auto-approve'], env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    // Work in flight on c2's queue until the test ends it: the apply must wait for it
    // (wait_idle) before the delete.
    await s.embedded.setQueueActivity('c2', { runs_in_flight: 2, actions_in_flight: 3 });
    await writeRepo(repo, {
      clusters: { c1: 'default' },
      queues: { web: { pool: 'default', clusters: ['c1'], run_concurrency: 5 } },
    });

    const plan = await runCli(['plan', repo, ...cp], env);
    expect(plan.stderr).toBe('');
    expect(plan.stdout).toContain('Queue/web');
    expect(plan.stdout).toContain('Cluster/c2');

    const applying = runCli(['apply', repo, ...cp, '--auto-approve'], env);
    // The apply waits on c2's queue (wait_idle) and never drains it (a delete waits for nothing,
    // remote/_cluster.py:433, and a drained queue rejects runs): c2 stays while its work runs.
    const server = s;
    await until('the apply creates web', async () =>
      (await server.embedded.listQueues()).some((q) => q.name === 'web'),
    );
    expect((await s.embedded.listClusters()).map((c) => c.name)).toEqual(['c1', 'c2']);
    expect((await s.embedded.getQueue('c2')).state).toBe('active');
    await s.embedded.setQueueActivity('c2', { runs_in_flight: 0, actions_in_flight: 0 });
    const apply = await applying;
    expect(unexpectedStderr(apply.stderr)).toBe('');
    // The cluster delete takes its co-named queue with it (Union today): no manual step is left.
    expect(apply.code).toBe(0);
    expect(apply.stdout).not.toContain('flyte delete queue');
    expect(plan.stdout).toMatch(/Queue\/c2[^\n]*\n[^]*deleted with Cluster\/c2/);
    expect((await s.embedded.listClusters()).map((c) => c.name)).toEqual(['c1']);
    await expect(s.embedded.getQueue('c2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const web = await s.embedded.getQueue('web');
    expect(web).toMatchObject({ pool: 'default', clusters: ['c1'], run_concurrency: 5 });

    const again = await runCli(['plan', repo, ...cp, '--detailed-exitcode'], env);
    expect(again.stdout).toContain('No changes.');
    expect(again.code).toBe(0);

    const out = join(root, 'exported');
    const exp = await runCli(['export', '--control-plane', url, '--dir', out], env, root);
    expect(exp.code).toBe(0);
    const files = await readdir(out, { recursive: true });
    expect(files).toContain(join('queues', 'web.yaml'));
    expect(await readFile(join(out, 'queues', 'web.yaml'), 'utf8')).toContain('run_concurrency: 5');
    const fromExport = await runCli(['plan', out, '--control-plane', url], env, root);
    // Another folder, nothing to send: its apply records what it declares as its own (Adopts).
    expect(fromExport.stdout).toContain(
      'Nothing to send to the control plane, but the apply records 2 objects',
    );

    for (const r of [first, plan, apply, again, exp, fromExport]) {
      const all = r.stdout + r.stderr;
      expect(all).not.toContain(key);
      expect(all).not.toContain(CLIENT.client_secret);
      expect(all).not.toMatch(/Bearer /);
    }
  }, 240_000);
});

describe('poolsync against union+http:// : everything by API, soft deletes, DefaultQueue', () => {
  it('creates pools and clusters, deletes a removed queue (drain, wait, DeleteQueue) and undeletes its name when declared again', async () => {
    s = await startUnionServer();
    await s.embedded.registerCluster({ name: 'c1' });
    const root = await tempDir('poolsync-union-api-');
    const spec = {
      pools: ['gpu'],
      clusters: { c1: 'default', g1: 'gpu' },
      queues: {
        web: { pool: 'default', clusters: ['c1'], run_concurrency: 5 },
        train: { pool: 'gpu', clusters: ['g1'], run_concurrency: 3 },
      },
    };
    const repo = await writeRepo(join(root, 'repo'), spec);
    const dq =
      'apiVersion: poolsync/v1\nkind: DefaultQueue\nmetadata:\n  name: ml-dev\nspec:\n  project: ml\n  domain: development\n  queue: web\n';
    await writeFile(join(repo, 'default-queue.yaml'), dq);
    const env = { POOLSYNC_UNION_API_KEY: apiKey(s.host) };
    const url = s.url('grpc');
    // Every command in the test's folder: apply keeps its records and Union's inventory there.
    const apply = async () => {
      const r = await runCli(['apply', repo, '--control-plane', url, '--auto-approve'], env, root);
      expect(unexpectedStderr(r.stderr)).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/flyte |manual step/);
      return r;
    };
    const noChanges = async () => {
      const r = await runCli(
        ['plan', repo, '--control-plane', url, '--detailed-exitcode'],
        env,
        root,
      );
      expect(r.stdout).toContain('No changes.');
      expect(r.code).toBe(0);
    };

    await apply();
    expect((await s.embedded.listPools()).map((p) => p.name)).toEqual(['default', 'gpu']);
    expect(await s.embedded.getCluster('g1')).toMatchObject({ pool: 'gpu', enabled: true });
    expect(await s.embedded.getQueue('train')).toMatchObject({ pool: 'gpu', run_concurrency: 3 });
    expect(s.api.settings.defaultQueues()).toEqual([
      { project: 'ml', domain: 'development', queue: 'web' },
    ]);
    await noChanges();

    // Removed from the repository: drained, waited for until DRAINED, then deleted (soft).
    await writeRepo(repo, { ...spec, queues: { web: spec.queues.web } });
    await writeFile(join(repo, 'default-queue.yaml'), dq);
    const removed = await runCli(['plan', repo, '--control-plane', url], env, root);
    expect(removed.stdout).toMatch(/drain_queue[^\n]*Queue\/train/);
    expect(removed.stdout).toMatch(/delete_queue[^\n]*Queue\/train/);
    await apply();
    await expect(s.embedded.getQueue('train')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await s.embedded.listDeletedQueues()).map((q) => q.name)).toEqual(['train']);
    await noChanges();

    // Declared again: its name is reserved, so it is undeleted, updated and activated.
    await writeRepo(repo, {
      ...spec,
      queues: { ...spec.queues, train: { ...spec.queues.train, run_concurrency: 4 } },
    });
    await writeFile(join(repo, 'default-queue.yaml'), dq);
    const back = await runCli(['plan', repo, '--control-plane', url], env, root);
    expect(back.stdout).toMatch(/undelete_queue[^\n]*Queue\/train/);
    expect(back.stdout).not.toMatch(/create_queue/);
    await apply();
    expect(await s.embedded.getQueue('train')).toMatchObject({
      run_concurrency: 4,
      state: 'active',
    });
    expect(await s.embedded.listDeletedQueues()).toEqual([]);
    await noChanges();

    const out = join(root, 'exported');
    const exp = await runCli(['export', '--control-plane', url, '--dir', out], env, root);
    expect(exp.code).toBe(0);
    const files = await readdir(join(out, 'default-queues'));
    expect(files).toHaveLength(1);
    expect(await readFile(join(out, 'default-queues', files[0]!), 'utf8')).toContain('queue: web');
    const fromExport = await runCli(
      ['plan', out, '--control-plane', url, '--detailed-exitcode'],
      env,
      root,
    );
    expect(fromExport.stdout).toContain('No changes.');
  }, 240_000);
});
