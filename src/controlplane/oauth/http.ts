/**
 * How the OAuth2 requests of every backend travel: over `fetch` (oauth4webapi's customFetch;
 * node-fetch.ts, which reaches every port), retried on what is transient — no answer, 5xx, 429 (its Retry-After honoured up to the
 * policy's longest delay) — with the backend's backoff policy, each attempt bounded by a
 * timeout. Plain http only to a loopback host (tests, a local control plane).
 */
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from '../../util/backoff.js';
import { SYSTEM_CLOCK } from '../../util/clock.js';
import { connectFailure, Reach } from '../../util/reach.js';
import { ControlPlaneError, unreachable } from '../errors.js';
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
 * A `fetch` that retries what is transient. Returns the last answer; throws UNAVAILABLE
 * naming the URL and the cause (never a header or a body) when none came: an UnreachableError
 * when nothing answered at all, after the fast-fail budget (util/reach.ts).
 */
export function retryingFetch(
  service: string,
  what: string,
  http: OAuthHttp,
): (url: string, init: RequestInit) => Promise<Response> {
  const policy = http.retry ?? DEFAULT_RETRY;
  const fetchFn = http.fetch ?? nodeFetch;
  const reach = http.reach ?? new Reach();
  return async (url, init) => {
    for (let attempt = 0; ; attempt++) {
      let res: Response | null = null;
      let cause = '';
      let failure = null;
      try {
        const signal = http.timeoutMs ? AbortSignal.timeout(http.timeoutMs) : init.signal;
        res = await fetchFn(url, { ...init, ...(signal ? { signal } : {}) });
        reach.answered = true;
      } catch (err) {
        failure = connectFailure(err);
        cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      }
      if (res && !transientStatus(res.status)) return res;
      if (attempt >= reach.budget(policy.maxRetries, failure)) {
        if (res) return res;
        if (failure) {
          // The token endpoint is what discovery named, not --control-plane.
          const advice = /token/.test(what)
            ? `the token endpoint is the one ${service}'s OAuth2 discovery names; is it running?`
            : undefined;
          const origin = new URL(url).origin;
          throw unreachable(`${service} ${what}`, service, origin, failure, attempt + 1, advice);
        }
        throw new ControlPlaneError(
          'UNAVAILABLE',
          `${service} ${what}: cannot reach ${url} (${cause}; ${attempt + 1} attempts)`,
        );
      }
      const retryAfter = Number(res?.headers.get('retry-after'));
      await res?.body?.cancel();
      const backoff = backoffDelay(attempt + 1, policy.minDelayMs, policy.maxDelayMs);
      const asked = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 0;
      await (http.sleep ?? SYSTEM_CLOCK.sleep)(
        Math.max(backoff, Math.min(asked, policy.maxDelayMs)),
      );
    }
  };
}
