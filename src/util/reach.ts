/**
 * Fast, clear failures when nothing answers (issue 35), and what an HTTP client may try again
 * (quality.md). A failure to connect at all is told apart from a connection lost mid-call:
 * nothing was sent, any call may be retried. Until an endpoint has answered once it gets at most
 * CONNECT_RETRIES retries (TLS and timeouts none), so a wrong URL is reported within a second;
 * then failures (a restart, a rolling update) get the whole --max-retries budget.
 */

/** Statuses that say "later": rate limited, or a server or gateway failing. */
export const TRANSIENT_STATUS: readonly number[] = [429, 500, 502, 503, 504];

/** Failures to connect at all (nothing listens, no such host, no route): nothing was sent. */
export const CONNECT_FAILURE_CODES: readonly string[] = [
  'ECONNREFUSED',
  'ENOTFOUND',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
];

/** Failures of a connection in use: the request may have reached the server. */
export const CONNECTION_LOST_CODES: readonly string[] = [
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
];

/** Retries of a failure to connect before the endpoint has answered once. */
export const CONNECT_RETRIES = 2;

export interface ConnectFailure {
  kind: 'refused' | 'dns' | 'unreachable' | 'tls' | 'timeout';
  /** The system's code: ECONNREFUSED, ENOTFOUND, ERR_SSL_WRONG_VERSION_NUMBER… */
  code: string;
}

const TLS_CODE =
  /^(ERR_SSL_|ERR_TLS_|EPROTO$|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(VERIFY|GET)_)/;

/** The codes of an error and of its causes, outermost first (fetch hides them in `cause`). */
export function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    // AggregateError (happy eyeballs: every address refused).
    if (e instanceof AggregateError) for (const inner of e.errors) codes.push(...errorCodes(inner));
  }
  return codes;
}

/** A failure to connect at all (nothing was sent), from an error or a code; else null. */
export function connectFailure(errOrCode: unknown): ConnectFailure | null {
  const codes = typeof errOrCode === 'string' ? [errOrCode] : errorCodes(errOrCode);
  for (const code of codes) {
    if (code === 'ECONNREFUSED') return { kind: 'refused', code };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME')
      return { kind: 'dns', code };
    if (
      code === 'UND_ERR_CONNECT_TIMEOUT' ||
      code === 'ETIMEDOUT' ||
      code === 'POOLSYNC_LIMIT_CONNECT'
    )
      return { kind: 'timeout', code };
    if (TLS_CODE.test(code)) return { kind: 'tls', code };
    if (CONNECT_FAILURE_CODES.includes(code)) return { kind: 'unreachable', code };
  }
  return null;
}

/** A connection lost after the request may have been sent (reset, cut off); else null. */
export function connectionLost(err: unknown): string | null {
  for (const code of errorCodes(err))
    if (
      CONNECTION_LOST_CODES.includes(code) ||
      code === 'ERR_STREAM_PREMATURE_CLOSE' ||
      code.startsWith('ERR_HTTP2_')
    )
      return code;
  return null;
}

/** What happened, in words, for `origin` (`http://127.0.0.1:9`). */
export function describeConnectFailure(f: ConnectFailure, origin: string): string {
  const host = new URL(origin).hostname;
  switch (f.kind) {
    case 'refused':
      return `nothing accepts connections at ${origin}`;
    case 'dns':
      return `the host ${host} is not known (DNS)`;
    case 'timeout':
      return `the connection to ${origin} timed out`;
    case 'tls':
      return origin.startsWith('https:')
        ? `the TLS handshake with ${origin} failed (is it an https server, with a certificate this machine trusts?)`
        : `the TLS handshake with ${origin} failed`;
    case 'unreachable':
      return `there is no route to ${host}`;
  }
}

/** Whether an endpoint has answered yet: the budget of a failure to connect depends on it. */
export class Reach {
  answered = false;

  /** Retries a failure of this kind gets, out of `maxRetries`. */
  budget(maxRetries: number, failure: ConnectFailure | null): number {
    if (failure === null || this.answered) return maxRetries;
    if (failure.kind === 'tls' || failure.kind === 'timeout') return 0;
    return Math.min(CONNECT_RETRIES, maxRetries);
  }
}
