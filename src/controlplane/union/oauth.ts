/**
 * OAuth2 client credentials for Union, as its own tools do it (oauth.go in
 * unionai/terraform-provider-unionai, src/auth.ts in flyteorg/flyte-sdk-ts): discovery of the
 * token endpoint (GET /.well-known/oauth-authorization-server) and of the scopes, audience and
 * header name (GET /config/v1/flyte_client), then a token, cached and fetched again before it
 * expires. One request in flight at a time; callers share its result.
 *
 * Errors name the URL and the HTTP status, never the secret or the token.
 */
import { ControlPlaneError } from '../errors.js';
import type { UnionApiKey } from './api-key.js';

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

/** Loopback hosts may use plain http (tests, a local control plane); nothing else may. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

async function getJson(url: string, what: string, fetchFn: FetchFn): Promise<unknown> {
  let res: Response;
  try {
    res = await fetchFn(url, { headers: { accept: 'application/json' } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ControlPlaneError('UNAVAILABLE', `Union ${what}: cannot reach ${url} (${cause})`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    const hint =
      res.status === 404
        ? ': the server has no OAuth2 discovery there; is --control-plane the Union endpoint of the API key (https://<org>.<region>.unionai.cloud)?'
        : '';
    throw new ControlPlaneError(
      res.status >= 500 ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
      `Union ${what} failed: GET ${url} answered HTTP ${res.status}${hint}`,
    );
  }
  try {
    return await res.json();
  } catch {
    throw new ControlPlaneError('UNAUTHENTICATED', `Union ${what}: ${url} did not answer JSON`);
  }
}

export async function discover(baseUrl: string, fetchFn: FetchFn = fetch): Promise<Discovery> {
  const base = baseUrl.replace(/\/+$/, '');
  const [meta, client] = (await Promise.all([
    getJson(`${base}/.well-known/oauth-authorization-server`, 'OAuth2 discovery', fetchFn),
    getJson(`${base}/config/v1/flyte_client`, 'client configuration discovery', fetchFn),
  ])) as [Record<string, unknown>, Record<string, unknown>];
  const raw = String(meta.token_endpoint ?? meta.tokenEndpoint ?? '');
  if (raw === '') {
    throw new ControlPlaneError(
      'UNAUTHENTICATED',
      `Union OAuth2 discovery: ${base}/.well-known/oauth-authorization-server names no token_endpoint`,
    );
  }
  const tokenEndpoint = new URL(raw, `${base}/`);
  if (tokenEndpoint.protocol !== 'https:' && !isLoopback(tokenEndpoint.hostname)) {
    throw new ControlPlaneError(
      'UNAUTHENTICATED',
      `Union OAuth2 discovery: the token endpoint ${tokenEndpoint.origin} is not https; poolsync does not send client credentials in clear text`,
    );
  }
  const scopes = Array.isArray(client.scopes) ? client.scopes.map(String) : [];
  const header = String(client.authorization_metadata_key ?? client.authorizationMetadataKey ?? '');
  return {
    tokenEndpoint: tokenEndpoint.toString(),
    scopes,
    audience: typeof client.audience === 'string' ? client.audience : '',
    headerName: (header || DEFAULT_AUTH_HEADER).toLowerCase(),
  };
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
    private readonly fetchFn: FetchFn = fetch,
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
    const basic = Buffer.from(
      `${encodeURIComponent(this.key.clientId)}:${encodeURIComponent(this.key.clientSecret)}`,
    ).toString('base64');
    const started = this.now();
    let res: Response;
    try {
      res = await this.fetchFn(tokenEndpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body,
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ControlPlaneError(
        'UNAVAILABLE',
        `Union token request: cannot reach ${tokenEndpoint} (${cause})`,
      );
    }
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      // RFC 6749 5.2 `error` is a fixed code (invalid_client…); its description is not shown,
      // as a server may echo request values in it.
      const code = typeof json.error === 'string' ? ` ${json.error}` : '';
      if (res.status === 400 || res.status === 401 || res.status === 403) {
        throw new ControlPlaneError(
          'UNAUTHENTICATED',
          `Union refused the API key's client credentials (token endpoint ${tokenEndpoint} answered HTTP ${res.status}${code}): the key is revoked, expired or mistyped; create one with \`flyte create api-key\` and put it in POOLSYNC_UNION_API_KEY or --api-key-file`,
        );
      }
      throw new ControlPlaneError(
        res.status >= 500 || res.status === 429 ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
        `Union token request failed: ${tokenEndpoint} answered HTTP ${res.status}${code}`,
      );
    }
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
