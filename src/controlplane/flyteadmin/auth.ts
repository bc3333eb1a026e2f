/**
 * OAuth2 client credentials for flyteadmin, as flytectl does it (real-apis.md §2): discovery
 * at `/.well-known/oauth-authorization-server` (token_endpoint) and `/config/v1/flyte_client`
 * (scopes, audience), then a client-credentials token sent as `Authorization: Bearer …`,
 * fetched again a minute before it expires or when the server rejects it. flyteadmin's HTTP
 * gateway reads `Authorization` in every configuration (auth/handlers.go
 * IdentityContextFromRequest); `authorization_metadata_key` names the header of its gRPC
 * port, which poolsync does not use. The secret is never logged or put in an error.
 */
import { readFile } from 'node:fs/promises';
import { request, type Dispatcher } from 'undici';
import { UserError } from '../../util/user-error.js';
import { ControlPlaneError } from '../errors.js';
import { rememberSecret } from '../../util/secrets.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

const EXPIRY_MARGIN_MS = 60_000;

/**
 * Credentials from the environment: POOLSYNC_FLYTE_CLIENT_ID, and the secret from the file
 * named by POOLSYNC_FLYTE_CLIENT_SECRET_FILE or from POOLSYNC_FLYTE_CLIENT_SECRET. None set:
 * null (flyteadmin without auth). Never from a flag value.
 */
export async function credentialsFromEnv(
  env: Record<string, string | undefined> = process.env,
): Promise<ClientCredentials | null> {
  const clientId = env.POOLSYNC_FLYTE_CLIENT_ID?.trim() ?? '';
  const file = env.POOLSYNC_FLYTE_CLIENT_SECRET_FILE?.trim() ?? '';
  let secret = env.POOLSYNC_FLYTE_CLIENT_SECRET?.trim() ?? '';
  if (file !== '') {
    try {
      secret = (await readFile(file, 'utf8')).split(/\r?\n/)[0]!.trim();
    } catch (err) {
      throw new UserError(
        `cannot read POOLSYNC_FLYTE_CLIENT_SECRET_FILE ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    if (secret === '') throw new UserError(`POOLSYNC_FLYTE_CLIENT_SECRET_FILE ${file} is empty`);
  }
  rememberSecret(secret);
  if (clientId === '' && secret === '') return null;
  if (clientId === '')
    throw new UserError(
      'a flyteadmin client secret is set but POOLSYNC_FLYTE_CLIENT_ID is not: set the OAuth2 client id',
    );
  if (secret === '')
    throw new UserError(
      'POOLSYNC_FLYTE_CLIENT_ID is set but no secret: put it in a file named by POOLSYNC_FLYTE_CLIENT_SECRET_FILE (or in POOLSYNC_FLYTE_CLIENT_SECRET)',
    );
  return { clientId, clientSecret: secret };
}

interface Token {
  value: string;
  expiresAt: number;
}

export class FlyteTokenSource {
  private token: Token | null = null;
  private pending: Promise<Token> | null = null;
  private discovered: {
    tokenEndpoint: string;
    scopes: string[];
    audience: string;
  } | null = null;

  constructor(
    private readonly origin: string,
    private readonly credentials: ClientCredentials,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The `Authorization` header value for the next call. */
  async bearer(): Promise<string> {
    return `Bearer ${(await this.current()).value}`;
  }

  /** Forget the token (the server answered 401): the next call fetches a new one. */
  invalidate(): void {
    this.token = null;
  }

  private async current(): Promise<Token> {
    if (this.token && this.token.expiresAt - EXPIRY_MARGIN_MS > this.now()) return this.token;
    this.pending ??= this.fetchToken().finally(() => (this.pending = null));
    this.token = await this.pending;
    return this.token;
  }

  private async getJson(path: string): Promise<Record<string, unknown>> {
    const url = new URL(path, this.origin);
    let res;
    try {
      res = await request(url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw new ControlPlaneError(
        'UNAVAILABLE',
        `flyteadmin auth discovery ${url.pathname}: cannot reach ${this.origin} (${(err as { code?: string }).code ?? (err as Error).message})`,
      );
    }
    const text = await bodyText(res, `flyteadmin auth discovery: GET ${url.pathname}`);
    if (res.statusCode !== 200) {
      throw new ControlPlaneError(
        res.statusCode >= 500 ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
        `flyteadmin auth discovery: GET ${url.pathname} answered HTTP ${res.statusCode}; is authentication enabled on ${this.origin}? (unset POOLSYNC_FLYTE_CLIENT_ID for a flyteadmin without auth)`,
      );
    }
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ControlPlaneError(
        'UNAVAILABLE',
        `flyteadmin auth discovery: GET ${url.pathname} did not answer JSON`,
      );
    }
  }

  private async discover(): Promise<NonNullable<FlyteTokenSource['discovered']>> {
    if (this.discovered) return this.discovered;
    const [metadata, client] = await Promise.all([
      this.getJson('/.well-known/oauth-authorization-server'),
      this.getJson('/config/v1/flyte_client'),
    ]);
    const endpoint = metadata['token_endpoint'];
    if (typeof endpoint !== 'string' || endpoint === '')
      throw new ControlPlaneError(
        'UNAUTHENTICATED',
        'flyteadmin auth discovery: no token_endpoint in the authorization server metadata',
      );
    const scopes = Array.isArray(client['scopes'])
      ? (client['scopes'] as unknown[]).filter((s): s is string => typeof s === 'string')
      : [];
    this.discovered = {
      // A relative endpoint is resolved against flyteadmin's own address.
      tokenEndpoint: new URL(endpoint, this.origin).toString(),
      scopes,
      audience: typeof client['audience'] === 'string' ? client['audience'] : '',
    };
    return this.discovered;
  }

  private async fetchToken(): Promise<Token> {
    const d = await this.discover();
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (d.scopes.length > 0) form.set('scope', d.scopes.join(' '));
    if (d.audience !== '') form.set('audience', d.audience);
    const basic = Buffer.from(
      `${encodeURIComponent(this.credentials.clientId)}:${encodeURIComponent(this.credentials.clientSecret)}`,
    ).toString('base64');
    let res;
    try {
      res = await request(d.tokenEndpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${basic}`,
        },
        body: form.toString(),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw new ControlPlaneError(
        'UNAVAILABLE',
        `flyteadmin token endpoint ${new URL(d.tokenEndpoint).pathname}: unreachable (${(err as { code?: string }).code ?? (err as Error).message})`,
      );
    }
    const text = await bodyText(
      res,
      `flyteadmin token endpoint ${new URL(d.tokenEndpoint).pathname}`,
    );
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Reported by status below.
    }
    if (res.statusCode !== 200 || typeof body['access_token'] !== 'string') {
      const reason = typeof body['error'] === 'string' ? ` (${body['error']})` : '';
      throw new ControlPlaneError(
        res.statusCode >= 500 ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
        `flyteadmin refused the client credentials of client '${this.credentials.clientId}': token endpoint answered HTTP ${res.statusCode}${reason}; check POOLSYNC_FLYTE_CLIENT_ID and the secret in POOLSYNC_FLYTE_CLIENT_SECRET_FILE`,
      );
    }
    const expiresIn = typeof body['expires_in'] === 'number' ? body['expires_in'] : 3600;
    return { value: body['access_token'], expiresAt: this.now() + expiresIn * 1000 };
  }
}

/** The whole body; one cut off by the network is UNAVAILABLE (transient, retried by the client). */
async function bodyText(res: Dispatcher.ResponseData, what: string): Promise<string> {
  try {
    return await res.body.text();
  } catch (err) {
    throw new ControlPlaneError(
      'UNAVAILABLE',
      `${what}: the answer was cut off (${(err as { code?: string }).code ?? (err as Error).message})`,
    );
  }
}
