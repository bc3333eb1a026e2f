/**
 * OAuth2 client credentials for Union, as its own tools do it (oauth.go in
 * unionai/terraform-provider-unionai, src/auth.ts in flyteorg/flyte-sdk-ts): discovery of the
 * token endpoint (GET /.well-known/oauth-authorization-server) and of the scopes, audience and
 * header name (GET /config/v1/flyte_client), falling back, as oauth.go does for deployments
 * without that metadata, to OpenID Connect discovery (GET /.well-known/openid-configuration:
 * the issuer, then the issuer's own document: its token endpoint). Then a token, cached and
 * fetched again before it expires; one request in flight at a time, callers share its result.
 *
 * A 5xx or 429 answer, or no answer, is transient: retried with the backoff of the RPCs
 * (retry-policy.ts). Each OAuth2 error code (RFC 6749 5.2) gets its own message. Errors name
 * the URL, the HTTP status and the code, never the secret or the token.
 */
import { backoffDelay } from '../../util/backoff.js';
import { ControlPlaneError } from '../errors.js';
import type { UnionApiKey } from './api-key.js';
import { DEFAULT_RETRY, sleep as wait, type RetryPolicy } from './retry-policy.js';
import { tokenRefusal } from './oauth-errors.js';

/** oauth.go: defaultAuthorizationMetadataKey. */
export const DEFAULT_AUTH_HEADER = 'authorization';

export interface Discovery {
  tokenEndpoint: string;
  scopes: string[];
  audience: string;
  /** The header the token is sent in (`authorization`, `flyte-authorization`…), lower case. */
  headerName: string;
}

type FetchFn = typeof fetch;

/** How OAuth2 requests are sent and retried (tests shorten the backoff). */
export interface OAuthHttp {
  fetch?: FetchFn;
  retry?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
}

/** Loopback hosts may use plain http (tests, a local control plane); nothing else may. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

const transientStatus = (status: number) => status >= 500 || status === 429;

/**
 * `fetch` with retries on what is transient (no answer, 5xx, 429; a 429's Retry-After is
 * honoured up to the policy's longest delay). Returns the last answer; throws UNAVAILABLE
 * when none came.
 */
async function fetchRetrying(
  url: string,
  init: RequestInit,
  what: string,
  http: OAuthHttp,
): Promise<Response> {
  const policy = http.retry ?? DEFAULT_RETRY;
  const fetchFn = http.fetch ?? fetch;
  for (let attempt = 0; ; attempt++) {
    let res: Response | null = null;
    let cause = '';
    try {
      res = await fetchFn(url, init);
    } catch (err) {
      cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    }
    if (res && !transientStatus(res.status)) return res;
    if (attempt >= policy.maxRetries) {
      if (res) return res;
      throw new ControlPlaneError(
        'UNAVAILABLE',
        `Union ${what}: cannot reach ${url} (${cause}; ${attempt + 1} attempts)`,
      );
    }
    const retryAfter = Number(res?.headers.get('retry-after'));
    await res?.body?.cancel();
    const backoff = backoffDelay(attempt + 1, policy.minDelayMs, policy.maxDelayMs);
    const asked = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 0;
    await (http.sleep ?? wait)(Math.max(backoff, Math.min(asked, policy.maxDelayMs)));
  }
}

async function getJson(url: string, what: string, http: OAuthHttp): Promise<unknown> {
  const res = await fetchRetrying(url, { headers: { accept: 'application/json' } }, what, http);
  if (!res.ok) {
    await res.body?.cancel();
    throw new ControlPlaneError(
      transientStatus(res.status) ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
      `Union ${what} failed: GET ${url} answered HTTP ${res.status}`,
    );
  }
  try {
    return await res.json();
  } catch {
    throw new ControlPlaneError('UNAUTHENTICATED', `Union ${what}: ${url} did not answer JSON`);
  }
}

/** The token endpoint, checked: https (or loopback), so a secret never travels in clear text. */
function tokenEndpointOf(raw: string, base: string, where: string): string {
  if (raw === '')
    throw new ControlPlaneError('UNAUTHENTICATED', `Union ${where} names no token_endpoint`);
  const url = new URL(raw, `${base}/`);
  if (url.protocol !== 'https:' && !isLoopback(url.hostname)) {
    throw new ControlPlaneError(
      'UNAUTHENTICATED',
      `Union OAuth2 discovery: the token endpoint ${url.origin} is not https; poolsync does not send client credentials in clear text`,
    );
  }
  return url.toString();
}

/** Union's own metadata: the authorization server document and the flyte client config. */
async function unionMetadata(base: string, http: OAuthHttp): Promise<Discovery> {
  const [meta, client] = (await Promise.all([
    getJson(`${base}/.well-known/oauth-authorization-server`, 'OAuth2 discovery', http),
    getJson(`${base}/config/v1/flyte_client`, 'client configuration discovery', http),
  ])) as [Record<string, unknown>, Record<string, unknown>];
  const tokenEndpoint = tokenEndpointOf(
    String(meta.token_endpoint ?? meta.tokenEndpoint ?? ''),
    base,
    `OAuth2 discovery: ${base}/.well-known/oauth-authorization-server`,
  );
  const scopes = Array.isArray(client.scopes) ? client.scopes.map(String) : [];
  const header = String(client.authorization_metadata_key ?? client.authorizationMetadataKey ?? '');
  return {
    tokenEndpoint,
    scopes,
    audience: typeof client.audience === 'string' ? client.audience : '',
    headerName: (header || DEFAULT_AUTH_HEADER).toLowerCase(),
  };
}

/**
 * oauth.go's fallback: the issuer from /.well-known/openid-configuration (the endpoint may be a
 * CNAME of it), then the issuer's own OpenID configuration, which must name that issuer.
 */
async function openIdMetadata(base: string, http: OAuthHttp): Promise<Discovery> {
  const what = 'OpenID Connect discovery';
  const first = (await getJson(`${base}/.well-known/openid-configuration`, what, http)) as Record<
    string,
    unknown
  >;
  const issuer = typeof first.issuer === 'string' ? first.issuer.replace(/\/+$/, '') : '';
  if (issuer === '')
    throw new ControlPlaneError(
      'UNAUTHENTICATED',
      `Union ${what}: ${base}/.well-known/openid-configuration names no issuer`,
    );
  const doc =
    issuer === base
      ? first
      : ((await getJson(`${issuer}/.well-known/openid-configuration`, what, http)) as Record<
          string,
          unknown
        >);
  if (String(doc.issuer ?? '').replace(/\/+$/, '') !== issuer)
    throw new ControlPlaneError(
      'UNAUTHENTICATED',
      `Union ${what}: the OpenID configuration of ${issuer} names another issuer`,
    );
  return {
    tokenEndpoint: tokenEndpointOf(
      String(doc.token_endpoint ?? ''),
      issuer,
      `${what}: ${issuer}/.well-known/openid-configuration`,
    ),
    scopes: [],
    audience: '',
    headerName: DEFAULT_AUTH_HEADER,
  };
}

export async function discover(baseUrl: string, http: OAuthHttp = {}): Promise<Discovery> {
  const base = baseUrl.replace(/\/+$/, '');
  try {
    return await unionMetadata(base, http);
  } catch (unionErr) {
    // As oauth.go: deployments without Union's client metadata still have OIDC discovery.
    try {
      return await openIdMetadata(base, http);
    } catch (oidcErr) {
      const first = unionErr as ControlPlaneError;
      const hint = /HTTP 404/.test(first.message)
        ? ': the server has no OAuth2 discovery there; is --control-plane the Union endpoint of the API key (https://<org>.<region>.unionai.cloud)?'
        : '';
      throw new ControlPlaneError(
        first.code === 'UNAVAILABLE' ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
        `${first.message}; the fallback failed too (${(oidcErr as Error).message})${hint}`,
      );
    }
  }
}

interface Cached {
  token: string;
  /** When to fetch the next one (before the real expiry). */
  refreshAt: number;
}

/** Client-credentials tokens for one API key against one discovered token endpoint. */
export class TokenSource {
  private cached: Cached | null = null;
  private inflight: Promise<string> | null = null;
  /** Tokens fetched so far (tests, `--log-level debug`). */
  fetched = 0;

  constructor(
    private readonly key: UnionApiKey,
    private readonly discovery: Discovery,
    private readonly http: OAuthHttp = {},
    private readonly now: () => number = Date.now,
  ) {}

  get headerName(): string {
    return this.discovery.headerName;
  }

  async token(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAt) return this.cached.token;
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** The server refused the token: the next call fetches a new one. */
  invalidate(): void {
    this.cached = null;
  }

  private async fetchToken(): Promise<string> {
    const { tokenEndpoint, scopes, audience } = this.discovery;
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scopes.length > 0) body.set('scope', scopes.join(' '));
    if (audience) body.set('audience', audience);
    // RFC 6749 2.3.1: both parts form-urlencoded, so a ':' in the secret stays in it.
    const basic = Buffer.from(
      `${encodeURIComponent(this.key.clientId)}:${encodeURIComponent(this.key.clientSecret)}`,
    ).toString('base64');
    const started = this.now();
    const init = {
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: body.toString(),
    };
    const res = await fetchRetrying(tokenEndpoint, init, 'token request', this.http);
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw tokenRefusal(res.status, json.error, this.discovery);
    const token = typeof json.access_token === 'string' ? json.access_token : '';
    if (token === '') {
      throw new ControlPlaneError(
        'UNAUTHENTICATED',
        `Union token request: ${tokenEndpoint} answered without an access_token`,
      );
    }
    const lifetimeMs = (typeof json.expires_in === 'number' ? json.expires_in : 3600) * 1000;
    // Refresh a quarter of the lifetime (at most a minute, as flyte-sdk-ts) before expiry, so
    // a call never leaves with a token that expires on the way.
    const skew = Math.min(60_000, lifetimeMs / 4);
    this.cached = { token, refreshAt: started + lifetimeMs - skew };
    this.fetched++;
    return token;
  }
}
