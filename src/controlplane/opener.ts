/**
 * How open.ts reaches a backend: each backend folder exports one BackendOpener (its `opener.ts`)
 * and open.ts lists them, so adding a backend is one folder and one line there. An opener is
 * small: it loads its client on demand, so a URL of one backend never pays for another's
 * libraries (undici, connect, protobuf) at start-up.
 */
import type { Clock } from '../util/clock.js';
import type { Env } from '../util/env.js';
import type { PaceListener } from '../util/pacer.js';
import type { RetryPolicy } from '../util/backoff.js';
import { DEFAULT_LIMITS, type TransportLimits } from '../util/transport-limits.js';
import type { ControlPlane } from './types.js';

/**
 * What opening a control plane may be told. Only what every network backend reads is declared
 * here (`http`); each backend declares its own options in its folder's `opener.ts`, by
 * augmenting this interface (`declare module '../opener.js' { interface OpenOptions { … } }`),
 * so neither this file nor open.ts imports a backend's types.
 */
export interface OpenOptions {
  /** Tuning of the network clients (rest, union, flyteadmin: each reads what applies). */
  http?: ClientTuning;
  /**
   * The variables a backend reads its credentials and settings from (POOLSYNC_UNION_API_KEY,
   * POOLSYNC_FLYTE_*, KUBECONFIG): the CLI's or the daemon's environment, passed down; none when
   * not given.
   */
  env?: Env;
}

/** Timeouts, retries and connections of a network client. */
export interface ClientTuning {
  /** Connect, read and call timeouts and the answer's size (default: DEFAULT_LIMITS). */
  limits?: TransportLimits | undefined;
  /** Retries after the first attempt. */
  maxRetries?: number;
  /** Backoff: first delay; doubles per retry, capped at maxRetryDelayMs, with jitter. */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Items per list page (the server allows at least 500). */
  pageSize?: number;
  /**
   * Calls to the control plane in flight at once, and connections to carry them (plan, apply,
   * daemon: --parallelism; default 32): lowered while the server throttles (util/pacer.ts).
   */
  connections?: number;
  /** Told when the server throttles and when it stops (apply prints it as progress). */
  onPace?: PaceListener;
  /**
   * A list longer than one page is read as this many shard page chains at once (the API's
   * `shards`/`shard`), default min(16, connections); 1 reads page after page.
   */
  listShards?: number;
  /** Tests: virtual time for backoff and the server's delays. */
  clock?: Clock;
  /**
   * Ends every call of the client (a daemon's leadership term): no attempt or retry starts
   * once it aborted, and the calls in flight are abandoned.
   */
  signal?: AbortSignal;
}

/** The limits `tuning` asks for, else the defaults. */
export const limitsOf = (tuning: ClientTuning): TransportLimits => tuning.limits ?? DEFAULT_LIMITS;

/** The retry policy `tuning` asks for, else the backend's own. */
export function retryPolicy(tuning: ClientTuning, defaults: RetryPolicy): RetryPolicy {
  return {
    maxRetries: tuning.maxRetries ?? defaults.maxRetries,
    minDelayMs: tuning.minRetryDelayMs ?? defaults.minDelayMs,
    maxDelayMs: tuning.maxRetryDelayMs ?? defaults.maxDelayMs,
  };
}

export interface BackendOpener {
  /** The URL forms it opens, for the message naming every form (e.g. `union+https://HOST for …`). */
  readonly forms: string;
  /** Whether the URL is this backend's (checked in open.ts's order: the first match opens it). */
  matches(url: string): boolean;
  open(url: string, opts: OpenOptions): Promise<ControlPlane>;
}
