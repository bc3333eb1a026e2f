/**
 * The one HTTP path of the pull-request integrations: undici's RetryAgent with a retry
 * policy for transient failures (connection errors, 429, 5xx, rate limits with
 * Retry-After), JSON in and out, and errors that never carry the token.
 */
import { Agent, RetryAgent, request, type Dispatcher } from 'undici';
import { backoffDelay, retryAfterMs } from '../util/backoff.js';
import {
  CONNECT_FAILURE_CODES,
  CONNECTION_LOST_CODES,
  TRANSIENT_STATUS,
} from '../util/transient-http.js';
import { VcsApiError, VcsConfigError, type ProviderName } from './types.js';

export interface RetryTuning {
  /** Retries after the first attempt (default 4). */
  maxRetries?: number;
  /** First backoff; doubles per retry, with jitter (default 500 ms). */
  minDelayMs?: number;
  /** Cap on any one wait, Retry-After included (default 30 s). */
  maxDelayMs?: number;
}

export interface ApiCall {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  /** Path below the API base URL (`/repos/o/r/...`), or an absolute URL on the same origin (pagination links). */
  path: string;
  body?: unknown;
  /** What the call does, for error messages: `list comments of pull request #4`. */
  operation: string;
  /**
   * A call whose repetition would duplicate something (creating a comment): retried only
   * when the request provably never reached the server (connection refused, 429).
   */
  nonIdempotent?: boolean;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
}

/** Turns a non-2xx response into the provider's clear error. */
export type ErrorMapper = (
  status: number,
  serverMessage: string,
  call: ApiCall,
  attempts: number,
) => string;

/** Connection failures where the request was never sent (a DNS lookup to try again too). */
const NOT_SENT_CODES = [...CONNECT_FAILURE_CODES, 'EAI_AGAIN'];

interface RetryableError {
  statusCode?: number;
  code?: string;
  headers?: Record<string, string | string[] | undefined>;
}

function header(headers: RetryableError['headers'], name: string): string | undefined {
  const v = headers?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The retry policy plugged into RetryAgent: which failures are transient, and how long to
 * wait (Retry-After when the server says, else exponential backoff with jitter).
 */
function retryPolicy(tuning: Required<RetryTuning>, nonIdempotent: boolean) {
  const retryCodes = nonIdempotent ? NOT_SENT_CODES : [...NOT_SENT_CODES, ...CONNECTION_LOST_CODES];
  return (
    err: Error,
    { state }: { state: { counter: number } },
    callback: (err?: Error | null) => void,
  ): void => {
    const e = err as Error & RetryableError;
    if (state.counter > tuning.maxRetries) return callback(err);
    const status = e.statusCode;
    let retry: boolean;
    if (status !== undefined && e.code === 'UND_ERR_REQ_RETRY') {
      // GitHub's secondary rate limit answers 403 with Retry-After (or remaining 0).
      const rateLimited =
        status === 403 &&
        (header(e.headers, 'retry-after') !== undefined ||
          header(e.headers, 'x-ratelimit-remaining') === '0');
      retry = nonIdempotent
        ? status === 429 || rateLimited
        : TRANSIENT_STATUS.includes(status) || rateLimited;
    } else {
      retry = e.code !== undefined && retryCodes.includes(e.code);
    }
    if (!retry) return callback(err);
    const asked = retryAfterMs(e.headers?.['retry-after']);
    const delay =
      asked !== null
        ? Math.min(asked, tuning.maxDelayMs)
        : backoffDelay(state.counter, tuning.minDelayMs, tuning.maxDelayMs);
    setTimeout(() => callback(null), delay);
  };
}

export interface ApiClientOptions {
  provider: ProviderName;
  baseUrl: string;
  /** Provider headers, the credential included; never logged or echoed in errors. */
  headers: Record<string, string>;
  /** Values that must never appear in an error message (the token). */
  secrets: string[];
  mapError: ErrorMapper;
  retry?: RetryTuning;
}

export class ApiClient {
  readonly baseUrl: URL;
  private readonly agent: Agent;
  private readonly idempotent: Dispatcher;
  private readonly once: Dispatcher;
  private readonly tuning: Required<RetryTuning>;

  constructor(private readonly opts: ApiClientOptions) {
    this.baseUrl = new URL(opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`);
    this.tuning = {
      maxRetries: opts.retry?.maxRetries ?? 4,
      minDelayMs: opts.retry?.minDelayMs ?? 500,
      maxDelayMs: opts.retry?.maxDelayMs ?? 30_000,
    };
    this.agent = new Agent({
      connect: { timeout: 10_000 },
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const common = {
      maxRetries: this.tuning.maxRetries,
      methods: ['GET', 'POST', 'PATCH', 'PUT'] as Dispatcher.HttpMethod[],
      // Every error status reaches the policy, which decides; the last answer keeps its body.
      statusCodes: [...TRANSIENT_STATUS, 403],
      errorCodes: [...NOT_SENT_CODES, ...CONNECTION_LOST_CODES],
      throwOnError: false,
    };
    this.idempotent = new RetryAgent(this.agent, {
      ...common,
      retry: retryPolicy(this.tuning, false),
    });
    this.once = new RetryAgent(this.agent, { ...common, retry: retryPolicy(this.tuning, true) });
  }

  get attempts(): number {
    return this.tuning.maxRetries + 1;
  }

  /** Resolves a path or same-origin absolute URL; refuses to send the token elsewhere. */
  resolve(path: string): URL {
    if (/^https?:\/\//i.test(path)) {
      const url = new URL(path);
      if (url.origin !== this.baseUrl.origin) {
        throw new VcsApiError(
          this.opts.provider,
          null,
          `${this.opts.provider} API returned a link to another host (${url.origin}); refusing to send the token there.`,
        );
      }
      return url;
    }
    return new URL(path.replace(/^\//, ''), this.baseUrl);
  }

  async call(call: ApiCall): Promise<ApiResponse> {
    for (let cut = 0; ; cut++) {
      const res = await this.send(call);
      // A body cut off after the headers (reset, closed short of its Content-Length, body
      // timeout) is transient: an idempotent call is made again within the retry budget; a
      // call that must not repeat (a new comment) says its answer was lost.
      let text: string;
      try {
        text = await res.body.text();
      } catch (err) {
        const e = err as Error & { code?: string };
        if (!call.nonIdempotent && cut < this.tuning.maxRetries) {
          await new Promise((r) =>
            setTimeout(r, backoffDelay(cut + 1, this.tuning.minDelayMs, this.tuning.maxDelayMs)),
          );
          continue;
        }
        throw new VcsApiError(
          this.opts.provider,
          null,
          this.redact(
            `${this.opts.provider} API at ${this.baseUrl.origin} answered but its response to ${call.operation} was cut off (${e.code ?? e.message})` +
              (call.nonIdempotent
                ? '; the change may have been made, and is found again on the next run.'
                : ` (tried ${this.attempts} times). Check the network.`),
          ),
        );
      }
      return this.answer(call, res, text);
    }
  }

  private async send(call: ApiCall): Promise<Dispatcher.ResponseData> {
    const url = this.resolve(call.path);
    const headers: Record<string, string> = { accept: 'application/json', ...this.opts.headers };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await request(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        dispatcher: call.nonIdempotent ? this.once : this.idempotent,
      });
    } catch (err) {
      const e = err as Error & { code?: string };
      const retried =
        e.code !== undefined && NOT_SENT_CODES.concat(CONNECTION_LOST_CODES).includes(e.code);
      throw new VcsApiError(
        this.opts.provider,
        null,
        this.redact(
          `${this.opts.provider} API at ${this.baseUrl.origin} could not be reached to ${call.operation}` +
            `${retried ? ` (tried up to ${this.attempts} times)` : ''}: ${e.message || e.code}. ` +
            'Check --api-url and the network.',
        ),
      );
    }
  }

  private answer(call: ApiCall, res: Dispatcher.ResponseData, text: string): ApiResponse {
    let json: unknown = null;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      return { status: res.statusCode, headers: res.headers, json };
    }
    const serverMessage = this.redact(describeServerBody(json)).slice(0, 500);
    throw new VcsApiError(
      this.opts.provider,
      res.statusCode,
      this.redact(this.opts.mapError(res.statusCode, serverMessage, call, this.attempts)),
    );
  }

  private redact(text: string): string {
    let out = text;
    for (const s of this.opts.secrets) if (s.length > 0) out = out.split(s).join('***');
    return out;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The server's own explanation, from GitHub's `{message, errors}` or GitLab's `{message|error}`. */
export function describeServerBody(json: unknown): string {
  if (typeof json === 'string') return json.trim();
  if (json === null || typeof json !== 'object') return '';
  const o = json as Record<string, unknown>;
  const parts: string[] = [];
  const message = o.message ?? o.error;
  if (typeof message === 'string') parts.push(message);
  else if (message !== undefined) parts.push(JSON.stringify(message));
  if (Array.isArray(o.errors)) {
    for (const e of o.errors) {
      if (typeof e === 'string') parts.push(e);
      else if (e && typeof e === 'object') {
        const r = e as Record<string, unknown>;
        parts.push(
          typeof r.message === 'string'
            ? r.message
            : [r.resource, r.field, r.code].filter((x) => typeof x === 'string').join(' '),
        );
      }
    }
  }
  return parts.filter((p) => p !== '').join('; ');
}

/** The URL of the next page from an RFC 8288 Link header, or null. */
export function nextLink(value: string | string[] | undefined): string | null {
  const raw = Array.isArray(value) ? value.join(',') : value;
  if (!raw) return null;
  for (const part of raw.split(',')) {
    const m = /<([^>]+)>\s*;(.*)$/.exec(part.trim());
    if (m && /\brel="?next"?/.test(m[2] ?? '')) return m[1] ?? null;
  }
  return null;
}

/** A bound on pagination, far above any real pull request (100 per page). */
const MAX_PAGES = 1000;

/**
 * GETs `first` and each page after it (`next` names the following page from a response,
 * null at the end) and returns the items of all pages. Bounded, and stops on a page seen
 * before, so a server that loops cannot hold a run forever.
 */
export async function listPages(
  api: ApiClient,
  first: string,
  operation: string,
  next: (res: ApiResponse) => string | null,
): Promise<unknown[]> {
  const items: unknown[] = [];
  let path: string | null = first;
  const seen = new Set<string>();
  for (let page = 0; path !== null && page < MAX_PAGES; page++) {
    if (seen.has(path)) break;
    seen.add(path);
    const res = await api.call({ method: 'GET', path, operation });
    if (!Array.isArray(res.json)) break;
    items.push(...(res.json as unknown[]));
    path = next(res);
  }
  return items;
}

/** `--api-url`: an http(s) URL, else a clear error; `use` says what to write instead. */
export function parseApiUrl(raw: string, use: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new VcsConfigError(`--api-url ${JSON.stringify(raw)} is not a URL: use ${use}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new VcsConfigError(`--api-url must be an http(s) URL, got ${url.protocol}`);
  }
  return url;
}
