/**
 * What an HTTP client may try again (quality.md: transient failures are retried): one list each,
 * shared by the REST control-plane client, the flyteadmin transport and the forge client, which
 * add the few codes their own retry rules need.
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
