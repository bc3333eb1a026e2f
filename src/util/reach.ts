/**
 * Fast, clear failures when nothing answers (issue 35), and what an HTTP client may try again
 * (quality.md). A failure to connect at all is told apart from a connection lost mid-call:
 * nothing was sent, any call may be retried. Until an endpoint has answered once it gets at most
 * CONNECT_RETRIES retries (TLS and timeouts none), so a wrong URL is reported within a second;
 * then failures (a restart, a rolling update) get the whole --max-retries budget. So does a
 * connection closed before any answer (a TLS port spoken to in plain HTTP), said in the same
 * words whether it answered before or not. An answer not in HTTP/1.1 (an HTTP/2-only port, a TLS
 * one) is said the same way, and never retried.
 */
import { isIP } from 'node:net';
import { formatSize, HANDSHAKE_TIMEOUT } from './transport-limits.js';

/**
 * Only loopback hosts may use plain http (tests, a local control plane). An address, not a
 * prefix: `127.evil.example` is a name anyone may register (URL writes 127.1 as 127.0.0.1).
 */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

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
  /**
   * `not-http1`: a server answered in another protocol (an HTTP/2-only or gRPC port);
   * `tls-answer`: in TLS, to a request in plain HTTP; `closed`: the connection was closed before
   * any answer (Reach.failureOf), as a TLS port does when it never answered.
   */
  kind:
    | 'refused'
    | 'dns'
    | 'unreachable'
    | 'tls'
    | 'timeout'
    | 'handshake'
    | 'not-http1'
    | 'tls-answer'
    | 'closed';
  /** The system's code: ECONNREFUSED, ERR_SSL_WRONG_VERSION_NUMBER, HPE_INVALID_CONSTANT… */
  code: string;
  /** The names a certificate holds (`DNS:other.example`), when its name check failed. */
  certNames?: string | undefined;
  /** Its subject's CN, when its name check failed: a name there alone does not count (nameOnlyInCn). */
  certCn?: string | undefined;
  /** `closed` by an endpoint that answered before: a restart or something between, not TLS. */
  answeredBefore?: boolean | undefined;
}

/** What a TLS failure was about: the certificate's name, its chain, its dates, or no TLS at all. */
type TlsTrouble = 'name' | 'chain' | 'expired' | 'not-yet-valid' | 'not-tls' | 'other';

const TLS_TROUBLE: [RegExp, TlsTrouble][] = [
  [/^ERR_TLS_CERT_ALTNAME_INVALID$/, 'name'],
  [/^CERT_HAS_EXPIRED$/, 'expired'],
  [/^CERT_NOT_YET_VALID$/, 'not-yet-valid'],
  [
    /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT(_LOCALLY)?)|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE)$/,
    'chain',
  ],
  [
    /^(ERR_SSL_WRONG_VERSION_NUMBER|ERR_SSL_PACKET_LENGTH_TOO_LONG|ERR_SSL_HTTP_REQUEST|EPROTO)$/,
    'not-tls',
  ],
];

function tlsTrouble(code: string): TlsTrouble {
  return TLS_TROUBLE.find(([re]) => re.test(code))?.[1] ?? 'other';
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

/**
 * A failure to connect at all (nothing was sent), or an answer not in HTTP/1.1 (`not-http1`),
 * from an error or a code; else null.
 */
export function connectFailure(errOrCode: unknown): ConnectFailure | null {
  const parser = typeof errOrCode === 'string' ? null : parserFailure(errOrCode);
  if (parser !== null) return { kind: parser.tls ? 'tls-answer' : 'not-http1', code: parser.code };
  const codes = typeof errOrCode === 'string' ? [errOrCode] : errorCodes(errOrCode);
  for (const code of codes) {
    if (code === 'ECONNREFUSED') return { kind: 'refused', code };
    if (code === HANDSHAKE_TIMEOUT) return { kind: 'handshake', code };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME')
      return { kind: 'dns', code };
    if (
      code === 'UND_ERR_CONNECT_TIMEOUT' ||
      code === 'ETIMEDOUT' ||
      code === 'POOLSYNC_LIMIT_CONNECT'
    )
      return { kind: 'timeout', code };
    if (TLS_CODE.test(code)) return { kind: 'tls', code, ...certNamesOf(errOrCode) };
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

/**
 * The HTTP/1.1 parser's failure on an answer, else null: undici's HTTPParserError (its code left
 * unset by undici 7) or node:http's HPE_ code; too many headers is not another protocol. `tls`:
 * the answer's first bytes are a TLS record (undici keeps them in `data`, node:http in `rawPacket`).
 */
function parserFailure(err: unknown): { code: string; tls: boolean } | null {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const { code, data, rawPacket } = e as { code?: unknown; data?: unknown; rawPacket?: unknown };
    const tls = isTlsRecord(data ?? rawPacket);
    if (typeof code === 'string' && code.startsWith('HPE_'))
      return code === 'HPE_HEADER_OVERFLOW' ? null : { code, tls };
    if (e.name === 'HTTPParserError') return { code: e.name, tls };
  }
  return null;
}

/** A TLS record's start (RFC 8446 5.1): a content type 20-23 (an alert, a handshake…), then version 3.x. */
function isTlsRecord(bytes: unknown): boolean {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  return Buffer.isBuffer(b) && b.length >= 2 && b[0]! >= 20 && b[0]! <= 23 && b[1] === 3;
}

/** The names of the certificate a name check refused (Node puts it on the error). */
function certNamesOf(err: unknown): Pick<ConnectFailure, 'certNames' | 'certCn'> {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const cert = (e as { cert?: { subjectaltname?: unknown; subject?: { CN?: unknown } } }).cert;
    if (cert === undefined) continue;
    const { subjectaltname: names, subject } = cert;
    // A few names are enough to see the mistake; a server's text, kept short.
    return {
      certNames:
        typeof names === 'string'
          ? names.split(', ').slice(0, 3).join(', ').slice(0, 200)
          : undefined,
      certCn: typeof subject?.CN === 'string' ? subject.CN.slice(0, 200) : undefined,
    };
  }
  return {};
}

/**
 * The host is named in the certificate's subject CN alone, which Node (RFC 6125, as browsers)
 * reads for a DNS name only when there is no subjectAltName DNS name, and never for an address.
 */
function nameOnlyInCn(f: ConnectFailure, host: string): boolean {
  return f.certCn?.toLowerCase() === host.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * What happened, in words, for `origin` (`http://127.0.0.1:9`): the one place a failure to
 * connect becomes words (every backend, the daemon client, the forges).
 */
export function describeConnectFailure(f: ConnectFailure, origin: string): string {
  const host = new URL(origin).hostname;
  switch (f.kind) {
    case 'refused':
      return `nothing accepts connections at ${origin}`;
    case 'dns':
      return `the host ${host} is not known (DNS)`;
    case 'timeout':
      // The connect timeout covers the DNS lookup too: a name server that does not answer.
      return isIP(host.replace(/^\[|\]$/g, ''))
        ? `the connection to ${origin} timed out`
        : `the connection to ${origin} timed out (looking up ${host}, or connecting to it)`;
    case 'tls':
      return tlsWords(f, origin, host);
    case 'handshake':
      return `the TLS handshake with ${origin} got no answer`;
    case 'unreachable':
      return `there is no route to ${host}`;
    case 'not-http1':
      return `${origin} answered in another protocol than HTTP/1.1 (as an HTTP/2-only or gRPC port does)`;
    case 'tls-answer':
      return `${origin} answered as an HTTPS (TLS) port answers plain HTTP`;
    case 'closed':
      return origin.startsWith('http:') && !f.answeredBefore
        ? `${origin} closed the connection before any answer, as an HTTPS (TLS) port does to plain HTTP (else the server, or a proxy or firewall between, cut it)`
        : `${origin} closed the connection before any answer: the server, or a proxy or firewall between, cut it`;
  }
}

function tlsWords(f: ConnectFailure, origin: string, host: string): string {
  switch (tlsTrouble(f.code)) {
    case 'name':
      if (nameOnlyInCn(f, host))
        return isIP(host.replace(/^\[|\]$/g, ''))
          ? `the TLS certificate of ${origin} names ${host} only in its subject CN, which Node (as browsers) does not read for an IP address: it must be in subjectAltName`
          : `the TLS certificate of ${origin} names ${host} only in its subject CN, which Node (as browsers) does not read when the certificate has subjectAltName names (${f.certNames})`;
      return `the TLS certificate of ${origin} is not for ${host}${f.certNames ? ` (it names ${f.certNames})` : f.certCn ? ` (it names CN=${f.certCn})` : ''}`;
    case 'chain':
      return `the TLS certificate of ${origin} is not signed by an authority this machine trusts`;
    case 'expired':
      return `the TLS certificate of ${origin} has expired`;
    case 'not-yet-valid':
      return `the TLS certificate of ${origin} is not valid yet`;
    case 'not-tls':
      return `${origin} does not speak TLS (HTTPS)`;
    case 'other':
      return origin.startsWith('https:')
        ? `the TLS handshake with ${origin} failed (is it an https server, with a certificate this machine trusts?)`
        : `the TLS handshake with ${origin} failed`;
  }
}

/**
 * What to do about a failure to connect to the URL `setting` names (`--control-plane (env
 * POOLSYNC_CONTROL_PLANE)`, `--daemon`); `advice` replaces it where the URL came from elsewhere
 * (an OAuth2 discovery), but a certificate's trouble is always said as such.
 */
export function connectAdvice(
  f: ConnectFailure,
  origin: string,
  setting: string,
  advice?: string,
): string {
  if (f.kind === 'tls') {
    switch (tlsTrouble(f.code)) {
      case 'name': {
        const host = new URL(origin).hostname.replace(/^\[|\]$/g, '');
        if (nameOnlyInCn(f, host))
          return `reissue the certificate with its name in subjectAltName (${isIP(host) ? 'IP' : 'DNS'}:${host}; openssl: -addext subjectAltName=${isIP(host) ? 'IP' : 'DNS'}:${host})`;
        return `use the host name the certificate is for in ${setting}, or give the server a certificate for this name`;
      }
      case 'chain':
        return "if the certificate is right, trust its authority: NODE_EXTRA_CA_CERTS=FILE (the CA's PEM file), or the system's store";
      case 'expired':
      case 'not-yet-valid':
        return "renew the server's certificate (or check this machine's clock)";
      case 'not-tls':
        return `if it is a plain-HTTP server, use http:// in ${setting}`;
      case 'other':
        return advice ?? `check the scheme (http:// or https://) of ${setting}`;
    }
  }
  if (advice !== undefined) return advice;
  // The scheme is the likely mistake, whichever server it is.
  if (f.kind === 'tls-answer') return `use https:// in ${setting}`;
  if (f.kind === 'closed' && f.answeredBefore)
    return 'it answered before: try again once it is back, and if it persists check what is between';
  if (f.kind === 'closed' && origin.startsWith('http:'))
    return `if it is an HTTPS port, use https:// in ${setting}`;
  if (f.kind === 'not-http1') return `give the server's HTTP/1.1 port in ${setting}`;
  if (f.kind === 'dns') return `is the host name in ${setting} right (and this machine's DNS)?`;
  return `is it running, and is ${setting} right?`;
}

/**
 * Beside a failure to connect while the environment names a proxy poolsync does not use
 * (`HTTPS_PROXY`): on a network whose only way out is that proxy, the likely cause. Else empty.
 */
export function proxyWords(f: ConnectFailure | null, proxyVariable: string | undefined): string {
  if (
    proxyVariable === undefined ||
    f === null ||
    f.kind === 'tls' ||
    f.kind === 'handshake' ||
    f.kind === 'not-http1' ||
    f.kind === 'tls-answer'
  )
    return '';
  return ` (${proxyVariable} is set, but poolsync does not go through a proxy: it connects directly, so this machine must reach the server without one)`;
}

/**
 * The page an HTTPS port answers a plain-HTTP request with (HTTP 400): Go's net/http (server.go,
 * flyteadmin's server) and nginx's (error 497).
 */
export const HTTPS_PORT_PAGE =
  /HTTP request to an HTTPS server|plain HTTP request was sent to HTTPS port/;

/**
 * A redirect from an API, which poolsync does not follow: the token would go wherever the
 * Location names. Says where it leads (no credentials, no query: either may carry a secret) and,
 * where it moved the whole API (the call's path under another base), that base as the setting to
 * give if it is trusted. `called`: the URL asked, below `base` (the API's own URL); `setting`:
 * what to correct (`correct --api-url`); `urlOf`: how that setting writes a base;
 * `within`: what to do when it leads elsewhere in the same API.
 */
export function redirectWords(
  location: string | string[] | undefined,
  called: URL,
  base: string,
  o: { setting: string; urlOf?: ((url: string) => string) | undefined; within?: string },
): string {
  let to: URL;
  try {
    if (typeof location !== 'string') throw new Error('no Location');
    to = new URL(location, called);
  } catch {
    return `a redirect without a usable Location (${JSON.stringify(location ?? null)}), which poolsync does not follow: ${o.setting} to the API's own address`;
  }
  to.username = to.password = to.search = to.hash = '';
  const own = base.replace(/\/+$/, '');
  const below = called.href.split(/[?#]/)[0]!.slice(own.length);
  const moved = to.href.endsWith(below)
    ? to.href.slice(0, to.href.length - below.length)
    : to.origin;
  const said = `a redirect to ${to.href}, which poolsync does not follow (the token would be sent to it)`;
  // Under the API's own URL: that setting is right, the resource moved.
  if (o.within !== undefined && to.href.startsWith(`${own}/`)) return `${said}: ${o.within}`;
  return `${said}: if that address is trusted, ${o.setting} to ${o.urlOf?.(moved) ?? moved}`;
}

/**
 * An answer whose body is no JSON (a sign-in page, a proxy's error page), in the words every
 * JSON client uses; the caller adds which setting to check.
 */
export const notJsonWords = (service: string, status: number, type: unknown): string =>
  `${service} answered HTTP ${status} with a body that is not JSON${type ? ` (${String(type)})` : ''}`;

/** What a proxy's 407 says. */
export const PROXY_ASKS_CREDENTIALS =
  'asks for credentials (HTTP 407 Proxy Authentication Required)';

/** An HTTP proxy in the way (407 Proxy Authentication Required), in words with what to do. */
export const PROXY_REFUSED = `a proxy between ${PROXY_ASKS_CREDENTIALS}: poolsync does not go through a proxy; let this machine reach the server directly`;

/** Codes of a connection the other side closed (Reach.failureOf's `closed`). */
const CLOSED_CODES: readonly (string | null)[] = ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'];

/**
 * A failure without an answer that Reach.failureOf does not know, in words, else null: a
 * connection lost another way (a stream cut off, an HTTP/2 error, a timeout after it was made).
 */
export function describeLostConnection(err: unknown, origin: string): string | null {
  const lost = connectionLost(err);
  if (lost === null) return null;
  // undici's own read timeouts, where a client has no TransportLimits of its own to name.
  if (lost === 'UND_ERR_HEADERS_TIMEOUT')
    return `the answer of ${origin} did not complete in time (${lost}): the server or the network stalled`;
  return lost === 'UND_ERR_BODY_TIMEOUT'
    ? `nothing was received from ${origin} in time (${lost}): the server or the network stalled`
    : `the connection to ${origin} was lost before an answer (${lost})`;
}

/**
 * An answer whose headers are larger than the HTTP client reads (undici's bound is Node's
 * http.maxHeaderSize), in words, else null: the server was reached and answered.
 */
export function oversizedHeaders(err: unknown): string | null {
  const code = errorCodes(err).find(
    (c) => c === 'UND_ERR_HEADERS_OVERFLOW' || c === 'HPE_HEADER_OVERFLOW',
  );
  if (code === undefined) return null;
  // Not imported: node:http's exports load undici (~40 ms of every command's start, issue 79).
  const { maxHeaderSize } = process.getBuiltinModule('node:http');
  return `the server answered with headers larger than ${formatSize(maxHeaderSize)}, the most poolsync accepts (${code}): a proxy or sign-in gateway between may add them; if they are the server's own, raise the bound with NODE_OPTIONS=--max-http-header-size=BYTES`;
}

/** Whether an endpoint has answered yet: the budget of a failure to connect depends on it. */
export class Reach {
  answered = false;

  /**
   * What an attempt without an answer met, for its budget and words: a failure to connect, or a
   * connection closed before any answer. A TLS port spoken to in plain HTTP closes it at once, on
   * every try; a server that answered before is restarting (or something between cuts it).
   */
  failureOf(err: unknown): ConnectFailure | null {
    const failure = connectFailure(err);
    if (failure !== null) return failure;
    const code = connectionLost(err);
    if (code === null || !CLOSED_CODES.includes(code)) return null;
    return this.answered
      ? { kind: 'closed', code, answeredBefore: true }
      : { kind: 'closed', code };
  }

  /** Retries a failure of this kind gets, out of `maxRetries`. */
  budget(maxRetries: number, failure: ConnectFailure | null): number {
    // The same port answers the same way.
    if (failure?.kind === 'not-http1' || failure?.kind === 'tls-answer') return 0;
    if (failure === null || this.answered) return maxRetries;
    if (failure.kind === 'tls' || failure.kind === 'timeout' || failure.kind === 'handshake')
      return 0;
    return Math.min(CONNECT_RETRIES, maxRetries);
  }
}

/**
 * Any failure that got no answer, in words, with what to do about `setting` (where the URL comes
 * from): `nothing accepts connections at … (ECONNREFUSED); is it running, and is --daemon right?`;
 * `reach` knows whether the endpoint answered before (a client's calls share one).
 */
export function noAnswerWords(
  err: unknown,
  origin: string,
  setting: string,
  proxyVariable?: string,
  reach: Reach = new Reach(),
): string {
  const failure = reach.failureOf(err);
  if (failure)
    return `${describeConnectFailure(failure, origin)} (${failure.code}); ${connectAdvice(failure, origin, setting)}${proxyWords(failure, proxyVariable)}`;
  const lost = describeLostConnection(err, origin);
  if (lost !== null) return `${lost}; try again, and if it persists check what is between`;
  const e = err as { code?: unknown; message?: unknown };
  const code =
    typeof e.code === 'string' ? e.code : typeof e.message === 'string' ? e.message : String(err);
  return `no answer (${code}); is ${setting} right?`;
}

/** Why a server could not listen on `address` (`--listen`), in words; null for a bug's error. */
export function listenRefusal(address: string, err: unknown): string | null {
  const words = LISTEN_WORDS[(err as NodeJS.ErrnoException).code ?? ''];
  return words === undefined ? null : `cannot listen on ${address}: ${words}`;
}

const LISTEN_WORDS: Record<string, string> = {
  EADDRINUSE: 'the address is in use (another daemon or server?): choose another --listen',
  EACCES:
    'this user may not listen there (ports below 1024 need privileges): choose a port of 1024 or more',
  EADDRNOTAVAIL:
    'no network interface of this machine has that address: listen on 127.0.0.1, 0.0.0.0 or one of its own',
};
