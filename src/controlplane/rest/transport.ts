/**
 * The HTTP side of the poolsync REST API client (http-client.ts), on undici: one keep-alive
 * connection pool, the bearer token only ever in the Authorization header, and one retry loop
 * for every transient failure (`call`), plus whole lists read as page chains (`list`).
 */
import { Pool, type Dispatcher } from 'undici';
import {
  ControlPlaneError,
  ERROR_CODES,
  unreachable,
  type ControlPlaneErrorCode,
} from '../errors.js';
import type { ClientTuning } from '../opener.js';
import { retryDelayMs } from '../../util/backoff.js';
import { connectFailure, Reach } from '../../util/reach.js';
import {
  CONNECT_FAILURE_CODES,
  CONNECTION_LOST_CODES,
  TRANSIENT_STATUS,
} from '../../util/transient-http.js';

export interface HttpControlPlaneOptions extends ClientTuning {
  /** Bearer token (never logged). */
  token?: string;
}

interface Page<T> {
  items: T[];
  next_page_token: string | null;
  shard?: { index: number; count: number };
  /** Items in the whole list (servers that send it). */
  total?: number;
}

/** Transport failures worth a retry: the connect failures and those of a connection in use. */
const RETRY_ERROR_CODES = [
  ...CONNECT_FAILURE_CODES,
  ...CONNECTION_LOST_CODES,
  'ETIMEDOUT',
  'UND_ERR_CLOSED',
];
/**
 * Failures to connect at all (CONNECT_FAILURE_CODES): until the control plane has answered once,
 * they are retried only CONNECT_RETRIES times (0.1 s, 0.2 s; util/reach.ts, shared by every
 * backend): a wrong URL or a stopped server is reported in well under a second, not after the
 * whole --max-retries backoff (about 21 s). Once it has answered, they get the full budget:
 * then they are a restart or a rolling update, worth riding out.
 */
export { CONNECT_RETRIES } from '../../util/reach.js';

const STATUS_CODES: Record<number, ControlPlaneErrorCode> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'UNAUTHENTICATED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  413: 'INVALID_ARGUMENT',
  503: 'UNAVAILABLE',
};

export interface Attempts {
  retried: boolean;
  /** Retries made (the last failure's counter). */
  count?: number;
}

interface RetryableError extends Error {
  code?: string;
}

export class RestTransport {
  private readonly pool: Pool;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly token: string | undefined;
  private readonly maxRetries: number;
  private readonly minRetryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly pageSize: number;
  private readonly listShards: number;
  /** The control plane has answered at least once (see CONNECT_FAILURE_CODES). */
  private readonly reach = new Reach();

  constructor(baseUrl: string, opts: HttpControlPlaneOptions = {}) {
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.token = opts.token && opts.token.length > 0 ? opts.token : undefined;
    this.maxRetries = opts.maxRetries ?? 8;
    this.minRetryDelayMs = opts.minRetryDelayMs ?? 100;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 10_000;
    // The API's largest page (MAX_PAGE_SIZE, schemas/control-plane.openapi.yaml): latency, not
    // payload, dominates a remote read, so fewer round trips win.
    this.pageSize = opts.pageSize ?? 5000;
    const requestTimeout = opts.requestTimeoutMs ?? 30_000;
    const connections = Math.max(1, opts.connections ?? 32);
    this.listShards = Math.max(1, Math.min(64, opts.listShards ?? Math.min(16, connections)));
    this.pool = new Pool(this.origin, {
      connections,
      connect: { timeout: opts.connectTimeoutMs ?? 5_000 },
      headersTimeout: requestTimeout,
      bodyTimeout: requestTimeout,
      keepAliveTimeout: 30_000,
    });
  }

  /** The control plane's address, for messages (never carries credentials). */
  get url(): string {
    return `${this.origin}${this.basePath}`;
  }

  /**
   * One API call; throws ControlPlaneError. Returns the parsed body (undefined for 204).
   * One retry loop for every transient failure (quality.md): a connection error or timeout,
   * 429/5xx (honouring Retry-After), and a body that cannot be read whole after its headers (a
   * reset, a connection closed short of its Content-Length, a body timeout) or a 2xx body that
   * is not JSON. The whole call is made again: never a resumed (Range) request, which would
   * repeat a write. `attempts.retried` tells a write's "may have landed" check. Until the control
   * plane has answered once, a failure to connect gets only CONNECT_RETRIES retries.
   */
  async call<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: unknown,
    attempts: Attempts = { retried: false },
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const payload = body === undefined ? null : JSON.stringify(body);
    for (let retry = 0; ; retry++) {
      const result = await this.attempt(method, path, headers, payload);
      if (result.ok) return result.value as T;
      const failure =
        result.code !== undefined && CONNECT_FAILURE_CODES.includes(result.code)
          ? connectFailure(result.code)
          : null;
      const budget = this.reach.budget(this.maxRetries, failure);
      if (retry >= budget) {
        if (result.code !== undefined) throw this.transportError(method, path, result.code, retry);
        throw new ControlPlaneError(
          'UNAVAILABLE',
          `${method} ${this.url}${path}: ${result.reason}, still failing after ${retry} retries`,
        );
      }
      attempts.retried = true;
      const delay = retryDelayMs(
        retry + 1,
        result.retryAfter,
        this.minRetryDelayMs,
        this.maxRetryDelayMs,
      );
      // Not unref'd: a pending retry is work in progress and must keep a CLI process alive.
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /**
   * One attempt: the parsed body, a transient failure to retry (`code`: a transport failure
   * before any answer), or a thrown permanent error.
   */
  private async attempt(
    method: Dispatcher.HttpMethod,
    path: string,
    headers: Record<string, string>,
    payload: string | null,
  ): Promise<
    { ok: true; value: unknown } | { ok: false; reason: string; code?: string; retryAfter?: string }
  > {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.pool.request({
        path: `${this.basePath}${path}`,
        method,
        headers,
        body: payload,
      });
    } catch (err) {
      const e = err as RetryableError;
      const code = e.code ?? e.message ?? String(err);
      if (RETRY_ERROR_CODES.includes(code)) return { ok: false, reason: code, code };
      throw this.transportError(method, path, code, 0);
    }
    this.reach.answered = true;
    const status = response.statusCode;
    let text: string;
    try {
      text = await response.body.text();
    } catch (err) {
      const e = err as RetryableError;
      return {
        ok: false,
        reason: `the control plane's answer could not be read (body cut off: ${e.code ?? e.message})`,
      };
    }
    if (TRANSIENT_STATUS.includes(status)) {
      const header = response.headers['retry-after'];
      return {
        ok: false,
        reason: `the control plane is unavailable (HTTP ${status})`,
        ...(header !== undefined ? { retryAfter: Array.isArray(header) ? header[0] : header } : {}),
      };
    }
    if (status < 200 || status >= 300) throw this.apiError(method, path, status, text);
    if (text === '') return { ok: true, value: undefined };
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch {
      return {
        ok: false,
        reason: `the control plane's answer could not be read (HTTP ${status} with a body that is not JSON)`,
      };
    }
  }

  private apiError(method: string, path: string, status: number, text: string): ControlPlaneError {
    let payload: { code?: unknown; message?: unknown; address?: unknown; rule?: unknown } = {};
    try {
      payload = JSON.parse(text) as typeof payload;
    } catch {
      // Not our API (a proxy page, say): fall back to the status.
    }
    const code = ERROR_CODES.includes(payload.code as ControlPlaneErrorCode)
      ? (payload.code as ControlPlaneErrorCode)
      : (STATUS_CODES[status] ?? (status >= 500 ? 'UNAVAILABLE' : 'INVALID_ARGUMENT'));
    let message =
      typeof payload.message === 'string'
        ? payload.message
        : `${method} ${this.url}${path} answered HTTP ${status}`;
    if (status === 401 || status === 403) message += `; ${this.tokenHint()}`;
    return new ControlPlaneError(
      code,
      message,
      typeof payload.address === 'string' ? payload.address : null,
      typeof payload.rule === 'string' ? payload.rule : null,
    );
  }

  /** What to do about a 401/403: the token is missing, or not this control plane's. */
  private tokenHint(): string {
    return this.token === undefined
      ? 'no token was sent: set POOLSYNC_TOKEN (or POOLSYNC_TOKEN_FILE), or pass --token-file FILE'
      : 'the token was refused: check the token in POOLSYNC_TOKEN / POOLSYNC_TOKEN_FILE / --token-file is the one of this control plane';
  }

  /** A failure to reach the control plane (`reason`: the transport's code), with what to do. */
  private transportError(
    method: string,
    path: string,
    reason: string,
    retries: number,
  ): ControlPlaneError {
    const tries = `${retries + 1} attempt${retries === 0 ? '' : 's'}`;
    if (/^(ERR_SSL_|EPROTO$)/.test(reason) && this.origin.startsWith('https:')) {
      const plain = `http:${this.origin.slice('https:'.length)}`;
      return new ControlPlaneError(
        'UNAVAILABLE',
        `${method} ${this.url}${path}: the TLS handshake failed (${reason}): the server does not speak HTTPS; ` +
          `if it is a plain-HTTP server (\`poolsync control-plane serve\` is), use --control-plane ${plain}${this.basePath}`,
      );
    }
    const failure = CONNECT_FAILURE_CODES.includes(reason) ? connectFailure(reason) : null;
    if (failure)
      return unreachable(
        `${method} ${this.url}${path}`,
        'the control plane',
        this.origin,
        failure,
        retries + 1,
      );
    return new ControlPlaneError(
      'UNAVAILABLE',
      `${method} ${this.url}${path}: cannot reach the control plane (${reason}, ${tries})`,
    );
  }

  private page<T>(
    path: string,
    token: string | null,
    shard: { index: number; count: number } | null,
  ): Promise<Page<T>> {
    let query = `?limit=${this.pageSize}`;
    if (token) query += `&page_token=${encodeURIComponent(token)}`;
    if (shard) query += `&shards=${shard.count}&shard=${shard.index}`;
    return this.call('GET', `${path}${query}`);
  }

  /** Follows one page chain from `token` to its end. */
  private async chain<T>(
    path: string,
    token: string | null,
    shard: { index: number; count: number } | null,
    into: T[],
  ): Promise<boolean> {
    do {
      const page: Page<T> = await this.page<T>(path, token, shard);
      // A server that ignores `shards` answers the whole list: not a shard of it.
      if (shard && page.shard?.count !== shard.count) return false;
      for (const item of page.items) into.push(item);
      token = page.next_page_token;
    } while (token);
    return true;
  }

  /**
   * A whole list, sorted by key as the API sorts it. The first page is read alone (most lists
   * fit one page); the rest is read as `listShards` shard chains at once and merged, so 50,000
   * queues take 1 + ⌈45,000 ÷ (shards × page)⌉ round trips in a row instead of 10.
   */
  async list<T>(path: string, keyOf: (item: T) => string): Promise<T[]> {
    const first = await this.page<T>(path, null, null);
    const after = first.next_page_token;
    if (!after) return first.items;
    const rest: T[] = [];
    // As many shard chains as pages remain (when the server says how many items there are).
    const remainingPages =
      typeof first.total === 'number'
        ? Math.ceil((first.total - first.items.length) / this.pageSize)
        : Infinity;
    const count = Math.max(1, Math.min(this.listShards, remainingPages));
    const sharded =
      count > 1 &&
      (
        await Promise.all(
          Array.from({ length: count }, (_, index) =>
            this.chain(path, after, { index, count }, rest),
          ),
        )
      ).every(Boolean);
    if (!sharded) {
      rest.length = 0;
      await this.chain(path, after, null, rest);
      return [...first.items, ...rest];
    }
    const keyed = rest.map((item) => [keyOf(item), item] as const);
    keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return [...first.items, ...keyed.map(([, item]) => item)];
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
