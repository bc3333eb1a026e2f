/**
 * A saved plan applied a second time (docs/apply.md#saved-plans-and-staleness): its changes are
 * all made and nothing else moved, so the refusal says it was already applied, not that an apply
 * did not finish (`it now records Queue/newq (an apply that did not finish …)`). A plan whose
 * control plane also moved otherwise is stale in the usual words. In process.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { runInProcess } from '../support/memory-io.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';

const spec = (q0: number, extra: RepoSpec['queues'] = {}): RepoSpec => ({
  prune: true,
  pools: ['p'],
  clusters: { c1: 'p' },
  queues: {
    q0: { pool: 'p', clusters: ['c1'], run_concurrency: q0 },
    ...extra,
  },
});

/** Drains `queue` through the control plane's own API, as a drain_queue step does. */
async function drain(state: string, queue: string) {
  const cp = await EmbeddedControlPlane.open({ path: state });
  try {
    await cp.drainQueue(queue);
  } finally {
    await cp.close();
  }
}

describe('a saved plan applied again', () => {
  it('says it was already applied when its changes are all made and nothing else moved', async () => {
    const root = await tempDir();
    const repo = join(root, 'repo');
    const cli = (...args: string[]) =>
      runInProcess(
        [...args, '--control-plane', `file:${join(root, 'cp.json')}`],
        { HOME: root },
        root,
      );
    await writeRepo(repo, spec(5));
    expect((await cli('apply', repo, '--auto-approve')).code).toBe(0);
    // An update and a create.
    await writeRepo(repo, spec(7, { newq: { pool: 'p', clusters: ['c1'] } }));
    const saved = join(root, 'p.json');
    expect((await cli('plan', repo, '--out', saved)).code).toBe(0);
    const first = await cli('apply', saved, '--auto-approve');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const again = await cli('apply', saved, '--auto-approve');
    expect(again).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: stale plan: ${saved} was already applied: the control plane shows its changes made (Queue/newq, Queue/q0) and poolsync's inventory records them, and nothing else changed since it was made (or the same changes were made another way). Nothing was applied; run \`poolsync plan\` to see what is left to do\n`,
    });

    // Applied, then another apply changed more: stale, in the usual words.
    await writeRepo(repo, spec(9, { newq: { pool: 'p', clusters: ['c1'] } }));
    const next = join(root, 'next.json');
    expect((await cli('plan', repo, '--out', next)).code).toBe(0);
    expect((await cli('apply', next, '--auto-approve')).code).toBe(0);
    await writeRepo(repo, spec(9, { newq: { pool: 'p', clusters: ['c1'], run_concurrency: 3 } }));
    expect((await cli('apply', repo, '--auto-approve')).code).toBe(0);
    const moved = await cli('apply', next, '--auto-approve');
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(
      new RegExp(
        `^Error: stale plan: the control plane changed since ${next.replace(/\./g, '\\.')} was made: 2 objects differ from the plan: Queue/newq \\(run_concurrency`,
      ),
    );
    expect(moved.stderr).not.toContain('already applied');
  }, 120_000);

  it('says it was partly applied when some of its changes are made and nothing else moved', async () => {
    const root = await tempDir();
    const repo = join(root, 'repo');
    const cli = (...args: string[]) =>
      runInProcess(
        [...args, '--control-plane', `file:${join(root, 'cp.json')}`],
        { HOME: root },
        root,
      );
    const two = (q0: number, q1: number) =>
      spec(q0, { q1: { pool: 'p', clusters: ['c1'], run_concurrency: q1 } });
    await writeRepo(repo, two(5, 5));
    expect((await cli('apply', repo, '--auto-approve')).code).toBe(0);
    await writeRepo(repo, two(7, 7));
    const saved = join(root, 'p.json');
    expect((await cli('plan', repo, '--out', saved)).code).toBe(0);
    // What a cut apply leaves: q0's update made, q1's not begun.
    await writeRepo(repo, two(7, 5));
    expect((await cli('apply', repo, '--auto-approve')).code).toBe(0);
    expect(await cli('apply', saved, '--auto-approve')).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: stale plan: ${saved} was partly applied: Queue/q0 is as this plan makes it (an apply of it that did not finish, or the same change made another way?), its other changes are not made, and nothing else changed since it was made. Nothing was applied; run \`poolsync plan\` again to finish\n`,
    });

    // Made, and another object moved as well: stale, each named as it is.
    await writeRepo(repo, two(7, 6));
    expect((await cli('apply', repo, '--auto-approve')).code).toBe(0);
    const moved = await cli('apply', saved, '--auto-approve');
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain(
      'Queue/q0 (run_concurrency 5 → 7, as this plan makes it: an apply of it that did not finish?)',
    );
    expect(moved.stderr).not.toContain('partly applied');
  }, 120_000);

  it("counts a queue its own drain step drained before its delete ran as made part way, not another client's change", async () => {
    const root = await tempDir();
    const repo = join(root, 'repo');
    const state = join(root, 'cp.json');
    const cli = (...args: string[]) =>
      runInProcess(
        [...args, '--control-plane', `file:${state}?capabilities=drain,queue_delete`],
        { HOME: root },
        root,
      );
    const gone = { pool: 'p', clusters: ['c1'] };
    await writeRepo(repo, spec(5, { gone }));
    expect((await cli('apply', repo, '--auto-approve')).code).toBe(0);
    await writeRepo(repo, spec(7));
    const saved = join(root, 'p.json');
    const planned = await cli('plan', repo, '--out', saved);
    expect(planned.stdout).toMatch(/drain_queue Queue\/gone[^]*delete_queue Queue\/gone/);
    // What an apply cut before its delete_queue leaves: q0's update made, gone drained by its step.
    await writeRepo(repo, spec(7, { gone }));
    expect((await cli('apply', repo, '--auto-approve')).code).toBe(0);
    await drain(state, 'gone');
    expect(await cli('apply', saved, '--auto-approve')).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: stale plan: ${saved} was partly applied: Queue/gone (part way), Queue/q0 are as this plan makes them (an apply of it that did not finish, or the same change made another way?), its other changes are not made, and nothing else changed since it was made. Nothing was applied; run \`poolsync plan\` again to finish\n`,
    });

    // Drained, and another object moved as well: stale, the drain still said to be the plan's.
    await writeRepo(repo, spec(6, { gone }));
    expect((await cli('apply', repo, '--auto-approve')).code).toBe(0);
    await drain(state, 'gone');
    const moved = await cli('apply', saved, '--auto-approve');
    expect(moved.stderr).toContain(
      'Queue/gone (state active → drained, as this plan makes it part way: an apply of it that did not finish?)',
    );
    expect(moved.stderr).not.toContain('partly applied');
  }, 120_000);
});
