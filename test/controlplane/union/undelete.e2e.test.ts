/**
 * Soft-deleted pools and clusters against the Union stand-in, through the CLI as a user runs it
 * (docs/union.md "Soft deletes"): a repository that drops a pool, its cluster and its queue has
 * them drained and deleted by `apply` (the active cluster passes through DELETING, and the apply
 * waits until it is DELETED before the pool's delete); the live state lists them as deleted, an
 * export of that organisation plans to "No changes", and declaring them again plans undeletes
 * (undelete_pool, undelete_cluster, undelete_queue: never a create Union refuses) that `plan --out
 * FILE` saves and `apply FILE` applies, after which the plan is empty again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLiveState } from '../../../src/controlplane/types.js';
import { runCli } from '../../support/cli.js';
import { tempDir, writeRepo, type RepoSpec } from '../../support/repo.js';
import {
  apiKey,
  openUnion,
  startUnionServer,
  type UnionServer,
  unexpectedStderr,
} from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const ORG: RepoSpec = {
  pools: ['p1'],
  clusters: { c1: 'p1' },
  queues: { q1: { pool: 'p1', clusters: ['c1'], run_concurrency: 7 } },
};

describe('soft-deleted pools and clusters (union stand-in)', () => {
  it('deleted by apply (through DELETING), exported to no changes, declared again: undeleted from a saved plan', async () => {
    // An active cluster stays DELETING for a while before it is DELETED: the apply must wait.
    s = await startUnionServer({ deletingMs: 300 });
    const env = { POOLSYNC_UNION_API_KEY: apiKey(s.host) };
    const url = s.url('connect');
    const root = await tempDir('poolsync-union-undelete-');
    const repo = join(root, 'repo');

    await writeRepo(repo, ORG);
    const created = await runCli(
      ['apply', repo, '--control-plane', url, '--auto-approve'],
      env,
      root,
    );
    expect(unexpectedStderr(created.stderr)).toBe('');
    expect(created.code).toBe(0);

    // Dropped from the repository (prune): q1 drained and deleted, c1 deleted (DELETING, then
    // DELETED, its co-named queue with it), then p1, which Union deletes only once it is empty.
    await writeRepo(repo, {});
    const dropped = await runCli(
      ['apply', repo, '--control-plane', url, '--auto-approve'],
      env,
      root,
    );
    expect(unexpectedStderr(dropped.stderr)).toBe('');
    expect(dropped.code).toBe(0);
    // The delete answered DELETING; the apply waited for DELETED before the pool's delete.
    expect(dropped.stdout).toMatch(/Cluster\/c1: Deletion complete[^]*ClusterPool\/p1: Deleting/);

    const cp = await openUnion(s, 'connect');
    try {
      const live = await readLiveState(cp);
      expect(live.pools.map((p) => p.name)).toEqual(['default']);
      expect(live.clusters).toEqual([]);
      expect(live.deleted_pools?.map((p) => p.name)).toEqual(['p1']);
      expect(live.deleted_clusters?.map((c) => [c.name, c.pool, c.deleting])).toEqual([
        ['c1', 'p1', undefined],
      ]);
      expect(live.deleted_queues?.map((q) => q.name)).toEqual(['c1', 'q1']);
    } finally {
      await cp.close();
    }

    // Export never writes a deleted object as live: its folder plans to no changes.
    const out = join(root, 'exported');
    const exp = await runCli(['export', '--control-plane', url, '--dir', out], env, root);
    expect(exp.code).toBe(0);
    // Nothing is left to export: said so, and no empty folder made.
    expect(exp.stdout).toMatch(/^Nothing to export from union .*No manifest was written\.\n$/);
    expect(existsSync(out)).toBe(false);
    // With poolsync.yaml alone (as `init --from-live` writes it) a folder is a config
    // repository that declares nothing.
    await mkdir(out);
    await writeFile(join(out, 'poolsync.yaml'), 'apiVersion: poolsync/v1\nkind: RepoConfig\n');
    const fromExport = await runCli(
      ['plan', out, '--control-plane', url, '--detailed-exitcode'],
      env,
      root,
    );
    expect(fromExport.stdout).toContain('No changes.');
    expect(fromExport.code).toBe(0);
    // Prune never deletes what is deleted: the empty repository plans nothing either.
    const empty = await runCli(
      ['plan', repo, '--control-plane', url, '--detailed-exitcode'],
      env,
      root,
    );
    expect(empty.stdout).toContain('No changes.');

    // Declared again: undeletes, saved and applied from the file.
    await writeRepo(repo, ORG);
    const file = join(root, 'undelete.plan.json');
    const planned = await runCli(['plan', repo, '--control-plane', url, '--out', file], env, root);
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(0);
    const ops = (
      JSON.parse(readFileSync(file, 'utf8')) as { steps: { op: string; target: string }[] }
    ).steps.map((x) => `${x.op} ${x.target}`);
    expect(ops).toEqual(
      expect.arrayContaining([
        'undelete_pool ClusterPool/p1',
        'undelete_cluster Cluster/c1',
        'update_cluster Cluster/c1',
        'undelete_queue Queue/q1',
      ]),
    );
    expect(ops.filter((o) => /^(create_pool|register_cluster|create_queue) /.test(o))).toEqual([]);
    const applied = await runCli(['apply', file, '--control-plane', url], env, root);
    expect(unexpectedStderr(applied.stderr)).toBe('');
    expect(applied.code).toBe(0);

    const again = await runCli(
      ['plan', repo, '--control-plane', url, '--detailed-exitcode'],
      env,
      root,
    );
    expect(again.stdout).toContain('No changes.');
    expect(again.code).toBe(0);
    const back = await openUnion(s, 'connect');
    try {
      const live = await readLiveState(back);
      expect(live.deleted_pools ?? []).toEqual([]);
      expect(live.deleted_clusters ?? []).toEqual([]);
      expect(live.clusters.map((c) => [c.name, c.pool, c.enabled])).toEqual([['c1', 'p1', true]]);
      const byName = new Map(live.queues.map((q) => [q.name, q]));
      expect(byName.get('q1')).toMatchObject({
        state: 'active',
        run_concurrency: 7,
        clusters: ['c1'],
      });
      // The co-named queue came back with its cluster and was activated with it.
      expect(byName.get('c1')).toMatchObject({
        state: 'active',
        cluster_managed: true,
        pool: 'p1',
      });
    } finally {
      await back.close();
    }
  }, 240_000);
});
