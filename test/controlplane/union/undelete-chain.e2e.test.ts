/**
 * Issue 58 item 2 against the Union stand-in: a deleted pool, cluster and queue declared again
 * elsewhere (the pool with a new contract, the cluster and queue in another pool) plan undelete
 * chains (undelete_pool → update_pool, undelete_cluster → move_cluster → update_cluster,
 * undelete_queue → move_queue → activate_queue); examples/github-actions' flow, `plan --out
 * plan.json` then `apply plan.json`, applies that saved plan (main refused it: "does not realise
 * the change the plan shows for it (create)"), and the next plan is empty. The state is read
 * from the store behind the stand-in, not through poolsync's Union backend.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/model/plan.js';
import { runCli } from '../../support/cli.js';
import { tempDir } from '../../support/repo.js';
import { apiKey, startUnionServer, type UnionServer, unexpectedStderr } from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const pool = (name: string, bucket = name) =>
  `apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata: {name: ${name}}\nspec:\n  object_store_ref: {uri: s3://acme-${bucket}/metadata}\n  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}\n`;
const cluster = (name: string, pool: string) =>
  `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: {pool: ${pool}}\n`;
const queue = (name: string, pool: string, clusters: string[], run: number) =>
  `apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: ${name}}\nspec: {pool: ${pool}, clusters: ${JSON.stringify(clusters)}, run_concurrency: ${run}, action_concurrency: 100}\n`;

async function writeDocs(dir: string, docs: string[]): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'poolsync.yaml'),
    'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n',
  );
  await writeFile(join(dir, 'objects.yaml'), docs.join('---\n'));
  return dir;
}

describe('undelete chains from a saved plan (union stand-in)', () => {
  it.each([
    [
      'a pool declared again with a new contract',
      [pool('p1', 'p1-v2'), pool('p2'), cluster('c2', 'p2')],
      ['undelete_pool ClusterPool/p1', 'update_pool ClusterPool/p1'],
    ],
    [
      'a cluster declared again in another pool',
      [pool('p1'), pool('p2'), cluster('c1', 'p2'), cluster('c2', 'p2')],
      ['undelete_cluster Cluster/c1', 'move_cluster Cluster/c1', 'update_cluster Cluster/c1'],
    ],
    [
      'a queue declared again in another pool',
      // Its cluster back too: a queue comes back only with the clusters it named (U19).
      [
        pool('p1'),
        pool('p2'),
        cluster('c1', 'p1'),
        cluster('c2', 'p2'),
        queue('q1', 'p2', ['c2'], 9),
      ],
      ['undelete_queue Queue/q1', 'move_queue Queue/q1', 'activate_queue Queue/q1'],
    ],
  ])(
    '%s: plan --out, apply plan.json, then no changes',
    async (_what, again, chain) => {
      s = await startUnionServer();
      const root = await tempDir('poolsync-union-undelete-chain-');
      const repo = join(root, 'repo');
      const env = {
        POOLSYNC_UNION_API_KEY: apiKey(s.host),
        POOLSYNC_CONTROL_PLANE: s.url('connect'),
        POOLSYNC_PLAN_KEY: 'plan-key-of-the-ci-secret-0123456789abcdef',
      };
      const apply = async (docs: string[]) => {
        const r = await runCli(['apply', await writeDocs(repo, docs), '--auto-approve'], env, root);
        expect(unexpectedStderr(r.stderr)).toBe('');
        expect(r.code, r.stdout).toBe(0);
      };
      await apply([
        pool('p1'),
        pool('p2'),
        cluster('c1', 'p1'),
        cluster('c2', 'p2'),
        queue('q1', 'p1', ['c1'], 7),
      ]);
      // Everything of p1 dropped from the repository: deleted (soft), names kept.
      await apply([pool('p2'), cluster('c2', 'p2')]);
      expect((await s.embedded.listPools()).map((p) => p.name)).toEqual(['default', 'p2']);

      await writeDocs(repo, again);
      const file = join(root, 'plan.json');
      const planned = await runCli(['plan', repo, '--out', file], env, root);
      expect(planned.stderr).toBe('');
      expect(planned.code, planned.stdout).toBe(0);
      const shown = await runCli(['show', file, '--output', 'json'], env, root);
      const plan = JSON.parse(shown.stdout) as Plan;
      const ops = plan.steps.map((x) => `${x.op} ${x.target}`);
      expect(ops.filter((o) => chain.includes(o))).toEqual(chain);
      const applied = await runCli(['apply', file], env, root);
      expect(unexpectedStderr(applied.stderr)).toBe('');
      expect(applied.code, applied.stdout).toBe(0);
      const next = await runCli(['plan', repo, '--detailed-exitcode'], env, root);
      expect(next.code, next.stdout).toBe(0);

      const queues = new Map((await s.embedded.listQueues()).map((q) => [q.name, q]));
      if (chain[0]!.startsWith('undelete_pool'))
        expect((await s.embedded.getPool('p1')).contract.object_store_ref.uri).toBe(
          's3://acme-p1-v2/metadata',
        );
      if (chain[0]!.startsWith('undelete_cluster')) {
        expect(await s.embedded.getCluster('c1')).toMatchObject({ pool: 'p2', enabled: true });
        expect(queues.get('c1')).toMatchObject({ pool: 'p2', state: 'active' });
      }
      if (chain[0]!.startsWith('undelete_queue'))
        expect(queues.get('q1')).toMatchObject({
          pool: 'p2',
          clusters: ['c2'],
          run_concurrency: 9,
          state: 'active',
        });
    },
    240_000,
  );
});
