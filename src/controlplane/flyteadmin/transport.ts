/**
 * One REST call to flyteadmin's gateway: JSON in and out, the OAuth2 token as `Authorization:
 * Bearer` (which flyteadmin's HTTP gateway reads in every configuration, auth/handlers.go; the
 * `authorization_metadata_key` of /config/v1/flyte_client names the gRPC header), transient
 * failures (429, 5xx, connection errors, a body cut off after its headers) retried with
 * backoff and jitter, one token refresh on
 * 401, and grpc-gateway's `{code, message}` errors mapped to ControlPlaneError codes.
 *
 * As many connections as calls may be in flight (`connections`: --parallelism), every call
 * through the pacer (util/pacer.ts): a 429, or any answer with Retry-After, holds every call for
 * as long as flyteadmin asks (uncapped) and halves the calls in flight, which grow back.
 */
import { Pool, type Dispatcher } from 'undici';
import { backoffDelay, retryAfterMs } from '../../util/backoff.js';
import { SYSTEM_CLOCK, type Clock } from '../../util/clock.js';
import { Pacer, type PaceListener } from '../../util/pacer.js';
import { connectFailure, Reach } from '../../util/reach.js';
import { TRANSIENT_STATUS } from '../../util/transient-http.js';
import {
  ControlPlaneError,
  UnreachableError,
  unreachable,
  type ControlPlaneErrorCode,
} from '../errors.js';
import { flyteTokenSource, type ClientCredentials } from './auth.js';
import type { TokenSource } from '../oauth/token-source.js';

export interface TransportOptions {
  /** OAuth2 client credentials; null or absent: no auth (flyteadmin with useAuth off). */
  credentials?: ClientCredentials | null;
  requestTimeoutMs?: number;
  /** Retries after the first attempt of a transient failure (429, 5xx, connection errors). */
  maxRetries?: number;
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Calls in flight at most, and connections (--parallelism); default 32. */
  connections?: number;
  onPace?: PaceListener;
  /** Tests: virtual time for backoff and flyteadmin's delays. */
  clock?: Clock;
}

/** gRPC status code (grpc-gateway's error body `code`) → ControlPlaneError code. */
const GRPC_CODES: Record<number, ControlPlaneErrorCode> = {
  3: 'INVALID_ARGUMENT',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'UNAUTHENTICATED',
  9: 'FAILED_PRECONDITION',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

/** An attempt to be tried again after the backoff delay. */
const RETRY = Symbol('retry');

/** The body's text, or null when it was cut off; `problem` says what was wrong with it. */
async function readBody(
  res: Dispatcher.ResponseData,
): Promise<{ text: string | null; problem: string }> {
  try {
    const text = await res.body.text();
    return { text, problem: `HTTP ${res.statusCode} with a body that is not JSON` };
  } catch (err) {
    return {
      text: null,
      problem: `body cut off: ${(err as { code?: string }).code ?? (err as Error).message}`,
    };
  }
}

export class FlyteadminTransport {
  private readonly pool: Pool;
  readonly origin: string;
  readonly basePath: string;
  private readonly auth: TokenSource | null;
  private readonly maxRetries: number;
  private readonly minRetryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  /** Whether flyteadmin has answered yet: until then a failure to connect fails fast. */
  private readonly reach = new Reach();
  private readonly pacer: Pacer;
  private readonly clock: Clock;
  /**
   * Aborted by close(): a call waiting for its next attempt ends then, instead of retrying
   * against a closed pool for the whole backoff (an unreachable flyteadmin held a command's
   * process 18 s after its error was printed).
   */
  private readonly closing = new AbortController();

  /** `baseUrl` is the http(s) URL of flyteadmin (without the `flyteadmin+` prefix or a query). */
  constructor(baseUrl: string, opts: TransportOptions = {}) {
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    const timeout = opts.requestTimeoutMs ?? 30_000;
    this.maxRetries = opts.maxRetries ?? 6;
    this.minRetryDelayMs = opts.minRetryDelayMs ?? 100;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 10_000;
    const connections = opts.connections ?? 32;
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.pacer = new Pacer('flyteadmin', connections, this.clock, opts.onPace);
    this.pool = new Pool(this.origin, {
      connections,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      keepAliveTimeout: 30_000,
    });
    this.auth = opts.credentials
      ? // Each OAuth2 request is tried once: call() retries what is transient (UNAVAILABLE:
        // no answer, 5xx, a body cut off) with this transport's policy, as for its own calls.
        flyteTokenSource(this.origin, opts.credentials, {
          timeoutMs: timeout,
          retry: { maxRetries: 0, minDelayMs: 0, maxDelayMs: 0 },
          reach: this.reach,
        })
      : null;
  }

  async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      if (this.closing.signal.aborted)
        throw new ControlPlaneError(
          'UNAVAILABLE',
          `flyteadmin ${method} ${path}: the client was closed`,
        );
      const headers = await this.headersFor(method, path, body, attempt);
      if (headers === RETRY) {
        await this.backoff(attempt);
        continue;
      }
      const res = await this.pacer.run(() => this.send(method, path, headers, body, attempt));
      if (res === RETRY) {
        await this.backoff(attempt);
        continue;
      }
      this.reach.answered = true;
      if (res.statusCode !== 429) this.pacer.answered();
      // A body cut off after the headers (reset, closed short of its Content-Length, timeout)
      // or a 2xx body that is not JSON is transient like any network failure: retried.
      const { text, problem } = await readBody(res);
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      if (text !== null && ok) {
        try {
          return (text === '' ? {} : JSON.parse(text)) as T;
        } catch {
          // reported below
        }
      }
      if (text === null || ok) {
        if (attempt < this.maxRetries) {
          await this.backoff(attempt);
          continue;
        }
        throw new ControlPlaneError(
          'UNAVAILABLE',
          `${method} ${path}: flyteadmin's answer could not be read (${problem}), still failing after ${this.maxRetries} retries`,
        );
      }
      if (res.statusCode === 401 && this.auth && !refreshed) {
        refreshed = true;
        this.auth.invalidate();
        continue;
      }
      if (TRANSIENT_STATUS.includes(res.statusCode) && attempt < this.maxRetries) {
        // flyteadmin's own delay, uncapped, holds every call; else backoff for this one.
        const asked = retryAfterMs(res.headers['retry-after']);
        if (res.statusCode === 429 || asked !== null)
          this.pacer.throttled(asked ?? this.delay(attempt), `HTTP ${res.statusCode}`);
        else await this.backoff(attempt);
        continue;
      }
      throw this.apiError(method, path, res.statusCode, text);
    }
  }

  private delay(attempt: number): number {
    return backoffDelay(attempt + 1, this.minRetryDelayMs, this.maxRetryDelayMs);
  }

  /** A wait between attempts that close() ends at once. */
  private backoff(attempt: number): Promise<void> {
    return this.clock.sleep(this.delay(attempt), this.closing.signal);
  }

  /** The request's headers, the token included; RETRY when the token endpoint failed transiently. */
  private async headersFor(
    method: Dispatcher.HttpMethod,
    path: string,
    body: unknown,
    attempt: number,
  ): Promise<Record<string, string> | typeof RETRY> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.auth) {
      try {
        headers['authorization'] = `Bearer ${await this.auth.token()}`;
      } catch (err) {
        // A token endpoint that did not answer (or whose answer was cut off) is transient;
        // nothing listening at all gets the fast-fail budget, and is said as such.
        const transient = err instanceof ControlPlaneError && err.code === 'UNAVAILABLE';
        const failure = err instanceof UnreachableError ? err.failure : null;
        if (!transient || attempt >= this.reach.budget(this.maxRetries, failure)) {
          if (failure)
            throw unreachable(
              `flyteadmin ${method} ${path}`,
              'flyteadmin',
              this.origin,
              failure,
              attempt + 1,
            );
          throw err;
        }
        return RETRY;
      }
    }
    return headers;
  }

  /** The response's head; RETRY when flyteadmin could not be reached and the budget allows. */
  private async send(
    method: Dispatcher.HttpMethod,
    path: string,
    headers: Record<string, string>,
    body: unknown,
    attempt: number,
  ): Promise<Dispatcher.ResponseData | typeof RETRY> {
    try {
      return await this.pool.request({
        path: `${this.basePath}${path}`,
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (err) {
      const failure = connectFailure(err);
      if (attempt < this.reach.budget(this.maxRetries, failure)) return RETRY;
      const where = `${method} ${this.origin}${this.basePath}${path}`;
      if (failure) throw unreachable(where, 'flyteadmin', this.origin, failure, attempt + 1);
      const reason = (err as { code?: string }).code ?? (err as Error).message;
      throw new ControlPlaneError(
        'UNAVAILABLE',
        `${where}: cannot reach flyteadmin (${reason}, ${attempt + 1} attempts)`,
      );
    }
  }

  private apiError(method: string, path: string, status: number, text: string): ControlPlaneError {
    let payload: { code?: unknown; message?: unknown } = {};
    try {
      payload = JSON.parse(text) as typeof payload;
    } catch {
      // A proxy page, say: the status tells what we know.
    }
    const code =
      (typeof payload.code === 'number' ? GRPC_CODES[payload.code] : undefined) ??
      (status === 401 || status === 403
        ? 'UNAUTHENTICATED'
        : status === 404
          ? 'NOT_FOUND'
          : status >= 500
            ? 'UNAVAILABLE'
            : 'INVALID_ARGUMENT');
    const detail = typeof payload.message === 'string' ? payload.message : `HTTP ${status}`;
    const hint =
      code === 'UNAUTHENTICATED'
        ? this.auth
          ? ' (the token was refused: check the client id and secret and their scopes)'
          : ' (flyteadmin requires authentication: set POOLSYNC_FLYTE_CLIENT_ID and POOLSYNC_FLYTE_CLIENT_SECRET_FILE)'
        : '';
    return new ControlPlaneError(code, `flyteadmin ${method} ${path}: ${detail}${hint}`);
  }

  close(): Promise<void> {
    this.closing.abort();
    return this.pool.close();
  }
}
