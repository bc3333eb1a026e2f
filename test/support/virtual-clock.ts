/**
 * Virtual time for the clients' waits (util/pacer.ts `Clock`): `sleep(ms)` returns at once (after
 * a turn of the event loop) with the clock at least `ms` later, so a test of a 30 s delay takes
 * no time and never depends on the machine's speed. A throttling server in the test reads the
 * same clock: a request sent after its wait arrives no earlier than the wait's end.
 */
import type { Clock } from '../../src/util/clock.js';

export class VirtualClock implements Clock {
  private t = 1_000_000;
  /** Every sleep asked for, in order (ms). */
  readonly slept: number[] = [];

  now(): number {
    return this.t;
  }

  async sleep(ms: number): Promise<void> {
    const end = this.t + ms;
    this.slept.push(ms);
    await new Promise((resolve) => setImmediate(resolve));
    if (end > this.t) this.t = end;
  }
}

/**
 * Time that moves only when the test says (`advance`), for code that waits on real I/O between
 * its sleeps (the lease elector against a Kubernetes API): the test lets that I/O finish, then
 * moves time on, so a lease duration passes exactly and in no real time.
 */
export class ManualClock implements Clock {
  private t = 1_000_000;
  private readonly sleepers = new Set<{ until: number; wake: () => void }>();

  now(): number {
    return this.t;
  }

  /** Sleeps in progress (an aborted one is gone at once). */
  get sleeping(): number {
    return this.sleepers.size;
  }

  /** What is left of each sleep in progress (ms). */
  get pending(): number[] {
    return [...this.sleepers].map((s) => s.until - this.t);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = {
        until: this.t + ms,
        wake: () => {
          this.sleepers.delete(sleeper);
          signal?.removeEventListener('abort', sleeper.wake);
          resolve();
        },
      };
      this.sleepers.add(sleeper);
      signal?.addEventListener('abort', sleeper.wake, { once: true });
    });
  }

  /** Moves time on by `ms`, waking every sleep whose time has come. */
  advance(ms: number): void {
    this.t += ms;
    for (const s of [...this.sleepers]) if (s.until <= this.t) s.wake();
  }
}
