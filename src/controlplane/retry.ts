/**
 * The one retry loop of every backend's calls: the REST and flyteadmin clients (json-http.ts),
 * the union backend's RPCs (union/transport.ts) and the OAuth2 requests before them
 * (oauth.ts). What an attempt met is the caller's to say (`Failed`: transient or not, a
 * failure to connect, the server's delay); the loop owns the rest (quality.md: transient
 * failures retried, the server's throttling obeyed):
 *
 * - the budget: `maxRetries`, but a failure to connect before the server has answered once
 *   gets the fast-fail budget (util/reach.ts), so a wrong URL is said within a second;
 * - the wait: backoff with jitter on the injected clock, ended at once by `signal` (a client
 *   closing); a delay the server gives holds every call of the client through its pacer
 *   (util/pacer.ts), which also bounds the calls in flight and lowers them while it throttles;
 * - the time: no wait goes past the call's `deadline` (util/transport-limits.ts): a failure
 *   whose retry would end after it is the last, said with the deadline that stopped it.
 */
import { backoffDelay } from '../util/backoff.js';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import type { Pacer } from '../util/pacer.js';
import type { ConnectFailure, Reach } from '../util/reach.js';
import type { RetryPolicy } from '../util/backoff.js';

/** What an attempt met, when it did not answer. */
export interface Failed {
  ok: false;
  /** Worth another attempt (within the budget). */
  transient: boolean;
  /** Nothing was sent (util/reach.ts): before the server has answered, the fast-fail budget. */
  failure?: ConnectFailure | null | undefined;
  /** The server throttled: `said` for the pace events, its delay (else the backoff's). */
  throttled?: { said: string; delayMs: number | null } | undefined;
  /** The error once no attempt is left, told how many were made. */
  error: (attempts: number) => Error;
}

export type Attempt<T> = { ok: true; value: T } | Failed;

export interface RetryLoop extends RetryPolicy {
  reach: Reach;
  pacer?: Pacer | undefined;
  clock?: Clock | undefined;
  /** Aborted when the client closes: a wait ends at once. */
  signal?: AbortSignal | undefined;
  /** The call's time budget: whether a wait fits in it, and the last error once it does not. */
  deadline?: { allows(ms: number): boolean; stopped(last: Error): Error } | undefined;
}

/** Runs `attempt` (0, 1, …) until it answers, a failure is permanent or the budget is spent. */
export async function retrying<T>(
  loop: RetryLoop,
  attempt: (n: number) => Promise<Attempt<T>>,
): Promise<T> {
  const { pacer, reach, clock = SYSTEM_CLOCK } = loop;
  for (let n = 0; ; n++) {
    const got = pacer ? await pacer.run(() => attempt(n)) : await attempt(n);
    if (got.ok) {
      pacer?.answered();
      return got.value;
    }
    if (!got.transient || n >= reach.budget(loop.maxRetries, got.failure ?? null))
      throw got.error(n + 1);
    const backoff = backoffDelay(n + 1, loop.minDelayMs, loop.maxDelayMs);
    const asked = got.throttled ? (got.throttled.delayMs ?? backoff) : null;
    if (loop.deadline && !loop.deadline.allows(asked ?? backoff))
      throw loop.deadline.stopped(got.error(n + 1));
    // The server's own delay, uncapped; with a pacer it holds every call, not only this one.
    if (asked !== null && pacer) pacer.throttled(asked, got.throttled!.said);
    else await clock.sleep(asked ?? backoff, loop.signal);
  }
}
