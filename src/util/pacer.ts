/**
 * The calls a client has in flight to one server, paced by what it signals (quality.md,
 * throttling); each change of pace is told (`onPace`), on an injected clock (virtual in tests):
 * - a refused call (RESOURCE_EXHAUSTED with RetryInfo, HTTP 429 with Retry-After) waits its own
 *   delay (the retry loop sleeps it); the other calls go on, so one refusal stalls nothing else;
 * - the calls in flight follow TCP's AIMD, but on sustained throttling only (WINDOW): halved
 *   is half the calls that were in flight (TCP's flight size), not half of `max`: a client
 *   allowed 256 calls for its reads that runs 8 steps at once goes to 4. Raised by one per round
 *   answered since, until back to as many as were in flight when the throttling began, when
 *   `max` is allowed again;
 * - at one call in flight and still refused, the server refuses everything: new calls wait the
 *   delay it gave too;
 * - two lanes (issue 79 item 3): a `bulk` call (a read fanned out by the thousand: default-queue
 *   settings) starts only while no other call waits, and leaves `reserveOf` slots free, so a
 *   list's next page, on the plan's critical path, never queues behind bulk reads. The reserve
 *   is what does it: a page is asked for only once the page before is answered, and by then
 *   the slots freed by the answers that came with it are taken by bulk calls already waiting
 *   (priority alone: 14 round trips where the reserve makes 12, bench/README.md, issue 79).
 */
import { SYSTEM_CLOCK, type Clock } from './clock.js';

/** A change of pace: throttled (lowered) or back to `max`. */
export interface PaceEvent {
  server: string;
  throttled: boolean;
  /** Calls in flight allowed now, and as many as were in flight when the throttling began. */
  limit: number;
  max: number;
  /** The delay the server gave the refusal that lowered the pace (each refused call waits it). */
  waitMs: number;
  /** At one call in flight and still refused: new calls are held for `waitMs` too. */
  held: boolean;
  /** What the server said: `RESOURCE_EXHAUSTED`, `HTTP 429`. */
  said: string;
}

export type PaceListener = (e: PaceEvent) => void;

/** `first`: every call but bulk reads (lists, gets, writes); `bulk`: after them (above). */
export type Lane = 'first' | 'bulk';

/** Slots bulk calls leave free: an eighth, at most 8 (the list sweeps a live read runs at once). */
export const reserveOf = (allowed: number): number => Math.min(8, Math.floor(allowed / 8));

export function paceLine(e: PaceEvent): string {
  if (!e.throttled) return `${e.server} no longer throttles: back to ${e.max} calls at once`;
  const s = (e.waitMs / 1000).toFixed(1);
  const wait = e.held ? `, the next call in ${s}s` : `, each refused call retried after ${s}s`;
  return `${e.server} asked to slow down (${e.said}): ${e.limit} of ${e.max} calls at once${wait}`;
}

/** What the server answered a call, for the pace (the retry loop tells it). */
export type Answer =
  | { refused: false }
  | { refused: true; delayMs: number; said: string }
  /** Neither (a transient failure that is not a refusal): no sign of the server's capacity. */
  | null;

/**
 * The last calls answered (sent since the last change) that a decrease is judged on, and how
 * many refusals among them: a sixth. Random refusals at 5 % reach it about once in 7,000 answers
 * (2.4 expected of 48, 8 is 3.7 standard deviations above); a cap exceeded by a fifth reaches it
 * within a few rounds.
 */
const WINDOW = 48;
const REFUSED_OF_WINDOW = 8;

export class Pacer {
  private limit: number;
  private active = 0;
  /** No call is sent before this time (held at the floor). */
  private until = 0;
  private readonly waiting: Record<Lane, (() => void)[]> = { first: [], bulk: [] };
  /** Slots given to waiters woken and not yet running. */
  private promised = 0;
  /** Decreases so far: a call's answer counts only toward the epoch it was sent in. */
  private epoch = 0;
  /** This epoch's last answers, refused or not (a ring of WINDOW). */
  private readonly recent: boolean[] = [];
  private refusedInRecent = 0;
  /** The most calls in flight this epoch (the flight size a decrease halves). */
  private peak = 0;
  /** Calls in flight when the throttling began (null: the server does not throttle). */
  private wanted: number | null = null;

  constructor(
    private readonly server: string,
    private readonly max: number,
    private readonly clock: Clock = SYSTEM_CLOCK,
    private readonly onPace?: PaceListener,
  ) {
    this.limit = Math.max(1, max);
  }

  get allowed(): number {
    return Math.floor(this.limit);
  }

  /** `send` once a call may go; `answer` says what the server answered, which sets the pace. */
  async run<T>(
    send: () => Promise<T>,
    answer: (got: T) => Answer,
    lane: Lane = 'first',
  ): Promise<T> {
    for (;;) {
      const hold = this.until - this.clock.now();
      if (hold > 0) await this.clock.sleep(hold);
      else if (this.free(lane) > 0) break;
      else {
        await new Promise<void>((resolve) => this.waiting[lane].push(resolve));
        this.promised--;
        // A slot this call may no longer take (a first-lane call came meanwhile) is passed on.
        if (this.free(lane) <= 0) this.wake();
      }
    }
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    const sentIn = this.epoch;
    let got: T;
    try {
      got = await send();
    } finally {
      this.active--;
      this.wake();
    }
    this.heard(sentIn, answer(got));
    return got;
  }

  /** Slots a call of `lane` may take now: a bulk call none while another call waits. */
  private free(lane: Lane): number {
    const free = this.allowed - this.active - this.promised;
    if (lane === 'first') return free;
    return this.waiting.first.length > 0 ? 0 : free - reserveOf(this.allowed);
  }

  /** Waiters for the free slots, the first lane's before any bulk call; each is kept its slot. */
  private wake(): void {
    for (const lane of ['first', 'bulk'] as const)
      while (this.free(lane) > 0 && this.waiting[lane].length > 0) {
        this.promised++;
        this.waiting[lane].shift()!();
      }
  }

  private heard(sentIn: number, a: Answer): void {
    if (a === null) return;
    if (!a.refused && this.wanted !== null) {
      // Additive increase: one more call in flight per round answered.
      this.limit += 1 / this.limit;
      if (this.limit >= this.wanted) {
        this.tell(false, 0, false, '');
        this.limit = this.max;
        this.wanted = null;
      }
      this.wake();
    }
    // Answers to calls sent before the last decrease were judged by it already.
    if (sentIn !== this.epoch) return;
    this.recent.push(a.refused);
    if (a.refused) this.refusedInRecent++;
    if (this.recent.length > WINDOW && this.recent.shift()) this.refusedInRecent--;
    if (a.refused && this.refusedInRecent >= REFUSED_OF_WINDOW) this.decrease(a.delayMs, a.said);
  }

  /** Sustained throttling: halve the calls in flight, or at one, hold new calls the delay too. */
  private decrease(delayMs: number, said: string): void {
    const flight = Math.min(this.limit, this.peak);
    this.wanted ??= flight;
    this.epoch++;
    this.recent.length = 0;
    this.refusedInRecent = 0;
    this.peak = this.active;
    const held = this.allowed === 1;
    if (held) this.until = Math.max(this.until, this.clock.now() + delayMs);
    this.limit = Math.max(1, flight / 2);
    this.tell(true, delayMs, held, said);
  }

  private tell(throttled: boolean, waitMs: number, held: boolean, said: string): void {
    try {
      this.onPace?.({
        server: this.server,
        throttled,
        limit: this.allowed,
        max: Math.floor(this.wanted ?? this.max),
        waitMs,
        held,
        said,
      });
    } catch {
      // An observer's failure never stops a call.
    }
  }
}
