/**
 * The embedded state's journal limit grows with the state (src/controlplane/embedded/store.ts,
 * issue 79 item 5): folded into a snapshot once it holds `compactAfter` calls or as many as the
 * last snapshot held objects, so a large apply does not rewrite the whole state every
 * `compactAfter` calls, and a reader never replays more than a snapshot's worth.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { tempFolder } from '../support/temp-folder.js';

const journalLines = async (path: string) =>
  (await readFile(`${path}.journal`, 'utf8')).split('\n').filter(Boolean).length;

/** The snapshot's op number and its queues. */
async function snapshot(path: string): Promise<{ seq: number; queues: number }> {
  const s = JSON.parse(await readFile(path, 'utf8')) as { seq: number; state: { queues: [] } };
  return { seq: s.seq, queues: s.state.queues.length };
}

describe('journal compaction', () => {
  it('folds the journal once it holds compactAfter calls or as many as the snapshot has objects', async () => {
    const path = join(tempFolder('poolsync-compaction-'), 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path, compactAfter: 10, keepJournal: 1_000 });
    let last = await snapshot(path);
    const folds: { journal: number; before: number }[] = [];
    for (let i = 0; i < 80; i++) {
      const journal = await journalLines(path);
      await cp.createQueue({ name: `q-${i}`, run_concurrency: 1, action_concurrency: 1 });
      const now = await snapshot(path);
      if (now.seq !== last.seq) folds.push({ journal: journal + 1, before: last.queues });
      // Never more journaled than the limit: compactAfter, or the snapshot's queues and more.
      else expect(journal + 1).toBeLessThan(Math.max(10, last.queues + 1) + 1);
      last = now;
    }
    await cp.close();
    // Each fold came once the journal reached 10 calls and the snapshot's objects (its queues
    // and the default pool): at about 10, 22, 46 calls: 3 snapshots, not 8 (one per 10 calls).
    expect(folds.length).toBe(3);
    for (const f of folds) expect(f.journal).toBeGreaterThanOrEqual(Math.max(10, f.before));
    // The snapshot and the journal after it hold every call.
    const again = await EmbeddedControlPlane.open({ path, keepJournal: 1_000 });
    expect(await again.listQueues()).toHaveLength(81);
    await again.close();
  });
});
