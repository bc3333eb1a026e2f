/** The one OAuth2 client (client credentials) of union/ and flyteadmin/. */
import * as oauth from 'oauth4webapi';
import {
  ControlPlaneError,
  type ControlPlaneErrorCode,
  unreachable,
  UnreachableError,
} from './errors.js';
import {
  HTTPS_PORT_PAGE,
  isLoopback,
  notJsonWords,
  oversizedHeaders,
  Reach,
} from '../util/reach.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../util/backoff.js';
import {
  ANSWER_BYTES,
  CallDeadline,
  DEFAULT_LIMITS,
  type Heard,
  heardBy,
  limitOf,
  type TransportLimits,
  type WaitListener,
} from '../util/transport-limits.js';
import { boundedRequest } from '../util/bounded-request.js';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import { type Attempt, limitFailed, retrying, type RetryLoop, transientStatus } from './retry.js';

/**
 * Discovery as the Flyte and Union clients do it (flyteidl clients/go/admin, unionai/terraform-
 * provider-unionai internal/provider/oauth.go): RFC 8414 metadata (GET /.well-known/oauth-
 * authorization-server) and the public client configuration (GET /config/v1/flyte_client: scopes,
 * audience, the token's header); without that metadata, as oauth.go, OpenID Connect (the issuer —
 * the endpoint may be a CNAME of it — then the issuer's own document, which must name that issuer).
 * The service's own metadata is not issuer-checked: flyteadmin serves an external authorization
 * server's metadata as it is (auth/authzserver/metadata.go), naming that server as issuer.
 */
/** oauth.go: defaultAuthorizationMetadataKey. */
export const DEFAULT_AUTH_HEADER = 'authorization';

export interface Discovery {
  tokenEndpoint: string;
  scopes: string[];
  audience: string;
  /** Lower case: `authorization`, `flyte-authorization`… */
  headerName: string;
  /** Only when the server takes it and not client_secret_basic (RFC 6749 2.3.1's default). */
  authMethod?: 'client_secret_post';
}

export interface DiscoveryOptions {
  /** Who is asked, for messages: `Union`, `flyteadmin`. */
  service: string;
  http?: OAuthHttp;
  /**
   * What to check, added to a failed discovery's message; `code` INVALID_ARGUMENT: a server
   * answered that is not the service (a web page).
   */
  hint?: (message: string, code: ControlPlaneErrorCode) => string;
}

type Json = Record<string, unknown>;

const refused = (message: string) => new ControlPlaneError('UNAUTHENTICATED', message);
const unavailable = (message: string) => new ControlPlaneError('UNAVAILABLE', message);

async function readJson(res: Response, url: string, what: string, o: DiscoveryOptions) {
  if (!res.ok) {
    // An HTTPS port given as http:// is said as such, not as a server without discovery.
    const page = res.status === 400 && url.startsWith('http:') ? await res.text() : '';
    if (!res.bodyUsed) await res.body?.cancel();
    if (HTTPS_PORT_PAGE.test(page)) {
      const failure = { kind: 'tls-answer', code: 'HTTP 400' } as const;
      const limits = o.http?.limits ?? DEFAULT_LIMITS;
      throw unreachable(`${o.service} ${what}`, o.service, new URL(url).origin, failure, 1, limits);
    }
    throw new ControlPlaneError(
      transientStatus(res.status) ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
      `${o.service} ${what} failed: GET ${url} answered HTTP ${res.status}`,
    );
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    // Cut off after its headers: transient, like no answer at all.
    throw unavailable(
      `${o.service} ${what}: the answer of ${url} was cut off (${(err as Error).message})`,
    );
  }
  try {
    return JSON.parse(text) as Json;
  } catch {
    // Another server (a web page): --control-plane is wrong, not the credentials or the network.
    throw new ControlPlaneError(
      'INVALID_ARGUMENT',
      `${o.service} ${what}: ${notJsonWords(url, res.status, res.headers.get('content-type'))}`,
    );
  }
}

function wellKnown(
  issuer: string,
  algorithm: 'oauth2' | 'oidc',
  what: string,
  o: DiscoveryOptions,
): Promise<Response> {
  return oauth.discoveryRequest(new URL(issuer), {
    algorithm,
    [oauth.customFetch]: retryingFetch(o.service, what, o.http ?? {}),
    [oauth.allowInsecureRequests]: insecureAllowed(issuer),
  });
}

/** Https (or loopback), so a secret never travels in clear text. */
function tokenEndpointOf(raw: string, base: string, where: string, o: DiscoveryOptions): string {
  if (raw === '') throw refused(`${o.service} ${where} names no token_endpoint`);
  const url = new URL(raw, `${base}/`);
  if (inClearText(url))
    throw refused(
      `${o.service} OAuth2 discovery: the token endpoint ${url.origin} is not https; poolsync does not send client credentials in clear text`,
    );
  return url.toString();
}

function authMethodOf(meta: Json): Discovery['authMethod'] {
  const methods = meta.token_endpoint_auth_methods_supported;
  if (!Array.isArray(methods) || methods.includes('client_secret_basic')) return undefined;
  return methods.includes('client_secret_post') ? 'client_secret_post' : undefined;
}

async function serviceMetadata(base: string, o: DiscoveryOptions): Promise<Discovery> {
  const metaUrl = `${base}/.well-known/oauth-authorization-server`;
  const clientUrl = `${base}/config/v1/flyte_client`;
  const getClient = retryingFetch(o.service, 'client configuration discovery', o.http ?? {});
  // Fetched at once, but a failure is reported in a fixed order: which one fails first is a race.
  const [metaResult, clientResult] = await Promise.allSettled([
    wellKnown(base, 'oauth2', 'OAuth2 discovery', o).then((r) =>
      readJson(r, metaUrl, 'OAuth2 discovery', o),
    ),
    getClient(clientUrl, { headers: { accept: 'application/json' } }).then((r) =>
      readJson(r, clientUrl, 'client configuration discovery', o),
    ),
  ]);
  if (metaResult.status === 'rejected') throw metaResult.reason;
  if (clientResult.status === 'rejected') throw clientResult.reason;
  const [meta, client] = [metaResult.value, clientResult.value];
  const scopes = Array.isArray(client.scopes) ? client.scopes.map(String) : [];
  const header = String(client.authorization_metadata_key ?? client.authorizationMetadataKey ?? '');
  return {
    tokenEndpoint: tokenEndpointOf(
      String(meta.token_endpoint ?? meta.tokenEndpoint ?? ''),
      base,
      `OAuth2 discovery: ${metaUrl}`,
      o,
    ),
    scopes,
    audience: typeof client.audience === 'string' ? client.audience : '',
    headerName: (header || DEFAULT_AUTH_HEADER).toLowerCase(),
    authMethod: authMethodOf(meta),
  };
}

const OIDC = 'OpenID Connect discovery';

/** The issuer's own OpenID document, its issuer checked. */
async function issuerDocument(issuer: string, o: DiscoveryOptions): Promise<Json> {
  const url = `${issuer}/.well-known/openid-configuration`;
  const res = await wellKnown(issuer, 'oidc', OIDC, o);
  if (!res.ok) return readJson(res, url, OIDC, o);
  try {
    return (await oauth.processDiscoveryResponse(new URL(issuer), res)) as Json;
  } catch (err) {
    const mismatch =
      err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON;
    throw refused(
      mismatch
        ? `${o.service} ${OIDC}: the OpenID configuration of ${issuer} names another issuer`
        : `${o.service} ${OIDC}: ${url} is not an OpenID configuration (${(err as Error).message})`,
    );
  }
}

async function openIdMetadata(base: string, o: DiscoveryOptions): Promise<Discovery> {
  const url = `${base}/.well-known/openid-configuration`;
  const first = await readJson(await wellKnown(base, 'oidc', OIDC, o), url, OIDC, o);
  const issuer = typeof first.issuer === 'string' ? first.issuer.replace(/\/+$/, '') : '';
  if (issuer === '') throw refused(`${o.service} ${OIDC}: ${url} names no issuer`);
  const doc = issuer === base ? first : await issuerDocument(issuer, o);
  return {
    tokenEndpoint: tokenEndpointOf(
      String(doc.token_endpoint ?? ''),
      issuer,
      `${OIDC}: ${issuer}/.well-known/openid-configuration`,
      o,
    ),
    scopes: [],
    audience: '',
    headerName: DEFAULT_AUTH_HEADER,
    authMethod: authMethodOf(doc),
  };
}

/** The service's metadata, else OpenID Connect's; both failing: one error naming both. */
export async function discover(baseUrl: string, o: DiscoveryOptions): Promise<Discovery> {
  const base = baseUrl.replace(/\/+$/, '');
  // Before any request: an answer in clear text could name any token endpoint.
  if (inClearText(new URL(base)))
    throw refused(
      `${o.service} OAuth2 discovery: ${base} is not https; poolsync looks for where to send client credentials over https only (or on this machine)`,
    );
  try {
    return await serviceMetadata(base, o);
  } catch (serviceErr) {
    // Nothing answers there, or headers too large: asking the same host again or a hint about
    // auth would hide that.
    if (serviceErr instanceof UnreachableError || oversizedHeaders(serviceErr)) throw serviceErr;
    // A server that hung would hold the fallback for a second timeout: one is enough to say so.
    if (serviceErr instanceof NoAnswerInTime)
      throw new ControlPlaneError(
        'UNAVAILABLE',
        `${serviceErr.message}; OpenID Connect discovery was not tried, as the same server would be waited for again: check that ${base} is up and is the control plane's address`,
      );
    try {
      return await openIdMetadata(base, o);
    } catch (oidcErr) {
      const { message } = serviceErr as Error;
      const code = serviceErr instanceof ControlPlaneError ? serviceErr.code : 'UNAUTHENTICATED';
      throw new ControlPlaneError(
        code,
        `${message}; the fallback failed too (${(oidcErr as Error).message})${o.hint?.(message, code) ?? ''}`,
      );
    }
  }
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface TokenOptions extends Omit<DiscoveryOptions, 'hint'> {
  /**
   * The error for a refused token request, given its RFC 6749 `error` code: never
   * `error_description` (a server may echo request values in it).
   */
  refusal: (status: number, code: string | null, discovery: Discovery) => ControlPlaneError;
}

/** An RFC 6749 error code, or null: never free text from the server. */
const errorCode = (code: unknown): string | null =>
  typeof code === 'string' && /^[\w.-]{1,64}$/.test(code) ? code : null;

async function codeOfBody(res: Response): Promise<string | null> {
  const json = (await res.json().catch(() => ({}))) as { error?: unknown };
  return errorCode(json.error);
}

/**
 * Client-credentials tokens (RFC 6749 4.4) on oauth4webapi: client_secret_basic (both parts
 * form-urlencoded, RFC 6749 2.3.1, so a ':' in the secret stays in it) or client_secret_post.
 * Cached, fetched again before expiry or once refused, one request in flight. Errors name the
 * URL, the HTTP status and the error code, never the secret or the token.
 */
export class TokenSource {
  private cached: { token: string; refreshAt: number } | null = null;
  private inflight: Promise<string> | null = null;
  private found: Promise<Discovery> | null = null;
  private known: Discovery | null = null;
  /** The credentials were refused: this source sends none again (a new one asks again). */
  private refusedWith: ControlPlaneError | null = null;

  /** `discovery`, or how to find it on the first token. */
  constructor(
    private readonly credentials: ClientCredentials,
    private readonly discovery: Discovery | (() => Promise<Discovery>),
    private readonly opts: TokenOptions,
  ) {}

  async token(): Promise<string> {
    if (this.refusedWith) throw this.refusedWith;
    if (this.cached && this.clock.now() < this.cached.refreshAt) return this.cached.token;
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** What a call waiting for a token waits on, for its deadline's words and its wait notice. */
  get asking(): string {
    const { service } = this.opts;
    const d = typeof this.discovery === 'function' ? this.known : this.discovery;
    return d ? `${service} token request ${d.tokenEndpoint}` : `${service} OAuth2 discovery`;
  }

  /** Whether the credentials were refused (ControlPlane.credentialsRefused). */
  get wasRefused(): boolean {
    return this.refusedWith !== null;
  }

  /** The server refused the token. */
  invalidate(): void {
    this.cached = null;
  }

  private get clock(): Clock {
    return this.opts.http?.clock ?? SYSTEM_CLOCK;
  }

  private discovered(): Promise<Discovery> {
    const d = this.discovery;
    if (typeof d !== 'function') return Promise.resolve(d);
    // A failed discovery is asked again by the next call.
    this.found ??= d().then(
      (found) => (this.known = found),
      (err: unknown) => {
        this.found = null;
        throw err;
      },
    );
    return this.found;
  }

  private async fetchToken(): Promise<string> {
    const d = await this.discovered();
    const as: oauth.AuthorizationServer = {
      issuer: new URL(d.tokenEndpoint).origin,
      token_endpoint: d.tokenEndpoint,
    };
    const client: oauth.Client = { client_id: this.credentials.clientId };
    const auth =
      d.authMethod === 'client_secret_post'
        ? oauth.ClientSecretPost(this.credentials.clientSecret)
        : oauth.ClientSecretBasic(this.credentials.clientSecret);
    const params = new URLSearchParams();
    if (d.scopes.length > 0) params.set('scope', d.scopes.join(' '));
    if (d.audience) params.set('audience', d.audience);
    const started = this.clock.now();
    const res = await oauth.clientCredentialsGrantRequest(as, client, auth, params, {
      [oauth.customFetch]: retryingFetch(this.opts.service, 'token request', this.opts.http ?? {}),
      [oauth.allowInsecureRequests]: insecureAllowed(d.tokenEndpoint),
    });
    let answer: oauth.TokenEndpointResponse;
    try {
      answer = await oauth.processClientCredentialsResponse(as, client, res);
    } catch (err) {
      const refused = await this.refused(err, d);
      // 401, invalid_client, invalid_grant…: the same credentials are refused again.
      if (refused.code === 'UNAUTHENTICATED') this.refusedWith = refused;
      throw refused;
    }
    const lifetimeMs = (answer.expires_in ?? 3600) * 1000;
    // A quarter of the lifetime (at most a minute, as flyte-sdk-ts) early, so a call never
    // leaves with a token that expires on the way.
    const skew = Math.min(60_000, lifetimeMs / 4);
    this.cached = { token: answer.access_token, refreshAt: started + lifetimeMs - skew };
    return answer.access_token;
  }

  private async refused(err: unknown, d: Discovery): Promise<ControlPlaneError> {
    const { refusal, service } = this.opts;
    if (err instanceof oauth.ResponseBodyError) return refusal(err.status, errorCode(err.error), d);
    if (err instanceof oauth.WWWAuthenticateChallengeError) {
      const fromHeader = errorCode(err.cause[0]?.parameters.error);
      return refusal(err.status, fromHeader ?? (await codeOfBody(err.response)), d);
    }
    if (err instanceof oauth.OperationProcessingError) {
      // A page (a proxy's, a login form's) is no token answer: said so, not as a status alone.
      if (err.code === oauth.RESPONSE_IS_NOT_JSON && err.cause instanceof Response)
        return refused(
          `${service} token request: ${d.tokenEndpoint} answered HTTP ${err.cause.status} ${err.cause.headers.get('content-type')?.split(';')[0] || 'without a content type'}, not JSON: is it the OAuth2 token endpoint? check --control-plane and what its OAuth2 discovery names`,
        );
      if (err.cause instanceof Response) return refusal(err.cause.status, null, d);
      // A body cut off fails to parse with a TypeError, not a SyntaxError: transient.
      if (err.code === oauth.PARSE_ERROR && !(err.cause instanceof SyntaxError))
        return unavailable(
          `${service} token request: the answer of ${d.tokenEndpoint} was cut off (${(err.cause as Error | undefined)?.message ?? 'unreadable'})`,
        );
      const what = /access_token/.test(err.message)
        ? 'without an access_token'
        : `a token response poolsync cannot use (${err.message})`;
      return refused(`${service} token request: ${d.tokenEndpoint} answered ${what}`);
    }
    return err instanceof ControlPlaneError
      ? err
      : refused(`${service} token request: ${(err as Error).message}`);
  }
}

/** How the OAuth2 requests travel (retryingFetch). */
export interface OAuthHttp extends Pick<RetryLoop, 'signal'> {
  retry?: RetryPolicy;
  /** The backoffs' waits, a token's refresh time and the wait notices read it. */
  clock?: Clock | undefined;
  /** The size bound is ANSWER_BYTES.oauth. */
  limits?: TransportLimits;
  /** Shared with the backend's own calls when given (util/reach.ts). */
  reach?: Reach;
  /** The calls' wait notices: a token request answered (a 503 too) is no silence. */
  onWait?: WaitListener | undefined;
  /** The wait notice of these requests alone (a discovery's), told what their attempts met. */
  heard?: Heard | undefined;
}

/** Neither https nor loopback: no client credentials, nor the discovery that leads to them. */
const inClearText = (url: URL): boolean => url.protocol !== 'https:' && !isLoopback(url.hostname);

export const insecureAllowed = (url: string): boolean =>
  new URL(url).protocol === 'http:' && isLoopback(new URL(url).hostname);

/**
 * A `fetch` (oauth4webapi's customFetch) that retries no answer, 5xx and 429 (its Retry-After
 * up to the policy's longest delay) within the call's deadline. Returns the last answer; when
 * none came, UNAVAILABLE naming the URL and the cause (never a header or a body).
 */
export function retryingFetch(
  service: string,
  what: string,
  http: OAuthHttp,
): (url: string, init: RequestInit) => Promise<Response> {
  const limits = http.limits ?? DEFAULT_LIMITS;
  const base: RetryLoop = {
    ...(http.retry ?? DEFAULT_RETRY),
    reach: http.reach ?? new Reach(),
    clock: http.clock,
    signal: http.signal,
    label: `${service} ${what}`,
    // A token or discovery request changes nothing the plan reads.
    read: true,
    heard: http.heard,
  };
  return async (url, init) => {
    const deadline = new CallDeadline(limits, Date.now, `${service} ${what} ${url}`);
    const call = { timedOut: false };
    try {
      return await retrying({ ...base, deadline }, (n) =>
        attempt(n, url, init, deadline.signal, call),
      );
    } catch (err) {
      if (err instanceof LastAnswer) return err.response;
      const late = call.timedOut || deadline.signal.aborted;
      if (late && err instanceof ControlPlaneError && !(err instanceof UnreachableError))
        throw new NoAnswerInTime(err.code, err.message, err.address, err.rule);
      throw err;
    } finally {
      deadline.done();
    }
  };

  async function attempt(
    n: number,
    url: string,
    init: RequestInit,
    deadline: AbortSignal,
    call: { timedOut: boolean },
  ): Promise<Attempt<Response>> {
    let res: Response;
    try {
      const bounds = [init.signal, deadline, http.signal];
      const signal = AbortSignal.any(bounds.filter((b): b is AbortSignal => b != null));
      res = await nodeFetch(url, { ...init, signal }, limits);
      base.reach.answered = true;
      heardBy(
        http.onWait,
        http.clock,
        transientStatus(res.status) ? `HTTP ${res.status}` : undefined,
      );
    } catch (err) {
      const limited = limitFailed(err, `${service} ${what}: ${url}`, limits);
      if (limitOf(err) === 'read') call.timedOut = true;
      // The cause tells a backend's retry loop which limit fired (json-http.ts authFailure).
      if (limited)
        return { ...limited, error: (n) => Object.assign(limited.error(n), { cause: err }) };
      // Answered: the same server answers the same way.
      const answered = oversizedHeaders(err);
      if (answered)
        return {
          ok: false,
          transient: false,
          // The cause tells a backend's retry loop it was answered (json-http.ts authFailure).
          error: () =>
            Object.assign(unavailable(`${service} ${what}: ${url}: ${answered}`), { cause: err }),
        };
      const failure = base.reach.failureOf(err);
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      // The token endpoint is what discovery named, not --control-plane.
      const token = /token/.test(what);
      const advice = token
        ? `the token endpoint is the one ${service}'s OAuth2 discovery names; is it running?`
        : undefined;
      const origin = new URL(url).origin;
      const [prefix, whom] = token
        ? [`${service} ${what} ${url}`, `${service}'s token endpoint`]
        : [`${service} ${what}`, service];
      return {
        ok: false,
        transient: true,
        failure,
        error: (attempts) =>
          failure
            ? unreachable(prefix, whom, origin, failure, attempts, limits, advice)
            : unavailable(
                `${service} ${what}: cannot reach ${url} (${cause}; ${attempts} attempt${attempts === 1 ? '' : 's'})`,
              ),
      };
    }
    if (!transientStatus(res.status)) return { ok: true, value: res };
    const retryAfter = Number(res.headers.get('retry-after'));
    const asked = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null;
    // The last answer is returned as it is (LastAnswer): its caller says what it means.
    if (n < base.reach.budget(base.maxRetries, null)) await res.body?.cancel();
    return {
      ok: false,
      transient: true,
      throttled: { said: `HTTP ${res.status}`, delayMs: asked && Math.min(asked, base.maxDelayMs) },
      error: () => new LastAnswer(res),
    };
  }
}

/** retryingFetch's error after a read timeout or the call's deadline: the server did not answer in time. */
class NoAnswerInTime extends ControlPlaneError {}

class LastAnswer extends Error {
  constructor(readonly response: Response) {
    super('the last answer');
  }
}

/** Answers without a body (fetch's Response refuses one for them). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** A `fetch` over node:http(s) (util/bounded-request.ts says why), string bodies only. */
async function nodeFetch(
  href: string,
  init: RequestInit,
  limits: TransportLimits,
): Promise<Response> {
  const headers = new Headers(init.headers);
  const form = init.body instanceof URLSearchParams;
  const body = init.body === null || form ? init.body?.toString() : init.body;
  if (body !== undefined && typeof body !== 'string')
    throw new TypeError('nodeFetch sends string bodies only');
  if (form && !headers.has('content-type'))
    headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
  const sent: Record<string, string> = {};
  headers.forEach((value, key) => {
    sent[key] = value;
  });
  const method = init.method ?? 'GET';
  const signal = init.signal ?? undefined;
  const res = await boundedRequest(
    new URL(href),
    { method, headers: sent, body, signal },
    limits,
    ANSWER_BYTES.oauth,
  );
  const answer = new Headers();
  for (const [k, v] of Object.entries(res.headers))
    for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v]) answer.append(k, value);
  const { status, statusText } = res;
  return new Response(NULL_BODY.has(status) ? null : res.body, {
    status,
    statusText,
    headers: answer,
  });
}
