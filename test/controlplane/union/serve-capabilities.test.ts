/**
 * `control-plane serve --oauth-client-file F` is a Union: poolsync's union backend assumes
 * Union's capabilities (Union has no capability API), so the plans it makes through that port
 * must apply there. A narrower `--capabilities` is allowed (the stand-in's tests use one) and
 * warned about at start.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, servedByCli } from '../../support/cli.js';
import { tempDir, writeRepo, type RepoSpec } from '../../support/repo.js';
import { unexpectedStderr } from './helpers.js';

const WEB = { pool: 'default', clusters: ['c1'] };

/** serve on a new state with `flags`, and a repository of c1 with queues web and batch. */
async function unionServe(flags: string[]) {
  const root = await tempDir('poolsync-serve-caps-');
  const client = join(root, 'client.yaml');
  await writeFile(client, 'client_id: ci\nclient_secret: caps-secret\norg: acme\n');
  const { url, serve } = await servedByCli([
    '--state',
    join(root, 'cp.json'),
    '--oauth-client-file',
    client,
    ...flags,
  ]);
  const host = new URL(url).host;
  const env = {
    POOLSYNC_UNION_API_KEY: Buffer.from(`${host}:ci:caps-secret:acme`).toString('base64'),
  };
  const cp = ['--control-plane', `union+${url}`, '--state-dir', join(root, 'state')];
  const repo = join(root, 'repo');
  const write = (spec: RepoSpec) => writeRepo(repo, { clusters: { c1: 'default' }, ...spec });
  await write({ queues: { web: WEB, batch: WEB } });
  const cli = (args: string[]) => runCli(args, env, root);
  const first = await cli(['apply', repo, ...cp, '--auto-approve']);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  // batch leaves the repository: a plan through Union's API drains, waits for and deletes it.
  await write({ queues: { web: WEB } });
  return { serve, repo, cp, cli, root };
}

describe('control-plane serve serving Union API: capabilities', () => {
  it("without --capabilities it has Union's: the plan's drain, wait and delete apply; check says every kind's calls", async () => {
    const { serve, repo, cp, cli, root } = await unionServe([]);
    const saved = join(root, 'q.json');
    const plan = await cli(['plan', repo, ...cp, '--out', saved]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/drain_queue Queue\/batch[\s\S]*delete_queue Queue\/batch/);
    const applied = await cli(['apply', saved, ...cp]);
    expect([applied.code, unexpectedStderr(applied.stderr)], applied.stdout).toEqual([0, '']);
    expect(applied.stdout).toContain('Apply complete: 0 created, 0 updated, 0 replaced, 1 deleted');

    // check's per-kind lines say what its capabilities line says, each call with its capability.
    const checked = await cli(['check', repo, ...cp.slice(0, 2)]);
    expect(checked.stdout).toContain(
      '✓ ClusterPool: list (1 now); by API: create, delete, update (pool_update), undelete (soft_delete), delete default (default_delete)\n',
    );
    expect(checked.stdout).toContain(
      '✓ Cluster: list (1 now); by API: register, enable/disable, delete, move (cluster_move), undelete (soft_delete)\n',
    );
    expect(checked.stdout).toMatch(
      /✓ Queue: list \(\d+ now\); by API: create, update, drain, delete \(queue_delete\), move \(queue_move\), undelete \(soft_delete\), delete default \(default_delete\)\n/,
    );
    expect(checked.stdout).toContain(
      '✓ capabilities: drain, queue_delete, pool_update, cluster_move, queue_move, soft_delete, default_delete, unpin_first\n',
    );
    expect(serve.stderr()).not.toContain('"level":40');
  }, 180_000);

  it('with a narrower --capabilities it warns once at start; the refused drain names the queue once', async () => {
    const { serve, repo, cp, cli, root } = await unionServe(['--capabilities', 'queue_delete']);
    const applied = await cli(['apply', repo, ...cp, '--auto-approve']);
    expect(applied.code).toBe(1);
    expect(applied.stdout).toContain(
      'FAILED_PRECONDITION: Queue/batch: this control plane does not support drain (capability off, C9) (FAILED_PRECONDITION from cloudidl.queue.QueueService/UpdateQueueState)',
    );
    expect(applied.stdout).not.toContain('Queue/batch: Queue/batch');
    serve.child.kill('SIGTERM');
    const { stderr } = await serve.done;
    const warnings = stderr.split('\n').filter((l) => l.includes('"level":40'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!).msg).toBe(
      "Union's API is served without drain, cluster_move, pool_update, queue_move, soft_delete, default_delete, unpin_first: " +
        "a Union client (poolsync's union backend) assumes Union's capabilities, so its plans promise steps this server refuses; " +
        `to serve Union's set, stop the server and run \`poolsync control-plane capabilities --state ${join(root, 'cp.json')} --set drain,queue_delete,cluster_move,pool_update,queue_move,soft_delete,default_delete,unpin_first\``,
    );
  }, 180_000);
});
