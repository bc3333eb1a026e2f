/**
 * Virtual time for the clients' waits (util/pacer.ts `Clock`): `sleep(ms)` returns at once (after
 * a turn of the event loop) with the clock at least `ms` later, so a test of a 30 s delay takes
 * no time and never depends on the machine's speed. A throttling server in the test reads the
 * same clock: a request sent after its wait arrives no earlier than the wait's end.
 */
import type { Clock } from '../../src/util/pacer.js';

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
