/**
 * Capability `drain` in apply: a cluster moved in place (cluster_move) is moved once its
 * co-named queue, which moves with it, is DRAINED (remote/_cluster.py:328-331), bounded by
 * --wait-timeout; an apply killed (SIGKILL) during that wait leaves the cluster in place and
 * converges when applied again, the queue active again. No other queue is drained for it: batch,
 * which routes only to c1, is watched and keeps taking work.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { runCli, startCli } from '../support/cli.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { until } from '../support/until.js';

const v1: RepoSpec = {
  prune: true,
  pools: ['gpu', 'cpu'],
  clusters: { c1: 'gpu', c2: 'gpu' },
  queues: { batch: { pool: 'gpu', clusters: ['c1'] } },
};
/** c1 moves to cpu; batch follows it there. */
const v2: RepoSpec = {
  prune: true,
  pools: ['gpu', 'cpu'],
  clusters: { c1: 'cpu', c2: 'gpu' },
  queues: { batch: { pool: 'gpu', clusters: ['c2'] } },
};

async function withState<T>(state: string, fn: (cp: EmbeddedControlPlane) => Promise<T>) {
  const cp = await EmbeddedControlPlane.open({ path: state });
  try {
    return await fn(cp);
  } finally {
    await cp.close();
  }
}

/** Run in `root`: a served control plane's apply keeps its records in the folder it runs in. */
const apply = (root: string, repo: string, url: string, ...extra: string[]) =>
  runCli(['apply', repo, '--control-plane', url, '--auto-approve', ...extra], {}, root);

describe('apply with drain (capabilities drain, cluster_move)', () => {
  it('killed during the drain wait: the cluster stays; applying again finishes the drain, moves, re-activates', async () => {
    const root = await tempDir();
    const repo = join(root, 'repo');
    // Served by the test, which counts the drain-state reads (GET /v1/queues/c1) of the wait.
    let c1Reads = 0;
    const countReads = {
      handle: (req: IncomingMessage, _res: ServerResponse, url: URL) => {
        if (req.method === 'GET' && url.pathname === '/v1/queues/c1') c1Reads++;
        return false;
      },
    };
    const { embedded: cp, url } = await servedControlPlane(
      { mounts: [countReads] },
      {
        capabilities: {
          drain: true,
          cluster_move: true,
          queue_delete: false,
          pool_update: false,
          queue_move: false,
        },
      },
    );
    await writeRepo(repo, v1);
    expect((await apply(root, repo, url)).code).toBe(0);
    // Work in flight on c1's co-named queue, never finishing on its own.
    await cp.setQueueActivity('c1', { runs_in_flight: 3, actions_in_flight: 1 });

    await writeRepo(repo, v2);
    const run = startCli(['apply', repo, '--control-plane', url, '--auto-approve'], {}, root);
    // The first poll found c1 draining (always said); one more poll, then it is killed mid-wait.
    await run.waitForOutput((s) => /still waiting: queue c1 is draining/.test(s));
    const polled = c1Reads;
    await until('another poll of c1', () => {
      if (run.child.exitCode !== null) throw new Error(`the apply ended:\n${run.stdout()}`);
      return c1Reads > polled;
    });
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).not.toContain('Apply complete');

    expect((await cp.getCluster('c1')).pool).toBe('gpu'); // not moved: work was in flight
    expect((await cp.getQueue('c1')).state).toBe('draining');
    // Never drained for c1's sake: it takes work (it was repointed to c2 first).
    expect(await cp.getQueue('batch')).toMatchObject({ state: 'active', clusters: ['c2'] });
    // No new work reaches c1's queue; what was in flight finishes.
    await cp.setQueueActivity('c1', { runs_in_flight: 0, actions_in_flight: 0 });

    const again = await apply(root, repo, url);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Apply complete');
    expect((await cp.getCluster('c1')).pool).toBe('cpu');
    expect(await cp.getQueue('c1')).toMatchObject({ state: 'active', pool: 'cpu' });
    expect(await cp.getQueue('batch')).toMatchObject({ state: 'active', clusters: ['c2'] });
    expect(await cp.getQueue('default')).toMatchObject({ state: 'active' });
    const third = await apply(root, repo, url);
    expect(third.code).toBe(0);
    expect(third.stdout).toMatch(/^No changes/m);
  }, 120_000);

  it('the drain wait is bounded by --wait-timeout: nothing is deleted, and a later apply converges', async () => {
    const root = await tempDir();
    const repo = join(root, 'repo');
    const state = join(root, 'cp.json');
    const url = `file:${state}?capabilities=drain,cluster_move`;
    await writeRepo(repo, v1);
    expect((await apply(root, repo, url)).code).toBe(0);
    await withState(state, (cp) =>
      cp.setQueueActivity('c1', { runs_in_flight: 1, actions_in_flight: 0 }),
    );
    await writeRepo(repo, v2);

    const timedOut = await apply(root, repo, url, '--wait-timeout', '1s');
    expect(timedOut.code).toBe(1);
    expect(`${timedOut.stdout}${timedOut.stderr}`).toMatch(
      /queues still draining after 1(\.0)?s: c1 \(draining\); nothing was deleted or moved/,
    );
    await withState(state, async (cp) => {
      expect((await cp.getCluster('c1')).pool).toBe('gpu');
      await cp.setQueueActivity('c1', { runs_in_flight: 0, actions_in_flight: 0 });
    });
    expect((await apply(root, repo, url)).code).toBe(0);
    await withState(state, async (cp) => {
      expect((await cp.getCluster('c1')).pool).toBe('cpu');
      expect(await cp.getQueue('c1')).toMatchObject({ state: 'active', clusters: ['c1'] });
      expect((await cp.getQueue('batch')).state).toBe('active');
    });
    expect((await apply(root, repo, url)).stdout).toMatch(/^No changes/m);
  }, 120_000);
});
