/**
 * How the OAuth2 requests of every backend travel: over `fetch` (oauth4webapi's customFetch;
 * node-fetch.ts, which reaches every port), retried on what is transient — no answer, 5xx, 429
 * (its Retry-After honoured up to the policy's longest delay) — with the backend's backoff
 * policy, each attempt bounded by a timeout. Plain http only to a loopback host (tests, a local
 * control plane).
 */
import { connectFailure, Reach } from '../../util/reach.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../../util/backoff.js';
import { ControlPlaneError, unreachable } from '../errors.js';
import { retrying, type Attempt, type RetryLoop } from '../retry.js';
import { nodeFetch } from './node-fetch.js';

export interface OAuthHttp {
  fetch?: typeof fetch;
  retry?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  /** Per attempt; absent: no bound beyond the server's. */
  timeoutMs?: number;
  /**
   * Whether the server has answered yet (util/reach.ts): before it has, a failure to connect
   * gets the fast-fail budget. Shared with the backend's own calls when given; else each
   * fetcher starts knowing nothing.
   */
  reach?: Reach;
}

/** Loopback hosts may use plain http (tests, a local control plane); nothing else may. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

export const transientStatus = (status: number): boolean => status >= 500 || status === 429;

/** Whether oauth4webapi may send a request to `url` in clear text (a loopback host only). */
export const insecureAllowed = (url: string): boolean =>
  new URL(url).protocol === 'http:' && isLoopback(new URL(url).hostname);

/**
 * A `fetch` that retries what is transient (the one retry loop, ../retry.ts). Returns the last
 * answer; throws UNAVAILABLE naming the URL and the cause (never a header or a body) when none
 * came: an UnreachableError when nothing answered at all, after the fast-fail budget.
 */
export function retryingFetch(
  service: string,
  what: string,
  http: OAuthHttp,
): (url: string, init: RequestInit) => Promise<Response> {
  const fetchFn = http.fetch ?? nodeFetch;
  const loop: RetryLoop = {
    ...(http.retry ?? DEFAULT_RETRY),
    reach: http.reach ?? new Reach(),
    clock: http.sleep ? { now: Date.now, sleep: http.sleep } : undefined,
  };
  return async (url, init) => {
    try {
      return await retrying(loop, (n) => attempt(n, url, init));
    } catch (err) {
      if (err instanceof LastAnswer) return err.response;
      throw err;
    }
  };

  async function attempt(n: number, url: string, init: RequestInit): Promise<Attempt<Response>> {
    let res: Response;
    try {
      const signal = http.timeoutMs ? AbortSignal.timeout(http.timeoutMs) : init.signal;
      res = await fetchFn(url, { ...init, signal });
      loop.reach.answered = true;
    } catch (err) {
      const failure = connectFailure(err);
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      // The token endpoint is what discovery named, not --control-plane.
      const advice = /token/.test(what)
        ? `the token endpoint is the one ${service}'s OAuth2 discovery names; is it running?`
        : undefined;
      const origin = new URL(url).origin;
      return {
        ok: false,
        transient: true,
        failure,
        error: (attempts) =>
          failure
            ? unreachable(`${service} ${what}`, service, origin, failure, attempts, advice)
            : new ControlPlaneError(
                'UNAVAILABLE',
                `${service} ${what}: cannot reach ${url} (${cause}; ${attempts} attempts)`,
              ),
      };
    }
    if (!transientStatus(res.status)) return { ok: true, value: res };
    const retryAfter = Number(res.headers.get('retry-after'));
    const asked = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null;
    // The last answer is returned as it is: its caller says what it means.
    if (n < loop.reach.budget(loop.maxRetries, null)) await res.body?.cancel();
    return {
      ok: false,
      transient: true,
      throttled: { said: `HTTP ${res.status}`, delayMs: asked && Math.min(asked, loop.maxDelayMs) },
      error: () => new LastAnswer(res),
    };
  }
}

/** The answer to return when the retries of a transient status run out. */
class LastAnswer extends Error {
  constructor(readonly response: Response) {
    super('the last answer');
  }
}
