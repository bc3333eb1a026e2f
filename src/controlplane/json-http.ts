/**
 * JSON over HTTP to one server on undici (rest/, flyteadmin/): one keep-alive pool, the token
 * only ever in the Authorization header, every call through the one retry loop (retry.ts).
 *
 * Retried: a failure to connect, a connection lost or timed out, 429 and 5xx (waiting the
 * server's Retry-After) and a body cut off after its headers. The whole call is made again, never a resumed (Range) request, which would repeat a write;
 * `sent.retried` tells a write's "may have landed" check.
 *
 * Bounded (util/transport-limits.ts) by undici's own options (headersTimeout and bodyTimeout are
 * time without a byte; undici's request never decompresses) and by the call's deadline.
 */
import type { Socket } from 'node:net';
import { buildConnector, Pool, type Dispatcher } from 'undici';
import { retryAfterMs } from '../util/backoff.js';
import { Pacer } from '../util/pacer.js';
import {
  CONNECT_FAILURE_CODES,
  CONNECTION_LOST_CODES,
  TRANSIENT_STATUS,
  type ConnectFailure,
  describeLostConnection,
  oversizedHeaders,
  HTTPS_PORT_PAGE,
  notJsonWords,
  PROXY_REFUSED,
  Reach,
  redirectWords,
} from '../util/reach.js';
import type { RetryPolicy } from '../util/backoff.js';
import {
  CallDeadline,
  HANDSHAKE_TIMEOUT,
  handshakeWords,
  LimitError,
  limitOf,
  noticeSilence,
  type Heard,
  type TransportLimits,
} from '../util/transport-limits.js';
import { ControlPlaneError, UnreachableError, unavailable, unreachable } from './errors.js';
import type { ClientTuning } from './opener.js';
import { limitFailed, retrying, type Attempt, type Failed } from './retry.js';

const RETRY_ERROR_CODES = [
  ...CONNECT_FAILURE_CODES,
  ...CONNECTION_LOST_CODES,
  'ETIMEDOUT',
  'UND_ERR_CLOSED',
];

export interface JsonHttpOptions extends Pick<
  ClientTuning,
  'onPace' | 'onWait' | 'signal' | 'clock'
> {
  /** Who answers, in messages and pace events: `the control plane`, `flyteadmin`. */
  service: string;
  /** A call as messages name it: `GET http://host/v1/pools`, `flyteadmin GET /api/v1/…`. */
  label: (method: string, path: string) => string;
  /** The error of an answer neither 2xx nor transient (a proxy's page: body {}). */
  apiError: (method: string, path: string, status: number, body: ErrorBody) => ControlPlaneError;
  /** `refused`, where a token can be fetched anew: a 401 then sends the call once more. */
  /** `asking`: the token request, which a call's notice and deadline name while it waits on it. */
  auth?: { header(): Promise<string>; refused?(): void; readonly asking?: string } | undefined;
  /** What to say when https:// meets a plain-HTTP server, given the URL to use instead. */
  plainHttpHint?: ((plain: string) => string) | undefined;
  /** How --control-plane names a server at a URL: `flyteadmin+${url}`; default the URL itself. */
  urlSetting?: ((url: string) => string) | undefined;
  /** What to do when the server answers in another protocol than HTTP/1.1 (a gRPC port). */
  notHttp1Advice?: string | undefined;
  retry: RetryPolicy;
  limits: TransportLimits;
  connections: number;
  /** Shared with its token requests (util/reach.ts). */
  reach?: Reach | undefined;
}

/** An error answer's body, as far as it is JSON. */
export type ErrorBody = Partial<
  Record<'code' | 'message' | 'address' | 'rule' | 'endpoints', unknown>
>;

export class JsonHttp {
  readonly origin: string;
  readonly basePath: string;
  private readonly pool: Pool;
  private readonly reach: Reach;
  private readonly pacer: Pacer;
  private readonly closing = new AbortController();
  private readonly stop: AbortSignal;

  constructor(
    baseUrl: string,
    private readonly o: JsonHttpOptions,
  ) {
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.reach = o.reach ?? new Reach();
    this.stop = o.signal ? AbortSignal.any([this.closing.signal, o.signal]) : this.closing.signal;
    this.pacer = new Pacer(o.service, o.connections, o.clock, o.onPace);
    this.pool = new Pool(this.origin, {
      connections: o.connections,
      connect: handshakeTold(this.origin, o.limits),
      headersTimeout: o.limits.readTimeoutMs,
      bodyTimeout: o.limits.readTimeoutMs,
      maxResponseSize: o.limits.maxResponseBytes,
      keepAliveTimeout: 30_000,
    });
  }

  /** Never carries credentials. */
  get url(): string {
    return `${this.origin}${this.basePath}`;
  }

  /** The parsed body (undefined when empty); throws ControlPlaneError. */
  call<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: unknown,
    sent: { retried: boolean } = { retried: false },
  ): Promise<T> {
    const label = this.o.label(method, path);
    const payload = body === undefined ? null : JSON.stringify(body);
    const { clock, limits } = this.o;
    // Wall time, as its timer: the injected clock paces waits, never the whole call's bound.
    const deadline = new CallDeadline(limits, undefined, label);
    const waitedFor = () => deadline.waitingOn ?? this.url;
    const heard = noticeSilence(limits, waitedFor, this.o.onWait, clock, this.o.retry.maxRetries);
    const { reach, pacer, stop } = this;
    const read = method === 'GET' || method === 'HEAD';
    const loop = {
      ...this.o.retry,
      reach,
      pacer,
      clock,
      deadline,
      label,
      signal: stop,
      read,
      heard,
    };
    return retrying(loop, async (n) => {
      if (n > 0) sent.retried = true;
      return this.attempt<T>(method, path, label, payload, deadline, heard);
    }).finally(() => {
      heard();
      deadline.done();
    });
  }

  private async attempt<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    label: string,
    payload: string | null,
    deadline: CallDeadline,
    heard: Heard,
  ): Promise<Attempt<T>> {
    const { service } = this.o;
    const signal = AbortSignal.any([deadline.signal, this.stop]);
    const again = (why: string): Failed => ({
      ok: false,
      transient: true,
      error: (n) => unavailable(`${label}: ${why}, still failing after ${n - 1} retries`),
    });
    let res: Dispatcher.ResponseData;
    for (let refreshed = false; ; refreshed = true) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (payload !== null) headers['content-type'] = 'application/json';
      // Still named after a failed token request, through the backoff that follows it.
      const { auth } = this.o;
      deadline.waitingFor = auth?.asking !== undefined ? () => auth.asking! : null;
      try {
        if (this.o.auth) headers.authorization = await untilAborted(this.o.auth.header(), signal);
      } catch (err) {
        return this.authFailure(err, label);
      }
      deadline.waitingFor = null;
      try {
        res = await this.pool.request({
          path: `${this.basePath}${path}`,
          method,
          headers,
          body: payload,
          signal,
        });
      } catch (err) {
        return this.transportFailure(err, label);
      }
      heard();
      this.reach.answered = true;
      if (res.statusCode !== 401 || !this.o.auth?.refused || refreshed) break;
      await res.body.dump();
      this.o.auth.refused();
    }
    const status = res.statusCode;
    // Never inflated (a gzip bomb), nor retried: the same server compresses the next answer too.
    const encoding = res.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      res.body.destroy();
      return {
        ok: false,
        transient: false,
        error: () =>
          unavailable(
            `${label}: ${service} answered HTTP ${status} compressed (Content-Encoding: ${String(encoding)}), which poolsync does not ask for and does not inflate: make the server or proxy in between answer uncompressed`,
          ),
      };
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      const e = err as { code?: string; message: string };
      return (
        limitFailed(err, label, this.o.limits) ??
        again(`${service}'s answer could not be read (body cut off: ${e.code ?? e.message})`)
      );
    }
    if (TRANSIENT_STATUS.includes(status)) {
      const asked = retryAfterMs(res.headers['retry-after']);
      const throttled = status === 429 || asked !== null;
      return {
        ...again(`${service} is unavailable (HTTP ${status})`),
        throttled: throttled ? { said: `HTTP ${status}`, delayMs: asked } : undefined,
      };
    }
    // Not the server's answer: a proxy's, which no retry or other body changes.
    if (status === 407) throw unavailable(`${label}: ${PROXY_REFUSED}`);
    if (status === 400 && this.origin.startsWith('http:') && HTTPS_PORT_PAGE.test(text))
      throw this.unreached(label, { kind: 'tls-answer', code: 'HTTP 400' }, 1);
    if (status >= 300 && status < 400)
      throw this.redirected(label, path, status, res.headers.location);
    if (status < 200 || status >= 300) throw this.o.apiError(method, path, status, errorBody(text));
    if (text === '') return { ok: true, value: undefined as T };
    try {
      return { ok: true, value: JSON.parse(text) as T };
    } catch {
      // A whole answer that is no JSON (a web page) is another server's: no retry changes it.
      const type = res.headers['content-type'];
      throw unavailable(
        `${label}: ${notJsonWords(service, status, type)}: is --control-plane (env POOLSYNC_CONTROL_PLANE) the URL of ${service}'s API, not of a web page or another server?`,
      );
    }
  }

  /** The argument is wrong, not the server down: INVALID_ARGUMENT, never retried. */
  private redirected(label: string, path: string, status: number, location?: string | string[]) {
    const { service, urlSetting } = this.o;
    const words = redirectWords(location, new URL(`${this.url}${path}`), this.url, {
      setting: 'correct --control-plane (env POOLSYNC_CONTROL_PLANE)',
      urlOf: urlSetting,
    });
    return new ControlPlaneError(
      'INVALID_ARGUMENT',
      `${label}: ${service} answered HTTP ${status}, ${words}`,
    );
  }

  /**
   * Transient when the token endpoint did not answer (UNAVAILABLE). The token request's own error
   * names it (oauth.ts), never this call's server; only the call's deadline is this call's.
   */
  private authFailure(err: unknown, label: string): Failed {
    if (!(err instanceof ControlPlaneError))
      return (
        limitFailed(err, label, this.o.limits) ?? {
          ok: false,
          transient: false,
          error: () => err as Error,
        }
      );
    const failure = err instanceof UnreachableError ? err.failure : null;
    return {
      ok: false,
      // Headers or a body too large: the token endpoint answers the same way again.
      transient:
        err.code === 'UNAVAILABLE' && oversizedHeaders(err) === null && limitOf(err) !== 'size',
      failure,
      // Discovery asks this server: its words; a token endpoint elsewhere: the token request's.
      error: (n) =>
        !(err instanceof UnreachableError)
          ? err
          : err.origin === this.origin
            ? this.unreached(label, err.failure, n)
            : err.after(n),
    };
  }

  /** Which port to give instead, when one answered in another protocol, is the backend's to say. */
  private unreached(label: string, failure: ConnectFailure, attempts: number) {
    const { service, limits, notHttp1Advice } = this.o;
    const advice = failure.kind === 'not-http1' ? notHttp1Advice : undefined;
    return unreachable(label, service, this.origin, failure, attempts, limits, advice);
  }

  /** No answer at all: retried when it is a failure to connect or a connection lost. */
  private transportFailure(err: unknown, label: string): Failed {
    const limited = limitFailed(err, label, this.o.limits);
    if (limited) return limited;
    // Answered: the same server answers the same way, and its URL is likely right.
    const answered = oversizedHeaders(err);
    if (answered)
      return { ok: false, transient: false, error: () => unavailable(`${label}: ${answered}`) };
    const e = err as { code?: string; message?: string };
    const code = e.code ?? e.message ?? String(err);
    const failure = this.reach.failureOf(err);
    const plain = `http:${this.origin.slice('https:'.length)}${this.basePath}`;
    return {
      ok: false,
      transient: failure !== null || RETRY_ERROR_CODES.includes(code),
      failure,
      error: (n) => {
        const hint = this.o.plainHttpHint;
        if (hint && /^(ERR_SSL_|EPROTO$)/.test(code) && this.origin.startsWith('https:'))
          return unavailable(
            `${label}: the TLS handshake failed (${code}): the server does not speak HTTPS; ${hint(plain)}`,
          );
        if (failure) return this.unreached(label, failure, n);
        const tries = `${n} attempt${n === 1 ? '' : 's'}`;
        const lost = describeLostConnection(err, this.origin);
        return unavailable(
          lost
            ? `${label}: no answer from ${this.o.service}: ${lost}, ${tries}`
            : `${label}: cannot reach ${this.o.service} (${code}, ${tries})`,
        );
      },
    };
  }

  /**
   * Every call still in flight is abandoned (`closing`), so nothing is left to finish: the pool
   * is destroyed, not closed. undici 7's close never settles once a connection failed its
   * certificate's name check (ERR_TLS_CERT_ALTNAME_INVALID) with a call waiting on it (the call
   * stays counted as running), and a command closing its control plane after that error waited
   * on nothing: exit 13, no message (issue 78).
   */
  close(): Promise<void> {
    this.closing.abort(new Error('the client was closed'));
    return this.pool.destroy();
  }
}

/**
 * undici's connector, whose connect timeout (TCP and TLS together) says which of the two got no
 * answer: a port that accepts TCP but never answers TLS is no firewall dropping packets.
 */
function handshakeTold(origin: string, limits: TransportLimits): buildConnector.connector {
  const connect = buildConnector({ timeout: limits.connectTimeoutMs });
  return (options, callback) => {
    // undici's connector returns its socket, which its type does not say.
    const socket = connect(options, (err, made) => {
      if (err && !socket.connecting && options.protocol === 'https:' && limitOf(err) === 'connect')
        return callback(
          new LimitError('connect', handshakeWords(limits, origin), HANDSHAKE_TIMEOUT, {
            cause: err,
          }),
          null,
        );
      // undici's callback type splits the two cases; the connector calls it with one or the other.
      if (err) callback(err, null);
      else callback(null, made!);
    }) as unknown as Socket;
    return socket;
  };
}

/** `promise`, or the signal's reason once it aborts first. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason as Error);
    signal.addEventListener('abort', stop, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

function errorBody(text: string): ErrorBody {
  try {
    const body = JSON.parse(text) as unknown;
    return typeof body === 'object' && body !== null ? body : {};
  } catch {
    return {};
  }
}
