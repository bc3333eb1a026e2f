/**
 * A daemon on an embedded (`file:`) control plane plans through a read-only open: no writer
 * lock, no journal replay, no snapshot rewritten per run, an unchanged state not read again
 * (the state cache it hands each open). It takes the writer only to apply, and then checks
 * the state is still the one it planned against; the state its writer leaves is the next
 * reader's, so a run never reads back its own writes. In process: a real Git repository, the real
 * state file, the daemon's HTTP server on 127.0.0.1.
 */
import { statSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState, type ControlPlane } from '../../src/controlplane/types.js';
import type { DaemonDeps } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { sameObjects } from '../../src/incremental/plan-reuse.js';
import type { LiveState } from '../../src/model/live.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo } from './helpers.js';
import { retuneQueueAt } from '../support/retune-queue.js';
import { until } from '../support/until.js';
import { watchingOpens } from '../support/watching-opens.js';
import { sharedListsOf } from '../../src/daemon/unit.js';

const TOKEN = 'reconcile-token-0123456789';
async function start(repo: TestRepo, deps: Partial<DaemonDeps> = {}) {
  const d = await startOwnTestDaemon({
    repo,
    env: { POOLSYNC_RECONCILE_TOKEN: TOKEN },
    deps: { retryBaseMs: 50, ...deps },
  });
  cleanup.add(d.stop);
  const { daemon, cpPath } = d;
  const status = async () => (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
  const reconcile = async () => {
    const res = await fetch(`${daemon.url}/reconcile?wait=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
    return (await status()).lastRun!;
  };
  return { cpPath, status, reconcile };
}

describe('daemon on a file: control plane', () => {
  it('a run with nothing to do only reads: the state file is not rewritten, and a writer holding it does not fail the run', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const d = await start(repo);
    await until('the first apply', async () => (await d.status()).appliedCommit !== null);
    expect((await d.reconcile()).result).toBe('in_sync');
    const before = statSync(d.cpPath);
    expect((await d.reconcile()).result).toBe('in_sync');
    const after = statSync(d.cpPath);
    expect([after.ino, after.mtimeMs, after.size]).toEqual([
      before.ino,
      before.mtimeMs,
      before.size,
    ]);

    // `poolsync apply` holding the state (its writer lock) no longer makes a no-op run fail.
    const writer = await EmbeddedControlPlane.open({ path: d.cpPath });
    try {
      const run = await d.reconcile();
      expect(run.result).toBe('in_sync');
    } finally {
      await writer.close();
    }
  });

  it('runs of an unchanged state share its read (the state cache the daemon hands each open); a write is read again', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const reads: LiveState[] = [];
    const d = await start(repo, {
      pipeline: {
        readLiveState: async (cp: ControlPlane) => {
          const live = await readLiveState(cp, 'all', sharedListsOf(cp));
          reads.push(live);
          return live;
        },
      },
    });
    await until('the first apply', async () => (await d.status()).appliedCommit !== null);
    expect((await d.reconcile()).result).toBe('in_sync');
    const first = reads.at(-1)!;
    expect((await d.reconcile()).result).toBe('in_sync');
    // The same frozen objects: the state file was not read again (src/incremental/state-cache.ts).
    expect(sameObjects(first, reads.at(-1)!)).toBe(true);

    await retuneQueueAt(d.cpPath, 'batch', { action_concurrency: 7 });
    const changed = reads.length;
    await d.reconcile();
    const after = reads[changed]!;
    expect(after.queues.find((q) => q.name === 'batch')?.action_concurrency).toBe(7);
    expect(sameObjects(first, after)).toBe(false);
  });

  it("the daemon's own writes are not read back: its writer takes the state its reader had, the next reader the one its writer left", async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const d = await start(repo);
    await until('the first apply', async () => (await d.status()).appliedCommit !== null);
    expect((await d.reconcile()).result).toBe('in_sync');

    repo.commit(manifests({ batchRunConcurrency: 80 }));
    const opens = vi.spyOn(EmbeddedControlPlane, 'open');
    cleanup.add(() => opens.mockRestore());
    const applied = await watchingOpens(d.cpPath, () => d.reconcile());
    expect(applied.value.result).toBe('applied');
    // Opened to plan (read-only) and to apply; what the apply left is read for /status
    // `managed` before the writer closes, not by a third open (issue 79 item 2).
    expect(opens.mock.calls.map(([o]) => o.readOnly === true)).toEqual([true, false]);
    expect((await d.status()).managed?.count).toBeGreaterThan(0);
    // The writer appends to the journal; it reads neither the snapshot nor the journal.
    expect(applied.opened).not.toContain(d.cpPath);
    expect(applied.opened.filter((f) => f === `${d.cpPath}.journal`)).toHaveLength(1);

    const next = await watchingOpens(d.cpPath, () => d.reconcile());
    expect(next.value.result).toBe('in_sync');
    // Only the inventory beside the state is read (with the live state, every run).
    expect(next.opened).toEqual([`${d.cpPath}.inventory.json`]);

    // Files written by someone else are read again.
    await retuneQueueAt(d.cpPath, 'batch', { action_concurrency: 7 });
    const after = await watchingOpens(d.cpPath, () => d.reconcile());
    expect(after.opened).toContain(d.cpPath);
  });

  it('a state changed by another writer between the plan and the apply is planned again, never applied stale', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    let interfere: string | null = null;
    const d = await start(repo, {
      pipeline: {
        // After the daemon has read the live state for its plan, another writer changes it.
        readLiveState: async (cp: ControlPlane) => {
          const live = await readLiveState(cp, 'all', sharedListsOf(cp));
          if (interfere !== null) {
            const path = interfere;
            interfere = null;
            await retuneQueueAt(path, 'batch', { action_concurrency: 7 });
          }
          return live;
        },
      },
    });
    // Recorded, not only applied: the first run's last read of the live state (/status
    // `managed`) is over before another writer is set to interfere.
    await until('the first apply', async () => {
      const s = await d.status();
      return s.appliedCommit !== null && s.lastRun?.commit === s.appliedCommit;
    });
    repo.commit(manifests({ batchRunConcurrency: 80 }));
    interfere = d.cpPath;
    const raced = await d.reconcile();
    expect(raced.result).toBe('failed');
    expect(raced.message).toContain('changed between the plan and the apply');
    // The retry plans against the state as it now is and applies the whole repository.
    await until('the retry to apply', async () => {
      const s = await d.status();
      return s.lastRun?.result === 'applied' || s.lastRun?.result === 'in_sync' ? s : null;
    });
    const cp = await EmbeddedControlPlane.open({ path: d.cpPath, readOnly: true });
    try {
      const q = await cp.getQueue('batch');
      expect([q.run_concurrency, q.action_concurrency]).toEqual([80, 500]);
    } finally {
      await cp.close();
    }
  });
});
