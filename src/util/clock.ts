/**
 * Time as every client that waits sees it (backoffs, rate limits, the pacer, the lease elector).
 * Tests pass a clock that moves without waiting (test/helpers/virtual-clock.ts), so a 30 s
 * backoff or a lease duration takes no real time.
 */
import { setTimeout as wait } from 'node:timers/promises';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (a client closing). Never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The machine's clock; `now` is monotonic, so a lease's deadlines hold when the clock is set. */
export const SYSTEM_CLOCK: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  sleep: (ms, signal) => wait(ms, undefined, signal ? { signal } : {}).catch(() => {}),
};
