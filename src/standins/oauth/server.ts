/**
 * The stand-in OAuth2 authorization server of the Union and flyteadmin stand-ins, as
 * flyteadmin's own authorization server serves it (flyteadmin auth/authzserver/metadata_provider.go,
 * auth/handlers.go; Union serves the same documents): discovery at
 * `/.well-known/oauth-authorization-server` (RFC 8414; flyteadmin's OAuth2MetadataResponse,
 * service/auth.proto) and `/config/v1/flyte_client` (PublicClientAuthConfigResponse),
 * client-credentials tokens at `/oauth2/token` (RFC 6749 4.4; client_secret_basic with
 * form-urlencoded parts, 2.3.1, or client_secret_post; a 401 with a WWW-Authenticate challenge,
 * 5.2), and the check of a presented token.
 * Tokens are random, held in memory with their expiry (short on purpose in tests, so refresh is
 * exercised); secrets are compared in constant time; nothing here logs or returns a secret or a
 * token except the token response.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constantTimeEqual } from '../../util/constant-time.js';
import { readLimitedBody } from '../../util/request-body.js';
import { send as sendJson } from '../../controlplane/embedded/server.js';

export const METADATA_PATH = '/.well-known/oauth-authorization-server';
export const CLIENT_CONFIG_PATH = '/config/v1/flyte_client';
export const TOKEN_PATH = '/oauth2/token';
export const OAUTH_PATHS = [METADATA_PATH, CLIENT_CONFIG_PATH, TOKEN_PATH] as const;

export interface OAuthStandInOptions {
  clientId: string;
  clientSecret: string;
  /** Lifetime of issued tokens (default 3600 s). */
  tokenTtlSeconds?: number;
  /** Scopes announced by /config/v1/flyte_client (default ["all"], as flyteadmin's). */
  scopes?: string[];
  /** The audience announced; absent: the issuer (the address the client used). */
  audience?: string;
  /** The header clients send the token in (authorization_metadata_key; default `authorization`). */
  authorizationMetadataKey?: string;
  /** token_endpoint_auth_methods_supported (default client_secret_basic and _post). */
  authMethods?: readonly ('client_secret_basic' | 'client_secret_post')[];
  /** The realm of the 401's WWW-Authenticate challenge. */
  realm?: string;
}

export interface OAuthReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type TokenCheck = 'ok' | 'missing' | 'invalid' | 'expired';

const BODY_LIMIT = 16_384;

export class OAuthStandIn {
  private readonly tokens = new Map<string, number>();
  private readonly ttl: number;
  readonly authorizationMetadataKey: string;
  /** Tokens issued (tests). */
  issued = 0;

  constructor(
    private readonly opts: OAuthStandInOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.ttl = opts.tokenTtlSeconds ?? 3600;
    this.authorizationMetadataKey = (
      opts.authorizationMetadataKey ?? 'authorization'
    ).toLowerCase();
  }

  /** Serves the three OAuth2 paths (answering, true); false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '').split('?')[0];
    const issuer = `http://${req.headers.host ?? 'localhost'}`;
    const method = req.method ?? 'GET';
    if (path === METADATA_PATH && method === 'GET')
      send(res, { status: 200, body: this.metadata(issuer) });
    else if (path === CLIENT_CONFIG_PATH && method === 'GET')
      send(res, { status: 200, body: this.clientConfig(issuer) });
    else if (path === TOKEN_PATH && method === 'POST') void this.tokenRequest(req, res);
    else if ((OAUTH_PATHS as readonly string[]).includes(path ?? ''))
      send(res, { status: 405, body: { error: 'invalid_request' } });
    else return false;
    return true;
  }

  /** flyteadmin's OAuth2MetadataResponse (service/auth.proto), proto field names. */
  private metadata(issuer: string) {
    return {
      issuer,
      authorization_endpoint: `${issuer}/oauth2/authorize`,
      token_endpoint: `${issuer}${TOKEN_PATH}`,
      response_types_supported: ['code', 'token', 'code token'],
      scopes_supported: this.opts.scopes ?? ['all'],
      token_endpoint_auth_methods_supported: this.opts.authMethods ?? [
        'client_secret_basic',
        'client_secret_post',
      ],
      jwks_uri: `${issuer}/oauth2/jwks`,
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['client_credentials', 'refresh_token', 'authorization_code'],
      device_authorization_endpoint: '',
    };
  }

  /** flyteadmin's PublicClientAuthConfigResponse. */
  private clientConfig(issuer: string) {
    return {
      client_id: 'flytectl',
      redirect_uri: 'http://localhost:53593/callback',
      scopes: this.opts.scopes ?? ['all'],
      authorization_metadata_key: this.authorizationMetadataKey,
      service_http_endpoint: '',
      audience: this.opts.audience ?? issuer,
    };
  }

  /** RFC 6749 4.4 client credentials; client authentication by Basic header or form fields. */
  token(req: IncomingMessage, form: URLSearchParams): OAuthReply {
    const error = (status: number, code: string, description: string): OAuthReply => ({
      status,
      body: { error: code, error_description: description },
      headers:
        status === 401
          ? { 'www-authenticate': `Basic realm="${this.opts.realm ?? 'poolsync'}"` }
          : undefined,
    });
    let id = form.get('client_id') ?? '';
    let secret = form.get('client_secret') ?? '';
    const basic = /^Basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      // RFC 6749 2.3.1: both parts application/x-www-form-urlencoded.
      const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
      if (colon > 0) {
        id = formDecode(decoded.slice(0, colon));
        secret = formDecode(decoded.slice(colon + 1));
      }
    }
    // Both compared whatever the first answer, so timing does not tell which one was wrong.
    const idOk = constantTimeEqual(id, this.opts.clientId);
    const secretOk = constantTimeEqual(secret, this.opts.clientSecret);
    if (!idOk || !secretOk) return error(401, 'invalid_client', 'client authentication failed');
    if (form.get('grant_type') !== 'client_credentials')
      return error(400, 'unsupported_grant_type', 'only client_credentials is supported');
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    for (const [t, exp] of this.tokens) if (exp <= now) this.tokens.delete(t);
    this.tokens.set(token, now + this.ttl * 1000);
    this.issued++;
    return {
      status: 200,
      body: {
        access_token: token,
        token_type: 'bearer',
        expires_in: this.ttl,
        scope: form.get('scope') ?? (this.opts.scopes ?? ['all']).join(' '),
      },
    };
  }

  /** Forgets every token issued (a key rotation); clients must fetch new ones. */
  revokeAll(): void {
    this.tokens.clear();
  }

  /** Checks a `Bearer <token>` value. */
  check(header: string | null): TokenCheck {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return 'missing';
    const exp = this.tokens.get(m[1]!);
    if (exp === undefined) return 'invalid';
    return exp > this.now() ? 'ok' : 'expired';
  }

  private async tokenRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readLimitedBody(req, BODY_LIMIT, (m) => new Error(m)).catch(() => null);
    if (raw === null) return send(res, { status: 413, body: { error: 'invalid_request' } });
    send(res, this.token(req, new URLSearchParams(raw.toString('utf8'))));
  }
}

function send(res: ServerResponse, reply: OAuthReply): void {
  sendJson(res, reply.status, reply.body, { ...reply.headers, 'cache-control': 'no-store' });
}
