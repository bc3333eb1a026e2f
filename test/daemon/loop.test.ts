import { describe, expect, it } from 'vitest';
import { ReconcileLoop, startTimer, type TriggerReason } from '../../src/daemon/loop.js';
import { backoffDelay } from '../../src/util/backoff.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ReconcileLoop', () => {
  it('runs one reconcile at a time and coalesces triggers that arrive during a run into ONE follow-up', async () => {
    const runs: TriggerReason[][] = [];
    let active = 0;
    let maxActive = 0;
    const gates = [deferred(), deferred(), deferred()];
    const loop = new ReconcileLoop(async (reasons) => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs.push([...reasons].sort());
      await gates[runs.length - 1]!.promise;
      active--;
    });

    const first = loop.request('startup');
    // Five triggers while the first run is busy…
    const during = [
      loop.request('webhook'),
      loop.request('poll'),
      loop.request('webhook'),
      loop.request('drift'),
      loop.request('manual'),
    ];
    expect(runs).toHaveLength(1);
    gates[0]!.resolve();
    await first;
    gates[1]!.resolve();
    await Promise.all(during);
    // …become exactly one follow-up run carrying all their reasons.
    expect(runs).toEqual([['startup'], ['drift', 'manual', 'poll', 'webhook']]);
    expect(maxActive).toBe(1);
    expect(loop.busy).toBe(false);
  });

  it('a request after the loop went idle starts a new run', async () => {
    let n = 0;
    const loop = new ReconcileLoop(async () => {
      n++;
    });
    await loop.request('poll');
    await loop.request('poll');
    expect(n).toBe(2);
  });

  it('survives a run that throws and reports it', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const loop = new ReconcileLoop(
      async () => {
        n++;
        if (n === 1) throw new Error('boom');
      },
      (e) => errors.push(e),
    );
    await loop.request('poll');
    await loop.request('poll');
    expect(n).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it('stop() aborts the signal, drops the pending follow-up and waits for the running run', async () => {
    const gate = deferred();
    let sawAbort = false;
    let runs = 0;
    const loop = new ReconcileLoop(async (_r, signal) => {
      runs++;
      await gate.promise;
      sawAbort = signal.aborted;
    });
    void loop.request('startup');
    const pending = loop.request('poll');
    const stopped = loop.stop(5000);
    gate.resolve();
    expect(await stopped).toBe(true);
    await pending; // resolved, not hanging
    expect(sawAbort).toBe(true);
    expect(runs).toBe(1);
    await loop.request('poll'); // ignored after stop
    expect(runs).toBe(1);
  });

  it('stop() is bounded: returns false when the run outlives the timeout', async () => {
    const loop = new ReconcileLoop(() => new Promise(() => {}));
    void loop.request('startup');
    expect(await loop.stop(50)).toBe(false);
  });
});

describe('triggers', () => {
  it('timer fires repeatedly with jitter inside ±10%', async () => {
    const fired: number[] = [];
    const start = Date.now();
    const t = startTimer(20, () => fired.push(Date.now() - start));
    await new Promise((r) => setTimeout(r, 130));
    await t.stop();
    const count = fired.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(count).toBeGreaterThanOrEqual(3);
    expect(fired.length).toBe(count); // stopped means stopped
  });

  it('backoff doubles up to the cap and never drops below half the ceiling', () => {
    expect(backoffDelay(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 60_000, () => 1)).toBe(4000);
    expect(backoffDelay(20, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(20, 1000, 60_000, () => 0)).toBe(30_000);
  });
});
