/**
 * Wait progress reports only what was measured (issue 21): wait_idle the queue's metrics (Q7),
 * wait_drained the drain state the control plane reports, never an in-flight count it did not
 * read. Against the embedded control plane, whose activity model drains a queue over time.
 */
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { waitDrained, waitIdle, type WaitProgress } from '../../src/apply/wait.js';

async function busyQueue(now: () => number) {
  const cp = await EmbeddedControlPlane.open({
    path: null,
    capabilities: {
      drain: true,
      queue_delete: false,
      pool_update: false,
      cluster_move: false,
      queue_move: false,
    },
    now,
  });
  await cp.createQueue({ name: 'batch', run_concurrency: 1, action_concurrency: 1 });
  await cp.setQueueActivity('batch', {
    runs_in_flight: 3,
    actions_in_flight: 7,
    finish_over_ms: 100,
  });
  return cp;
}

describe('wait progress', () => {
  it('wait_drained reports the drain state, with no in-flight numbers', async () => {
    let t = 0;
    const cp = await busyQueue(() => t);
    await cp.drainQueue('batch');
    const seen: WaitProgress[] = [];
    await waitDrained(cp, ['batch'], {
      timeoutMs: 60_000,
      pollIntervalMs: { initial: 1, max: 1 },
      onProgress: (p) => {
        seen.push(p);
        t += 60; // the work finishes over 100 ms of the control plane's clock
      },
    });
    expect(seen.length).toBeGreaterThan(0);
    for (const p of seen) {
      expect(p).toMatchObject({ queue: 'batch', state: 'draining' });
      expect(p.runs_in_flight).toBeNull();
      expect(p.actions_in_flight).toBeNull();
    }
    await cp.close();
  });

  it('wait_idle reports the metrics it read', async () => {
    let t = 0;
    const cp = await busyQueue(() => t);
    const seen: WaitProgress[] = [];
    await waitIdle(cp, ['batch'], {
      timeoutMs: 60_000,
      pollIntervalMs: { initial: 1, max: 1 },
      onProgress: (p) => {
        seen.push(p);
        t += 60;
      },
    });
    expect(seen[0]).toMatchObject({ queue: 'batch', runs_in_flight: 3, actions_in_flight: 7 });
    expect(seen[0]!.state).toBeUndefined();
    await cp.close();
  });
});
