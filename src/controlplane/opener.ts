/**
 * Each backend folder exports one BackendOpener (its `opener.ts`) and open.ts lists them, so
 * adding a backend is one folder and one line there. An opener loads its client on demand, so a
 * URL of one backend never pays for another's libraries (undici, connect, protobuf) at start-up.
 */
import type { Clock } from '../util/clock.js';
import type { Env } from '../util/env.js';
import type { PaceListener } from '../util/pacer.js';
import type { RetryPolicy } from '../util/backoff.js';
import {
  DEFAULT_LIMITS,
  type TransportLimits,
  type WaitListener,
} from '../util/transport-limits.js';
import type { ControlPlane } from './types.js';

/**
 * Only what every network backend reads is declared here; each backend declares its own options
 * in its `opener.ts` (`declare module '../opener.js' { interface OpenOptions { … } }`), so
 * neither this file nor open.ts imports a backend's types.
 */
export interface OpenOptions {
  http?: ClientTuning;
  /**
   * Where a backend reads its credentials and settings (POOLSYNC_UNION_API_KEY, POOLSYNC_FLYTE_*,
   * KUBECONFIG): the CLI's or the daemon's environment, passed down; none when not given.
   */
  env?: Env;
}

export interface ClientTuning {
  limits?: TransportLimits | undefined;
  maxRetries?: number;
  /** Backoff: first delay; doubles per retry, capped at maxRetryDelayMs, with jitter. */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** The server allows at least 500. */
  pageSize?: number;
  /**
   * Calls in flight at once, and connections to carry them (--parallelism; default 32): lowered
   * while the server throttles (util/pacer.ts).
   */
  connections?: number;
  /** Told when the server throttles and when it stops (apply prints it as progress). */
  onPace?: PaceListener;
  /** Told when a call has waited a few seconds without an answer (the CLI says so). */
  onWait?: WaitListener;
  /**
   * Shard page chains read at once for a list longer than one page (the API's `shards`/`shard`),
   * default min(16, connections); 1 reads page after page.
   */
  listShards?: number;
  /** Tests: virtual time for backoff, the server's delays, token refresh and wait notices. */
  clock?: Clock;
  /** A daemon's leadership term: once it aborted nothing starts, calls in flight are abandoned. */
  signal?: AbortSignal;
}

export const limitsOf = (tuning: ClientTuning): TransportLimits => tuning.limits ?? DEFAULT_LIMITS;

export function retryPolicy(tuning: ClientTuning, defaults: RetryPolicy): RetryPolicy {
  return {
    maxRetries: tuning.maxRetries ?? defaults.maxRetries,
    minDelayMs: tuning.minRetryDelayMs ?? defaults.minDelayMs,
    maxDelayMs: tuning.maxRetryDelayMs ?? defaults.maxDelayMs,
  };
}

export interface BackendOpener {
  /** For the message naming every form (e.g. `union+https://HOST for …`). */
  readonly forms: string;
  /** Checked in open.ts's order: the first match opens it. */
  matches(url: string): boolean;
  open(url: string, opts: OpenOptions): Promise<ControlPlane>;
}
