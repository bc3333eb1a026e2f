/**
 * DefaultQueue end to end through the CLI: plan → apply → plan against the embedded control
 * plane (which keeps the settings), and a clear refusal from a backend without them.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { liveOf } from './helpers/state.js';

const DQ = (project: string, domain: string, queue: string) =>
  `apiVersion: poolsync/v1\nkind: DefaultQueue\nmetadata:\n  name: ${project}-${domain}\nspec:\n  project: ${project}\n  domain: ${domain}\n  queue: ${queue}\n`;

async function setup() {
  const root = await tempDir();
  const repo = await writeRepo(join(root, 'repo'), {
    pools: ['gpu'],
    queues: { training: { pool: 'gpu', clusters: ['*'] } },
  });
  await writeFile(
    join(repo, 'default-queues.yaml'),
    [DQ('ml', 'prod', 'training'), DQ('etl', 'dev', 'default')].join('---\n'),
  );
  return { root, repo, state: join(root, 'cp.json') };
}

describe('DefaultQueue through the CLI', () => {
  it('plan → apply → plan converges against the embedded control plane; prune removes a setting', async () => {
    const { repo, state } = await setup();
    const url = `file:${state}`;
    const plan = await runCli(['plan', repo, '--control-plane', url, '--no-color']);
    expect(plan.stderr).toBe('');
    expect(plan.stdout).toContain('+ DefaultQueue/ml/prod');
    expect(plan.stdout).toContain('queue   = "training"');

    const applied = await runCli(['apply', repo, '--control-plane', url, '--auto-approve']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/DefaultQueue\/ml\/prod: Setting complete after/);
    expect((await liveOf(state)).default_queues).toEqual([
      { project: 'etl', domain: 'dev', queue: 'default' },
      { project: 'ml', domain: 'prod', queue: 'training' },
    ]);
    const again = await runCli(['plan', repo, '--control-plane', url, '--detailed-exitcode']);
    expect(again.stdout).toContain('No changes.');
    expect(again.code).toBe(0);

    await writeFile(join(repo, 'default-queues.yaml'), DQ('ml', 'prod', 'default'));
    const pruned = await runCli(['apply', repo, '--control-plane', url, '--auto-approve']);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain('- DefaultQueue/etl/dev');
    expect(pruned.stdout).toContain('~ DefaultQueue/ml/prod');
    expect((await liveOf(state)).default_queues).toEqual([
      { project: 'ml', domain: 'prod', queue: 'default' },
    ]);
  });

  it('a backend without default-queue settings refuses the repository, naming the backend', async () => {
    const { repo } = await setup();
    const { server } = await servedControlPlane({ port: 0 });
    const r = await runCli(['plan', repo, '--control-plane', server.url, '--no-color']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'error BACKEND_KIND DefaultQueue/etl/dev at default-queues.yaml:10:1: the poolsync REST API backend cannot manage DefaultQueue',
    );
    expect(r.stdout).toContain('Plan failed with 1 error');
  });
});
