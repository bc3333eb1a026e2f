/**
 * Manual steps through the union backend, as a user runs them (the CLI in a child process
 * against `union+http://`, the embedded control plane serving Union's API): pool creation
 * and cluster registration have no public Union API, so `apply` runs what has one, stops
 * with exit 2 and the runbook; `apply --flyte-cli` runs the `flyte` commands (fake-flyte.ts
 * standing in for the official CLI) and then the steps that waited on them, the queue and
 * its DefaultQueue setting included.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../apply/helpers/cli.js';
import { installFakeFlyte } from '../../apply/helpers/install-fake-flyte.js';
import { tempDir, writeRepo } from '../../apply/helpers/repo.js';
import { apiKey, CLIENT, startUnionServer, type UnionServer, unexpectedStderr } from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('manual steps against union+http://', () => {
  it('apply stops at the manual steps with the runbook (exit 2); --flyte-cli runs them and converges', async () => {
    s = await startUnionServer();
    const root = await tempDir('poolsync-union-manual-');
    const repo = await writeRepo(join(root, 'repo'), {
      pools: ['gpu'],
      clusters: { 'gpu-1': 'gpu' },
      queues: { training: { pool: 'gpu', clusters: ['gpu-1'] } },
    });
    await writeFile(
      join(repo, 'default-queue.yaml'),
      'apiVersion: poolsync/v1\nkind: DefaultQueue\nmetadata:\n  name: ml-prod\nspec:\n  project: ml\n  domain: prod\n  queue: training\n',
    );
    const key = apiKey(s.host);
    const url = s.url('connect');
    const env = { POOLSYNC_UNION_API_KEY: key };

    const first = await runCli(['apply', repo, '--control-plane', url, '--auto-approve'], env);
    expect(unexpectedStderr(first.stderr)).toBe('');
    expect(first.code).toBe(2);
    expect(first.stdout).toContain('Manual steps (2):');
    const runbook = first.stdout.slice(first.stdout.indexOf('Runbook:'));
    expect(runbook).toContain('Union has no public API to create a cluster pool');
    expect(runbook).toContain(`cat > gpu-pool.yaml <<'EOF'`);
    const flyte = `flyte --endpoint dns:///${s.host} --org acme --insecure`;
    expect(runbook).toContain(`\n  ${flyte} create cluster-pool gpu --file gpu-pool.yaml\n`);
    expect(runbook).toContain(`\n  ${flyte} create cluster gpu-1 --pool gpu\n`);
    // The pool's command comes first: the cluster goes into it.
    expect(runbook.indexOf('create cluster-pool')).toBeLessThan(
      runbook.indexOf('create cluster gpu-1'),
    );
    expect(first.stdout).toMatch(/DefaultQueue\/ml\/prod: waiting on manual step s\d+/);
    expect(await s.embedded.listDefaultQueues()).toEqual([]);

    const bin = await installFakeFlyte(root);
    const log = join(root, 'flyte.log');
    const second = await runCli(
      ['apply', repo, '--control-plane', url, '--auto-approve', '--flyte-cli', bin],
      { ...env, FAKE_FLYTE_LOG: log, FAKE_FLYTE_API: `http://${s.host}` },
    );
    expect(unexpectedStderr(second.stderr)).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('ClusterPool/gpu: | cluster pool gpu created');
    expect(second.stdout).toContain('Cluster/gpu-1: | cluster gpu-1 registered');
    expect(second.stdout).toMatch(/Apply complete/);
    const argvs = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { command: string[] }).command.slice(0, 3).join(' '));
    expect(argvs).toEqual(['create cluster-pool gpu', 'create cluster gpu-1']);
    expect(await s.embedded.listDefaultQueues()).toEqual([
      { project: 'ml', domain: 'prod', queue: 'training' },
    ]);

    const again = await runCli(['plan', repo, '--control-plane', url, '--detailed-exitcode'], env);
    expect(again.stdout).toContain('No changes.');
    expect(again.code).toBe(0);
    for (const r of [first, second, again]) {
      expect(r.stdout + r.stderr).not.toContain(key);
      expect(r.stdout + r.stderr).not.toContain(CLIENT.client_secret);
    }
  }, 90_000);
});
