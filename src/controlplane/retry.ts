/**
 * The one retry loop of every backend's calls: the REST and flyteadmin clients (json-http.ts),
 * the union backend's RPCs (union/transport.ts) and the OAuth2 requests before them
 * (oauth.ts). What an attempt met is the caller's to say (`Failed`: transient or not, a
 * failure to connect, the server's delay); the loop owns the rest (quality.md: transient
 * failures retried, the server's throttling obeyed):
 *
 * - the budget: `maxRetries`, but a failure to connect before the server has answered once
 *   gets the fast-fail budget (util/reach.ts), so a wrong URL is said within a second;
 * - the wait: the delay the server gives (uncapped), else backoff with jitter, slept by the
 *   refused call alone on the injected clock, ended at once by `signal` (a client closing);
 *   the client's pacer (util/pacer.ts) bounds the calls in flight and lowers them only while
 *   the server keeps refusing.
 */
import { backoffDelay } from '../util/backoff.js';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import type { Answer, Pacer } from '../util/pacer.js';
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
}

/** Runs `attempt` (0, 1, …) until it answers, a failure is permanent or the budget is spent. */
export async function retrying<T>(
  loop: RetryLoop,
  attempt: (n: number) => Promise<Attempt<T>>,
): Promise<T> {
  const { pacer, reach, clock = SYSTEM_CLOCK } = loop;
  for (let n = 0; ; n++) {
    const backoff = backoffDelay(n + 1, loop.minDelayMs, loop.maxDelayMs);
    const got = pacer
      ? await pacer.run(
          () => attempt(n),
          (g) => answer(g, backoff),
        )
      : await attempt(n);
    if (got.ok) return got.value;
    if (!got.transient || n >= reach.budget(loop.maxRetries, got.failure ?? null))
      throw got.error(n + 1);
    // The server's own delay, uncapped, for this call only.
    await clock.sleep(got.throttled?.delayMs ?? backoff, loop.signal);
  }
}

/** What an attempt tells the pacer: answered, refused (with the delay it waits), or neither. */
function answer(got: Attempt<unknown>, backoff: number): Answer {
  if (got.ok) return { refused: false };
  const t = got.throttled;
  return t ? { refused: true, delayMs: t.delayMs ?? backoff, said: t.said } : null;
}
