/**
 * A queue update is a read-modify-write of what the plan shows changing (src/apply/steps.ts
 * checkedWrites().queueWrite): another client's change made after the plan read the queue, to a field the plan
 * does not show changing, survives the apply; a field both changed ends as the plan's `after`
 * (docs/apply.md, "Another client meanwhile"). The CLI applies a saved plan against the server
 * `control-plane serve` runs; the queue's calls are held until the other client has written, so
 * the write lands after the plan and its recheck, before the step acts, on any machine's speed.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QueueSpec } from '../../src/model/common.js';
import type { LiveQueue } from '../../src/model/live.js';
import { runCli, startCli } from '../support/cli.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const repo = (runConcurrency: number): RepoSpec => ({
  pools: ['p'],
  clusters: { c1: 'p' },
  queues: { hot: { pool: 'p', clusters: ['c1'], run_concurrency: runConcurrency } },
});

describe('apply: a queue update keeps what another client changed meanwhile', () => {
  it('sets only the fields the plan shows changing, on the queue as read when the step acts', async () => {
    const { embedded, url } = await servedControlPlane();
    const dir = await tempDir('poolsync-rmw-');
    const folder = join(dir, 'repo');
    const cli = (args: string[]) => runCli([...args, '--control-plane', url], {}, dir);
    await writeRepo(folder, repo(10));
    const first = await cli(['apply', folder, '--auto-approve']);
    expect(first.code, first.stderr).toBe(0);
    await writeRepo(folder, repo(5));
    const planFile = join(dir, 'plan.json');
    const planned = await cli(['plan', folder, '--out', planFile]);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain('run_concurrency: 10 → 5');

    // The server's calls on the queue wait for the other client (who writes in process).
    const { getQueue, updateQueue } = embedded;
    let otherWrote!: () => void;
    const gate = new Promise<void>((resolve) => (otherWrote = resolve));
    const held =
      <R>(call: (name: string, ...rest: never[]) => Promise<R>) =>
      async (name: string, ...rest: never[]) => {
        if (name === 'hot') await gate;
        return call.call(embedded, name, ...rest);
      };
    Object.assign(embedded, { getQueue: held(getQueue), updateQueue: held(updateQueue) });

    const apply = startCli(['apply', planFile, '--control-plane', url], {}, dir);
    await apply.waitForOutput((out) => out.includes('Queue/hot: Updating...'));
    const before = await getQueue.call(embedded, 'hot');
    const theirs: QueueSpec = { ...before, run_concurrency: 7, priority: 'max', depth: 42 };
    await updateQueue.call(embedded, 'hot', specOf(theirs));
    otherWrote();
    const done = await apply.done;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('Queue/hot: Update complete');

    const after = await getQueue.call(embedded, 'hot');
    // run_concurrency: the plan's `after` (shown and approved); priority and depth: theirs.
    expect(specOf(after)).toEqual(specOf({ ...theirs, run_concurrency: 5 }));
  });
});

function specOf(q: QueueSpec | LiveQueue): QueueSpec {
  const { pool, clusters, run_concurrency, action_concurrency, depth, priority, fairness } = q;
  return { pool, clusters, run_concurrency, action_concurrency, depth, priority, fairness };
}
