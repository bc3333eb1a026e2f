import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  ReconcileLoop,
  startTimer,
  watchFolder,
  type TriggerReason,
} from '../../src/daemon/loop.js';
import { backoffDelay } from '../../src/util/backoff.js';
import { cleanup } from '../support/cleanup.js';
import { until } from '../support/until.js';
import { ManualClock } from '../support/virtual-clock.js';
import { tempDir } from './helpers.js';

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
  it('timer fires repeatedly with jitter inside ±10%, and stopped means stopped', async () => {
    // Fake timers: the waits are read from the clock poolsync schedules on, not from how fast
    // this machine runs them.
    vi.useFakeTimers();
    try {
      const fired: number[] = [];
      const t = startTimer(1000, () => fired.push(Date.now()));
      const start = Date.now();
      await vi.advanceTimersByTimeAsync(10_000);
      const waits = fired.map((at, i) => at - (i === 0 ? start : fired[i - 1]!));
      expect(waits.length).toBeGreaterThanOrEqual(9);
      for (const wait of waits) expect(Math.abs(wait - 1000)).toBeLessThanOrEqual(100);
      expect(new Set(waits).size).toBeGreaterThan(1); // jittered, not in lockstep
      await t.stop();
      const count = fired.length;
      await vi.advanceTimersByTimeAsync(5_000);
      expect(fired.length).toBe(count);
    } finally {
      vi.useRealTimers();
    }
  });

  it('backoff doubles up to the cap and never drops below half the ceiling', () => {
    expect(backoffDelay(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 60_000, () => 1)).toBe(4000);
    expect(backoffDelay(20, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(20, 1000, 60_000, () => 0)).toBe(30_000);
  });
});

describe('watchFolder', () => {
  it('fires once quiet for the debounce after the last change, with every path changed before it', async () => {
    const dir = tempDir();
    const outside = tempDir();
    const clock = new ManualClock();
    const fires: string[][] = [];
    const watching = await watchFolder(dir, 200, (paths) => fires.push(paths), undefined, clock);
    cleanup.add(() => watching.stop());
    // Made elsewhere and moved in: one event per file, seen as its quiet time starting anew.
    const add = async (name: string) => {
      writeFileSync(join(outside, name), 'kind: Queue\n');
      renameSync(join(outside, name), join(dir, name));
      await until(`${name} seen`, () => clock.pending.includes(200));
    };
    await add('a.yaml');
    clock.advance(199);
    await add('b.yaml');
    clock.advance(199);
    await add('c.yaml');
    // 398 ms on the clock since the first change, never 200 quiet: nothing fired yet.
    expect(fires).toEqual([]);
    clock.advance(200);
    await until('fired', () => fires.length > 0);
    expect(fires).toEqual([['a.yaml', 'b.yaml', 'c.yaml'].map((f) => join(dir, f))]);
    expect(clock.sleeping).toBe(0);
  });

  it('starts no run for a file no run reads: the daemon log written into the folder, notes', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const fires: string[][] = [];
    const watching = await watchFolder(dir, 200, (paths) => fires.push(paths), undefined, clock);
    cleanup.add(() => watching.stop());
    writeFileSync(join(dir, 'daemon.log'), '{"msg":"run"}\n');
    writeFileSync(join(dir, 'notes.txt'), 'todo\n');
    // Written after them, so their events came first: only the manifest's is kept.
    writeFileSync(join(dir, 'q.YAML'), 'kind: Queue\n');
    await until('q.YAML seen', () => clock.pending.includes(200));
    clock.advance(200);
    await until('fired', () => fires.length > 0);
    writeFileSync(join(dir, 'daemon.log'), '{"msg":"run"}\n{"msg":"again"}\n');
    writeFileSync(join(dir, 'policy.rego'), 'package poolsync\n');
    await until('policy.rego seen', () => clock.pending.includes(200));
    clock.advance(200);
    await until('fired again', () => fires.length > 1);
    expect(fires).toEqual([[join(dir, 'q.YAML')], [join(dir, 'policy.rego')]]);
  });
});
