/** Retry waits shared by every client that retries (control planes, forges, OAuth2, the daemon). */

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 6, minDelayMs: 100, maxDelayMs: 5_000 };

/** The REST and flyteadmin clients' waits, which the help and docs state (Union's: DEFAULT_RETRY's). */
export const HTTP_DELAYS = { minDelayMs: 100, maxDelayMs: 10_000 } as const;

/**
 * Exponential backoff with "equal jitter": retry `retry` (1-based) waits between half and all of
 * `baseMs * 2^(retry-1)`, capped at `maxMs`: never ~0 ms (no stampede), and jittered, so clients
 * failing together do not retry together.
 */
export function backoffDelay(
  retry: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Milliseconds a Retry-After header asks for (seconds or HTTP date), or null. */
export function retryAfterMs(
  value: string | string[] | undefined,
  now = Date.now(),
): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
