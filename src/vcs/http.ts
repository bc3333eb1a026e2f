/**
 * The one HTTP path of the pull-request integrations: JSON in and out, retries of what is
 * transient, the forges' rate-limit rules (docs/pull-request-comments.md#rate-limits), and
 * errors that never carry the token. GitHub: `Retry-After` waited in full, else with
 * `x-ratelimit-remaining: 0` until `x-ratelimit-reset`, else (a secondary limit) at least a
 * minute, doubling; GitLab: 429 with `Retry-After` or `RateLimit-Reset`. A limit, used up or
 * secondary, holds every request of that token in this process until its end. No call waits
 * past its deadline (POOLSYNC_RATE_LIMIT_WAIT): one that would have to stops at once and says
 * when it resets. A call, its retries and their waits, is bounded as every client's is
 * (util/transport-limits.ts), a rate limit's wait excepted.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { backoffDelay, retryAfterMs } from '../util/backoff.js';
import { plural } from '../render/common.js';
import { durationRefusal, formatDuration, parseDuration } from '../util/duration.js';
import { SYSTEM_CLOCK } from '../util/clock.js';
import {
  CONNECT_FAILURE_CODES,
  CONNECTION_LOST_CODES,
  noAnswerWords,
  oversizedHeaders,
  Reach,
  redirectWords,
  TRANSIENT_STATUS,
} from '../util/reach.js';
import {
  ANSWER_BYTES,
  CallDeadline,
  LIMIT_SETTINGS,
  limitOf,
  limitWords,
  transportLimits,
  type TransportLimits,
} from '../util/transport-limits.js';
import { VcsApiError, VcsConfigError, type ProviderName, type RetryTuning } from './types.js';
import type { Env } from '../util/env.js';
import { refuseUrlCredentials } from '../util/url-credentials.js';

export const DEFAULT_RATE_LIMIT_WAIT_MS = 10 * 60_000;

/** POOLSYNC_RATE_LIMIT_WAIT (`10m`, `1h`, `0s`). */
export function rateLimitWait(env: Env): number {
  const raw = env.POOLSYNC_RATE_LIMIT_WAIT?.trim();
  if (!raw) return DEFAULT_RATE_LIMIT_WAIT_MS;
  const ms = parseDuration(raw);
  if (ms === null)
    throw new VcsConfigError(`POOLSYNC_RATE_LIMIT_WAIT: ${durationRefusal(raw, '10m, 1h or 0s')}.`);
  return ms;
}

export interface ApiCall {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Below the API base URL, or an absolute URL on the same origin (pagination links). */
  path: string;
  body?: unknown;
  /** For error messages: `list comments of pull request #4`. */
  operation: string;
  /**
   * Repeating it would duplicate something (a comment): retried when provably never sent, or
   * when `landed` says a failure of unclear outcome (a 5xx, a connection lost) did not make it.
   */
  nonIdempotent?: boolean;
  /** Whether it was carried out after all: yes ends the call, answering `null` (LANDED). */
  landed?: () => Promise<boolean>;
}

/** The answer of a call `landed` found carried out. */
const LANDED: ApiResponse = { headers: {}, json: null };

export interface ApiResponse {
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
}

/** A non-2xx response's message; `attempts`: how many were made; `url`: the one called. */
export type ErrorMapper = (
  status: number,
  serverMessage: string,
  call: ApiCall,
  attempts: number,
  url: URL,
) => string;

/** How many attempts a call made; `cut`: its deadline leaves no room for another now. */
interface Tried {
  attempts: number;
  cut: () => boolean;
}

/** The request was never sent (a DNS lookup to try again too). */
const NOT_SENT_CODES = [...CONNECT_FAILURE_CODES, 'EAI_AGAIN'];

type Headers = ApiResponse['headers'];

export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A reset header's epoch seconds, as ms. */
function resetMs(headers: Headers): number | null {
  const raw = header(headers, 'x-ratelimit-reset') ?? header(headers, 'ratelimit-reset');
  const seconds = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
}

/**
 * What a rate-limited answer asks to wait (null when it is no rate limit: 429, or GitHub's 403
 * with Retry-After, remaining 0 or a "rate limit" message); `secondary` when it said no time.
 */
function limitWait(
  status: number,
  headers: Headers,
  server: string,
  now: number,
  secondaryBefore: number,
): { ms: number; secondary: boolean } | null {
  const remaining =
    header(headers, 'x-ratelimit-remaining') ?? header(headers, 'ratelimit-remaining');
  const asked = retryAfterMs(headers['retry-after'], now);
  const limited =
    status === 429 ||
    (status === 403 && (asked !== null || remaining === '0' || /rate limit/i.test(server)));
  if (!limited) return null;
  if (asked !== null) return { ms: asked, secondary: false };
  const reset = resetMs(headers);
  if (reset !== null && remaining === '0')
    return { ms: Math.max(0, reset - now), secondary: false };
  // A secondary limit that names no time: at least a minute, longer each time.
  return { ms: 60_000 * 2 ** secondaryBefore, secondary: true };
}

/** Per API and token (whichever client sends): no request before this. */
const heldUntil = new Map<string, number>();

export interface ApiClientOptions {
  provider: ProviderName;
  baseUrl: string;
  /** The credential included: never logged or echoed in errors. */
  headers: Record<string, string>;
  /** Never in an error message (the token). */
  secrets: string[];
  mapError: ErrorMapper;
  /** A redirect's advice (util/reach.ts redirectWords); default `correct --api-url`. */
  redirect?: { setting: string; within: string };
  retry?: RetryTuning;
}

export class ApiClient {
  readonly baseUrl: URL;
  private readonly agent: Agent;
  private readonly tuning: Required<Omit<RetryTuning, 'limits'>>;
  private readonly limits: TransportLimits;
  /** Whether the API answered yet: a connection it closes is then no TLS port (util/reach.ts). */
  private readonly reach = new Reach();
  /** What a rate limit and an identity belong to. */
  readonly tokenKey: string;

  constructor(private readonly opts: ApiClientOptions) {
    this.baseUrl = new URL(opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`);
    this.tuning = {
      maxRetries: opts.retry?.maxRetries ?? 4,
      minDelayMs: opts.retry?.minDelayMs ?? 500,
      maxDelayMs: opts.retry?.maxDelayMs ?? 30_000,
      deadlineMs: opts.retry?.deadlineMs ?? DEFAULT_RATE_LIMIT_WAIT_MS,
      clock: opts.retry?.clock ?? SYSTEM_CLOCK,
    };
    this.tokenKey = `${this.baseUrl.href}\0${opts.secrets.join('\0')}`;
    const limits = (this.limits = opts.retry?.limits ?? transportLimits({}, {}));
    this.agent = new Agent({
      connect: { timeout: limits.connectTimeoutMs },
      headersTimeout: limits.readTimeoutMs,
      bodyTimeout: limits.readTimeoutMs,
      maxResponseSize: ANSWER_BYTES.forge,
    });
  }

  /** Refuses to send the token to another origin. */
  resolve(path: string): URL {
    if (/^https?:\/\//i.test(path)) {
      const url = new URL(path);
      if (url.origin !== this.baseUrl.origin)
        throw this.fail(
          null,
          `${this.opts.provider} API returned a link to another host (${url.origin}); refusing to send the token there.`,
        );
      return url;
    }
    return new URL(path.replace(/^\//, ''), this.baseUrl);
  }

  async call(call: ApiCall): Promise<ApiResponse> {
    const { clock, maxRetries, minDelayMs, maxDelayMs } = this.tuning;
    const deadline = clock.now() + this.tuning.deadlineMs;
    // One bound for the call, its retries and their waits (a body trickled a byte at a time
    // ends); a rate limit's wait has its own deadline (deadlineMs), and the bound starts after it.
    let bound = new CallDeadline(this.limits, Date.now, call.operation);
    const afterLimit = async (wait: Promise<void>) => {
      await wait;
      bound.done();
      bound = new CallDeadline(this.limits, Date.now, call.operation);
    };
    let secondary = 0;
    try {
      for (let attempt = 1; ; attempt++) {
        const held = (heldUntil.get(this.tokenKey) ?? 0) - clock.now();
        if (held > 0) await afterLimit(this.waitLimit(call, held, deadline, attempt - 1));
        const backoff = backoffDelay(attempt, minDelayMs, maxDelayMs);
        // No retry starts that would end after the call's deadline.
        const cut = () => attempt <= maxRetries && !bound.allows(backoff);
        const tried = { attempts: attempt, cut };
        const again = () => attempt <= maxRetries && bound.allows(backoff);
        let res: Dispatcher.ResponseData | 'again' | 'landed';
        let text: string;
        try {
          res = await this.send(call, tried, again, bound.signal);
          if (res === 'landed') return LANDED;
          if (res === 'again') {
            await clock.sleep(backoff);
            continue;
          }
          text = await res.body.text();
        } catch (err) {
          if (err instanceof VcsApiError) throw err;
          const limited = this.limited(call, err, tried);
          if (limited) throw limited;
          // Cut off after the headers: made again, unless it must not repeat and may have landed.
          const next = await this.unclear(call);
          if (next === 'landed') return LANDED;
          if (next === 'stop' || !again()) throw this.cutOff(call, err, tried);
          await clock.sleep(backoff);
          continue;
        }
        const headers = res.headers;
        if (header(headers, 'x-ratelimit-remaining') === '0') {
          const reset = resetMs(headers);
          if (reset !== null) heldUntil.set(this.tokenKey, reset);
        }
        let json: unknown = text === '' ? null : text;
        try {
          json = JSON.parse(text);
        } catch {
          // The text itself.
        }
        if (res.statusCode >= 200 && res.statusCode < 300) {
          // The forges answer JSON or nothing: anything else (a proxy's page, a compressed body)
          // would be read as an answer with no field.
          if (typeof json === 'string')
            throw this.fail(
              res.statusCode,
              `${this.opts.provider} API at ${this.baseUrl.origin} answered HTTP ${res.statusCode} to ${call.operation} with a body that is not JSON: is --api-url the forge's API?`,
            );
          return { headers, json };
        }
        const server = this.redact(describeServerBody(json)).slice(0, 500);
        const limit = limitWait(res.statusCode, headers, server, clock.now(), secondary);
        if (limit?.secondary) secondary++;
        // Every limit holds the token, a secondary one too (GitHub: "do not make requests until
        // the retry-after time"): no request of it goes out before then, from any client.
        if (limit !== null)
          heldUntil.set(
            this.tokenKey,
            Math.max(heldUntil.get(this.tokenKey) ?? 0, clock.now() + limit.ms),
          );
        let transient = TRANSIENT_STATUS.includes(res.statusCode);
        if (transient && limit === null && call.nonIdempotent) {
          const next = await this.unclear(call);
          if (next === 'landed') return LANDED;
          transient = next === 'repeat';
        }
        if (attempt > maxRetries || (limit === null && (!transient || !again()))) {
          const url = this.resolve(call.path);
          const { redirect = { setting: 'correct --api-url' } } = this.opts;
          const message =
            res.statusCode >= 300 && res.statusCode < 400
              ? `${this.opts.provider} API answered HTTP ${res.statusCode} to ${call.operation}, ${redirectWords(headers.location, url, this.baseUrl.href, redirect)}.`
              : this.opts.mapError(res.statusCode, server, call, attempt, url);
          throw this.fail(res.statusCode, message, limit && clock.now() + limit.ms);
        }
        if (limit === null) await clock.sleep(backoff);
        else await afterLimit(this.waitLimit(call, limit.ms, deadline, attempt, res.statusCode));
      }
    } finally {
      bound.done();
    }
  }

  /** Waits for a rate limit, or stops at once when its end comes after the deadline. */
  private async waitLimit(
    call: ApiCall,
    ms: number,
    deadline: number,
    attempts: number,
    status: number | null = null,
  ): Promise<void> {
    const { clock } = this.tuning;
    if (clock.now() + ms > deadline) {
      const until = new Date(clock.now() + ms).toISOString().replace(/\.\d+Z$/, 'Z');
      const made =
        attempts === 0 ? 'before sending a request' : `after ${plural(attempts, 'attempt')}`;
      throw this.fail(
        status,
        `${this.opts.provider} rate limit: no request may be sent until ${until} (in ${formatDuration(ms)}), ` +
          `longer than poolsync waits (${formatDuration(this.tuning.deadlineMs)}, POOLSYNC_RATE_LIMIT_WAIT); ` +
          `stopped ${made} to ${call.operation}. Try again after ${until}.`,
        clock.now() + ms,
      );
    }
    await clock.sleep(ms);
  }

  /** `again`: it failed on the way and may be made again; `landed`: ApiCall.landed found it made. */
  private async send(
    call: ApiCall,
    tried: Tried,
    retriesLeft: () => boolean,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData | 'again' | 'landed'> {
    const url = this.resolve(call.path);
    const headers: Record<string, string> = { accept: 'application/json', ...this.opts.headers };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await request(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        dispatcher: this.agent,
        signal,
      });
      this.reach.answered = true;
      return res;
    } catch (err) {
      const limited = this.limited(call, err, tried);
      if (limited) throw limited;
      const e = err as Error & { code?: string };
      const code = e.code ?? '';
      // Never sent: always again; sent and lost: as unclear says. A connection that timed out
      // is not tried again (packets dropped: each try is the whole connect timeout; util/reach.ts
      // fails it fast the same way).
      const unsent = NOT_SENT_CODES.includes(code);
      if (limitOf(err) !== 'connect' && (unsent || CONNECTION_LOST_CODES.includes(code))) {
        const next = unsent ? 'repeat' : await this.unclear(call);
        if (next === 'landed') return 'landed';
        if (next === 'repeat' && retriesLeft()) return 'again';
      }
      const timedOut = this.limited(call, err, tried, true);
      if (timedOut) throw timedOut;
      const answered = oversizedHeaders(err);
      if (answered)
        throw this.fail(
          null,
          `${this.opts.provider} API at ${this.baseUrl.origin}, to ${call.operation}: ${answered}`,
        );
      throw this.fail(
        null,
        `${this.opts.provider} API at ${this.baseUrl.origin} could not be reached to ${call.operation}` +
          `${this.triedWords(tried)}: ${noAnswerWords(err, this.baseUrl.origin, '--api-url', this.limits.proxyVariable, this.reach)}`,
      );
    }
  }

  /**
   * After a failure that leaves unclear whether `call` was carried out: made again, ended by
   * what it made, or (a call that must not repeat, which `landed` cannot clear) not repeated.
   */
  private async unclear(call: ApiCall): Promise<'repeat' | 'landed' | 'stop'> {
    if (!call.nonIdempotent) return 'repeat';
    const landed = await call.landed?.().catch(() => null);
    return landed === true ? 'landed' : landed === false ? 'repeat' : 'stop';
  }

  /**
   * A limit that ends the call (util/transport-limits.ts), said with it; else null. Connect and
   * read timeouts are retried as failures on the way are, and said as such once none is left.
   */
  private limited(call: ApiCall, err: unknown, tried: Tried, final = false): VcsApiError | null {
    const limit = limitOf(err);
    if (limit === null || (!final && (limit === 'connect' || limit === 'read'))) return null;
    const size = limit === 'size';
    // Forge calls read the variables only (no --read-timeout flag reaches them).
    const cap = size ? ANSWER_BYTES.forge : undefined;
    const words = limitWords(limit, this.limits, cap, err, false);
    return this.fail(
      null,
      `${this.opts.provider} API at ${this.baseUrl.origin}, to ${call.operation}: ${words}${size ? '' : this.triedWords(tried, limit !== 'call')}`,
      null,
      !size,
    );
  }

  /** ` (tried 3 times)`, and (`deadline`) when the call's deadline left no room for another, so. */
  private triedWords({ attempts, cut }: Tried, deadline = true): string {
    const { env } = LIMIT_SETTINGS.call;
    const why =
      deadline && cut()
        ? `; no retry fits in ${formatDuration(this.limits.callTimeoutMs)}, the deadline of one call with its retries (env ${env})`
        : '';
    return ` (tried ${plural(attempts, 'time')}${why})`;
  }

  private cutOff(call: ApiCall, err: unknown, tried: Tried): VcsApiError {
    const e = err as Error & { code?: string };
    if (limitOf(err) === 'read' && !call.nonIdempotent)
      return this.limited(call, err, tried, true)!;
    return this.fail(
      null,
      `${this.opts.provider} API at ${this.baseUrl.origin} answered but its response to ${call.operation} was cut off (${e.code ?? e.message})` +
        (call.nonIdempotent
          ? '; the change may have been made, and is found again on the next run.'
          : `${this.triedWords(tried)}. Check the network.`),
    );
  }

  private fail(
    status: number | null,
    message: string,
    retryAt: number | null = null,
    outOfTime = false,
  ) {
    return new VcsApiError(this.opts.provider, status, this.redact(message), retryAt, outOfTime);
  }

  private redact(text: string): string {
    let out = text;
    for (const s of this.opts.secrets) if (s.length > 0) out = out.split(s).join('***');
    return out;
  }

  /**
   * Destroyed, not closed: undici 7's close never settles once a connection failed its
   * certificate's name check with a call waiting on it (controlplane/json-http.ts, issue 78), as
   * the reads of a comment's pages in parallel may leave; the caller has moved on by then.
   */
  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

/** From GitHub's `{message, errors}` or GitLab's `{message|error}`. */
function describeServerBody(json: unknown): string {
  if (typeof json === 'string') return plainExcerpt(json);
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

/** A body that is no JSON (a proxy's HTML page): its text without markup, on one short line. */
function plainExcerpt(text: string): string {
  const plain = text
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;|&#160;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > 200 ? `${plain.slice(0, 199)}…` : plain;
}

/** From an RFC 8288 Link header. */
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
 * The items of `first` and each page after it (`next`: null at the end). Bounded, and stops on
 * a page seen before, so a server that loops cannot hold a run forever.
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

/** `--api-url`; `use` says what to write instead. */
export function parseApiUrl(raw: string, use: string): URL {
  if (!URL.canParse(raw))
    throw new VcsConfigError(`--api-url ${JSON.stringify(raw)} is not a URL: use ${use}.`);
  const url = new URL(raw);
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new VcsConfigError(`--api-url must be an http(s) URL, got ${url.protocol}`);
  try {
    refuseUrlCredentials(raw, '--api-url', 'the token in GITHUB_TOKEN or GITLAB_TOKEN');
  } catch (err) {
    throw new VcsConfigError((err as Error).message);
  }
  return url;
}
