/**
 * How a backend retries what is transient: the union backend's RPCs (union/transport.ts) and
 * the OAuth2 requests before every backend's calls (controlplane/oauth/) share one policy,
 * exponential backoff with jitter.
 */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 6, minDelayMs: 100, maxDelayMs: 5_000 };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
