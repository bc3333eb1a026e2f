/**
 * `poolsync rollback` on the other control planes (issue 76, "Done when"): on Union's API (the
 * stand-in, over gRPC with an API key) and on flyteadmin (the real one when scripts/flyte-go.sh
 * built it, else skipped saying why; and the stand-in), a daemon following real Git applies
 * commit A, then B; `poolsync rollback <A's run>` brings the state read through that plane's own
 * API back to A's; the branch (still at B) is then not applied; a new commit applies normally.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rollback, sync } from '../../src/cli/commands/daemon-client.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { cleanup } from '../support/cleanup.js';
import { memoryIo } from '../support/memory-io.js';
import { apiKey, openUnion, startUnionServer } from '../controlplane/union/helpers.js';
import { flyteadminTargets } from '../flyteadmin/targets.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo } from './helpers.js';

const ADMIN = 'admin-token-rollback-backends-0123456789';
const args = (url: string, run?: number) => ({
  daemon: url,
  output: 'text' as const,
  wait: true,
  ...(run !== undefined ? { run } : {}),
});

/** A, B, rollback to A, a poll and a sync at B, then C: what `read` says after each. */
async function scenario(
  controlPlane: string,
  env: Record<string, string>,
  commits: [Record<string, string>, Record<string, string>, Record<string, string>],
  read: () => Promise<string>,
): Promise<string[]> {
  const repo = new TestRepo();
  cleanup.add(() => repo.cleanup());
  repo.commit(commits[0], 'A');
  const h = await startOwnTestDaemon({
    flags: { repo: repo.bare, 'control-plane': controlPlane, policy: 'all' },
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN, ...env },
    logLevel: 'silent',
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  const runA = h.daemon.status().lastRun!;
  expect(runA.result, runA.message).toBe('applied');
  const seen = [await read()];
  repo.commit(commits[1], 'B');
  await h.daemon.reconcile('webhook');
  expect(h.daemon.status().lastRun!.result).toBe('applied');
  seen.push(await read());
  const io = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
  expect(await rollback(args(h.daemon.url, runA.id), io)).toBe(0);
  seen.push(await read());
  // The branch is still at B: neither a poll nor a sync applies it.
  await h.daemon.reconcile('poll');
  expect(await sync(args(h.daemon.url), memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN }))).toBe(0);
  seen.push(await read());
  repo.commit(commits[2], 'C');
  await h.daemon.reconcile('webhook');
  expect(h.daemon.status()).toMatchObject({ rollback: null, lastRun: { result: 'applied' } });
  seen.push(await read());
  return seen;
}

describe("rollback on Union's API (the stand-in, gRPC)", () => {
  it('A, B, rollback to A: the queue Union lists is A’s again until C lands', async () => {
    const s = await startUnionServer();
    cleanup.add(() => s.close());
    await s.embedded.registerCluster({ name: 'c1' });
    const queue = (rc: number) => ({
      'queues/web.yaml': `apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: web\nspec:\n  pool: default\n  clusters: ["c1"]\n  run_concurrency: ${rc}\n  action_concurrency: 10\n`,
    });
    const base = {
      'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\n',
      'cluster.yaml':
        'apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: c1\nspec:\n  pool: default\n  enabled: true\n',
    };
    const reader = await openUnion(s, 'grpc');
    cleanup.add(() => reader.close());
    // Every queue and cluster as Union's API lists them.
    const read = async () => {
      const live = await readLiveState(reader);
      return JSON.stringify({ queues: live.queues, clusters: live.clusters.map((c) => c.name) });
    };
    const seen = await scenario(
      s.url('grpc'),
      { POOLSYNC_UNION_API_KEY: apiKey(s.host) },
      [{ ...base, ...queue(3) }, queue(8), queue(5)],
      read,
    );
    const rc = (i: number) =>
      (JSON.parse(seen[i]!) as { queues: { name: string; run_concurrency: number }[] }).queues.find(
        (q) => q.name === 'web',
      )?.run_concurrency;
    expect([0, 1, 2, 3, 4].map(rc)).toEqual([3, 8, 3, 3, 5]);
    // After the rollback, and after the poll and sync at B: A's state, whole.
    expect(seen[2]).toBe(seen[0]);
    expect(seen[3]).toBe(seen[0]);
  });
});

const targets = flyteadminTargets();
afterAll(() => targets.close());

describe.each(targets.list)('rollback on flyteadmin ($name)', (target) => {
  it.skipIf(target.missing !== null)(
    `A, B, rollback to A: the labels flyteadmin lists are A’s again until C lands${target.missing ? ` (skipped: ${target.missing})` : ''}`,
    async () => {
      const fa = await target.start();
      cleanup.add(() => fa.close());
      const files: Record<string, string> = {};
      for (const sub of ['clusters', 'labels', 'execution-cluster-labels'])
        for (const f of await readdir(join('examples/flyte-oss', sub)))
          files[`${sub}/${f}`] = await readFile(join('examples/flyte-oss', sub, f), 'utf8');
      files['poolsync.yaml'] = 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\n';
      const project1 = files['execution-cluster-labels/project1.yaml']!;
      const label = (value: string) => ({
        'execution-cluster-labels/project1.yaml': project1.replace(
          'label: label1',
          `label: ${value}`,
        ),
      });
      // Every execution cluster label row flyteadmin lists.
      const read = async () =>
        (await fa.rows('EXECUTION_CLUSTER_LABEL'))
          .map((r) => `${r.project}/${r.domain}/${r.workflow}=${r.value}`)
          .join(' ');
      const seen = await scenario(fa.url, {}, [files, label('label2'), label('training')], read);
      const labelOf = (i: number) => /project1\/development\/=(\S+)/.exec(seen[i]!)?.[1];
      expect([0, 1, 2, 3, 4].map(labelOf)).toEqual([
        'label1',
        'label2',
        'label1',
        'label1',
        'training',
      ]);
      // After the rollback, and after the poll and sync at B: every row as A left it.
      expect(seen[2]).toBe(seen[0]);
      expect(seen[3]).toBe(seen[0]);
    },
    240_000,
  );
});
