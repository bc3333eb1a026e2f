/**
 * poolsync as a user runs it against a Union endpoint: the CLI (child process) with
 * `--control-plane union+http://127.0.0.1:PORT[?protocol=grpc]` and the API key in
 * POOLSYNC_UNION_API_KEY, against the embedded control plane serving Union's API over real
 * sockets. plan → apply (with a wait_idle on WatchQueueMetrics) → plan, then export → plan.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../apply/helpers/cli.js';
import { tempDir, writeRepo } from '../../apply/helpers/repo.js';
import { apiKey, CLIENT, startUnionServer, type UnionServer } from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe.each(['connect', 'grpc'] as const)('poolsync against union+http:// (%s)', (protocol) => {
  it('plan → apply → plan, export → plan: no changes, nothing secret in any output', async () => {
    s = await startUnionServer();
    await s.embedded.registerCluster({ name: 'c1' });
    await s.embedded.registerCluster({ name: 'c2' });
    // Work in flight on c2's queue: the apply must wait for it (wait_idle) before the delete.
    await s.embedded.setQueueActivity('c2', {
      runs_in_flight: 2,
      actions_in_flight: 3,
      finish_over_ms: 600,
    });
    const root = await tempDir('poolsync-union-e2e-');
    const repo = await writeRepo(join(root, 'repo'), {
      clusters: { c1: 'default' },
      queues: { web: { pool: 'default', clusters: ['c1'], run_concurrency: 5 } },
    });
    const key = apiKey(s.host);
    const env = { POOLSYNC_UNION_API_KEY: key };
    const url = s.url(protocol);

    const plan = await runCli(['plan', repo, '--control-plane', url], env);
    expect(plan.stderr).toBe('');
    expect(plan.stdout).toContain('Queue/web');
    expect(plan.stdout).toContain('Cluster/c2');

    const started = Date.now();
    const apply = await runCli(['apply', repo, '--control-plane', url, '--auto-approve'], env);
    // Union has no apply lock of its own (issue 16): without --lock k8s:NS/NAME, apply says so.
    expect(apply.stderr).toBe(
      'warning: the union control plane has no apply lock of its own: only applies from this machine are excluded; pass --lock k8s:NAMESPACE/NAME to exclude applies from other machines too\n',
    );
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/Apply complete/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500); // waited for c2's work
    expect((await s.embedded.listClusters()).map((c) => c.name)).toEqual(['c1']);
    const web = await s.embedded.getQueue('web');
    expect(web).toMatchObject({ pool: 'default', clusters: ['c1'], run_concurrency: 5 });

    const again = await runCli(['plan', repo, '--control-plane', url, '--detailed-exitcode'], env);
    expect(again.stdout).toContain('No changes.');
    expect(again.code).toBe(0);

    const out = join(root, 'exported');
    const exp = await runCli(['export', '--control-plane', url, '--dir', out], env);
    expect(exp.code).toBe(0);
    const files = await readdir(out, { recursive: true });
    expect(files).toContain(join('queues', 'web.yaml'));
    expect(await readFile(join(out, 'queues', 'web.yaml'), 'utf8')).toContain('run_concurrency: 5');
    const fromExport = await runCli(['plan', out, '--control-plane', url], env);
    expect(fromExport.stdout).toContain('No changes.');

    for (const r of [plan, apply, again, exp, fromExport]) {
      const all = r.stdout + r.stderr;
      expect(all).not.toContain(key);
      expect(all).not.toContain(CLIENT.client_secret);
      expect(all).not.toMatch(/Bearer /);
    }
  }, 180_000);
});
