/**
 * The calls a client has in flight to one server, paced as the server asks (quality.md): a
 * delay the server gives (RESOURCE_EXHAUSTED with RetryInfo, HTTP 429 with Retry-After) holds
 * every call of the client, and the calls in flight follow TCP's AIMD: halved when the server
 * throttles (once per hold: a burst answered together halves it once), raised by one per round
 * answered since, back up to `max` (--parallelism). Both are told (`onPace`); the clock is
 * injected, so tests run on virtual time.
 */
import { SYSTEM_CLOCK, type Clock } from './clock.js';

/** A change of pace: throttled (lowered, holding calls for `waitMs`) or back to `max`. */
export interface PaceEvent {
  server: string;
  throttled: boolean;
  /** Calls in flight allowed now, and at most. */
  limit: number;
  max: number;
  /** How long calls are held (the server's delay), when throttled. */
  waitMs: number;
  /** What the server said: `RESOURCE_EXHAUSTED`, `HTTP 429`. */
  said: string;
}

export type PaceListener = (e: PaceEvent) => void;

/** A pace event as one line of progress. */
export function paceLine(e: PaceEvent): string {
  if (!e.throttled) return `${e.server} no longer throttles: back to ${e.max} calls at once`;
  const wait = e.waitMs > 0 ? `, the next call in ${(e.waitMs / 1000).toFixed(1)}s` : '';
  return `${e.server} asked to slow down (${e.said}): ${e.limit} of ${e.max} calls at once${wait}`;
}

export class Pacer {
  private limit: number;
  private active = 0;
  /** No call is sent before this time (the server's delay). */
  private until = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly server: string,
    private readonly max: number,
    private readonly clock: Clock = SYSTEM_CLOCK,
    private readonly onPace?: PaceListener,
  ) {
    this.limit = Math.max(1, max);
  }

  /** Calls in flight allowed now (tests, progress). */
  get allowed(): number {
    return Math.floor(this.limit);
  }

  /** `send` once a call may go: no earlier than the server's delay, within the calls allowed. */
  async run<T>(send: () => Promise<T>): Promise<T> {
    for (;;) {
      const hold = this.until - this.clock.now();
      if (hold > 0) await this.clock.sleep(hold);
      else if (this.active < this.allowed) break;
      else await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.active++;
    try {
      return await send();
    } finally {
      this.active--;
      this.wake();
    }
  }

  private wake(): void {
    for (let free = this.allowed - this.active; free > 0 && this.waiting.length > 0; free--)
      this.waiting.shift()!();
  }

  /** An answer that was not a throttle: one more call in flight per round answered. */
  answered(): void {
    if (this.limit >= this.max) return;
    this.limit = Math.min(this.max, this.limit + 1 / this.limit);
    if (this.limit === this.max) this.tell(false, 0, '');
    this.wake();
  }

  /** The server throttled: hold every call `delayMs`, and halve the calls in flight once per hold. */
  throttled(delayMs: number, said: string): void {
    const now = this.clock.now();
    const holding = now < this.until;
    this.until = Math.max(this.until, now + delayMs);
    if (holding) return;
    this.limit = Math.max(1, this.limit / 2);
    this.tell(true, this.until - now, said);
  }

  private tell(throttled: boolean, waitMs: number, said: string): void {
    try {
      this.onPace?.({
        server: this.server,
        throttled,
        limit: this.allowed,
        max: this.max,
        waitMs,
        said,
      });
    } catch {
      // An observer's failure never stops a call.
    }
  }
}
