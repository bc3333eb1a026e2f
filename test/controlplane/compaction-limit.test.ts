/**
 * The embedded state's journal limit is the state's size (src/controlplane/embedded/store.ts,
 * issue 79 item 5): folded into a snapshot once it holds `compactAfter` calls or as many as the
 * state holds objects, whichever is more. Creates from empty never reach it (each adds an
 * object), so an apply of N creates writes one snapshot, at close; calls that add nothing
 * (updates) fold, and a reader never replays more lines than the state has objects.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { tempFolder } from '../support/temp-folder.js';
import { QUEUE_DEFAULTS } from '../../src/model/common.js';

const journalLines = async (path: string) =>
  (await readFile(`${path}.journal`, 'utf8')).split('\n').filter(Boolean).length;

/** The snapshot's op number and its queues. */
async function snapshot(path: string): Promise<{ seq: number; queues: number }> {
  const s = JSON.parse(await readFile(path, 'utf8')) as { seq: number; state: { queues: [] } };
  return { seq: s.seq, queues: s.state.queues.length };
}

const queue = (name: string, depth = 0) => ({
  ...QUEUE_DEFAULTS,
  name,
  run_concurrency: 1,
  action_concurrency: 1,
  depth,
});

describe('journal compaction', () => {
  it('creates from empty never fold the journal while open: one snapshot, at close', async () => {
    const path = join(tempFolder('poolsync-compaction-'), 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path, compactAfter: 10, keepJournal: 50 });
    const opened = await snapshot(path);
    for (let i = 0; i < 80; i++) await cp.createQueue(queue(`q-${i}`));
    // 80 calls journaled, past compactAfter, but fewer than the state's 82 objects.
    expect(await snapshot(path)).toEqual(opened);
    expect(await journalLines(path)).toBe(80);
    await cp.close();
    // Closing with 80 >= keepJournal folded them: the snapshot holds every call.
    expect(await snapshot(path)).toEqual({ seq: 80, queues: 81 });
    expect(await journalLines(path)).toBe(0);
  });

  it('folds once the journal holds compactAfter calls or as many as the state has objects', async () => {
    const path = join(tempFolder('poolsync-compaction-'), 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path, compactAfter: 10, keepJournal: 1_000 });
    for (let i = 0; i < 30; i++) await cp.createQueue(queue(`q-${i}`));
    // The default pool, the default queue and 30 queues; updates add nothing.
    const objects = 32;
    let last = await snapshot(path);
    const folds: number[] = [];
    for (let i = 0; i < 100; i++) {
      const journal = await journalLines(path);
      await cp.updateQueue(`q-${i % 30}`, {
        ...queue(`q-${i % 30}`, i + 1),
        pool: 'default',
        clusters: ['*'],
      });
      const now = await snapshot(path);
      if (now.seq !== last.seq) folds.push(journal + 1);
      // Never more journaled than the limit.
      else expect(journal + 1).toBeLessThan(objects);
      last = now;
    }
    await cp.close();
    // 30 creates and 2 updates reached the state's 32 objects, then every 32 updates.
    expect(folds).toEqual([32, 32, 32, 32]);
    const again = await EmbeddedControlPlane.open({ path, keepJournal: 1_000 });
    expect(await again.listQueues()).toHaveLength(31);
    expect((await again.getQueue('q-9')).depth).toBe(100);
    await again.close();
  });

  it('a small state folds at compactAfter', async () => {
    const path = join(tempFolder('poolsync-compaction-'), 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path, compactAfter: 10, keepJournal: 1_000 });
    await cp.createQueue(queue('q'));
    for (let i = 0; i < 9; i++)
      await cp.setQueueActivity('q', { runs_in_flight: i, actions_in_flight: 0 });
    // Ten calls, three objects (and the activity record): folded at compactAfter.
    expect(await snapshot(path)).toEqual({ seq: 10, queues: 2 });
    expect(await journalLines(path)).toBe(0);
    await cp.close();
  });
});
