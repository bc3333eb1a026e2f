/**
 * How the OAuth2 requests of every backend travel: over `fetch` (oauth4webapi's customFetch),
 * retried on what is transient — no answer, 5xx, 429 (its Retry-After honoured up to the
 * policy's longest delay) — with the backend's backoff policy, each attempt bounded by a
 * timeout. Plain http only to a loopback host (tests, a local control plane).
 */
import { backoffDelay } from '../../util/backoff.js';
import { DEFAULT_RETRY, sleep as wait, type RetryPolicy } from '../../util/retry-policy.js';
import { ControlPlaneError } from '../errors.js';

export interface OAuthHttp {
  fetch?: typeof fetch;
  retry?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  /** Per attempt; absent: no bound beyond the server's. */
  timeoutMs?: number;
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
 * naming the URL and the cause (never a header or a body) when none came.
 */
export function retryingFetch(
  service: string,
  what: string,
  http: OAuthHttp,
): (url: string, init: RequestInit) => Promise<Response> {
  const policy = http.retry ?? DEFAULT_RETRY;
  const fetchFn = http.fetch ?? fetch;
  return async (url, init) => {
    for (let attempt = 0; ; attempt++) {
      let res: Response | null = null;
      let cause = '';
      try {
        const signal = http.timeoutMs ? AbortSignal.timeout(http.timeoutMs) : init.signal;
        res = await fetchFn(url, { ...init, ...(signal ? { signal } : {}) });
      } catch (err) {
        cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      }
      if (res && !transientStatus(res.status)) return res;
      if (attempt >= policy.maxRetries) {
        if (res) return res;
        throw new ControlPlaneError(
          'UNAVAILABLE',
          `${service} ${what}: cannot reach ${url} (${cause}; ${attempt + 1} attempts)`,
        );
      }
      const retryAfter = Number(res?.headers.get('retry-after'));
      await res?.body?.cancel();
      const backoff = backoffDelay(attempt + 1, policy.minDelayMs, policy.maxDelayMs);
      const asked = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 0;
      await (http.sleep ?? wait)(Math.max(backoff, Math.min(asked, policy.maxDelayMs)));
    }
  };
}
