/**
 * The OAuth2 side of the embedded flyteadmin gateway (flyteadmin-gateway.ts), as flyteadmin's
 * own authorization server serves it: discovery at `/.well-known/oauth-authorization-server`
 * and `/config/v1/flyte_client`, client-credentials tokens at `/oauth2/token`, and the token
 * checked on every API call. As flyteadmin's HTTP gateway does, the token is read from its
 * `httpAuthorizationHeader` (`flyte-authorization` by default, auth/config/config.go) and, when
 * that is empty, from `Authorization` (auth/handlers.go IdentityContextFromRequest).
 * Tokens are random, held in memory, and expire; secrets are compared in constant time.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { constantTimeEqual } from '../../util/constant-time.js';

export const FLYTE_AUTHORIZATION_HEADER = 'flyte-authorization';
export const TOKEN_PATH = '/oauth2/token';
export const METADATA_PATH = '/.well-known/oauth-authorization-server';
export const CLIENT_CONFIG_PATH = '/config/v1/flyte_client';

export interface FlyteOAuthOptions {
  clientId: string;
  clientSecret: string;
  /** Lifetime of issued tokens (default 3600 s). */
  tokenTtlSeconds?: number;
  /** Scopes announced by /config/v1/flyte_client (default ["all"], as flyteadmin's). */
  scopes?: string[];
  audience?: string;
}

export interface OAuthReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export class FlyteOAuthServer {
  private readonly tokens = new Map<string, number>();
  private readonly ttl: number;

  constructor(
    private readonly opts: FlyteOAuthOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.ttl = opts.tokenTtlSeconds ?? 3600;
  }

  /** flyteadmin's OAuth2MetadataResponse (service/auth.proto), proto field names. */
  metadata(issuer: string): OAuthReply {
    return {
      status: 200,
      body: {
        issuer,
        authorization_endpoint: `${issuer}/oauth2/authorize`,
        token_endpoint: `${issuer}${TOKEN_PATH}`,
        response_types_supported: ['code', 'token', 'code token'],
        scopes_supported: this.opts.scopes ?? ['all'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        jwks_uri: `${issuer}/oauth2/jwks`,
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: ['client_credentials', 'refresh_token', 'authorization_code'],
        device_authorization_endpoint: '',
      },
    };
  }

  /** flyteadmin's PublicClientAuthConfigResponse. */
  clientConfig(): OAuthReply {
    return {
      status: 200,
      body: {
        client_id: 'flytectl',
        redirect_uri: 'http://localhost:53593/callback',
        scopes: this.opts.scopes ?? ['all'],
        authorization_metadata_key: FLYTE_AUTHORIZATION_HEADER,
        service_http_endpoint: '',
        audience: this.opts.audience ?? '',
      },
    };
  }

  /** RFC 6749 §4.4 client credentials; client authentication by Basic header or form fields. */
  token(req: IncomingMessage, form: URLSearchParams): OAuthReply {
    const error = (status: number, code: string, description: string): OAuthReply => ({
      status,
      body: { error: code, error_description: description },
      ...(status === 401 ? { headers: { 'www-authenticate': 'Basic realm="flyteadmin"' } } : {}),
    });
    let id = form.get('client_id') ?? '';
    let secret = form.get('client_secret') ?? '';
    const basic = /^Basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        id = decodeURIComponent(decoded.slice(0, colon));
        secret = decodeURIComponent(decoded.slice(colon + 1));
      }
    }
    // Both compared whatever the first answer, so timing does not tell which one was wrong.
    const idOk = constantTimeEqual(id, this.opts.clientId);
    const secretOk = constantTimeEqual(secret, this.opts.clientSecret);
    if (!idOk || !secretOk) return error(401, 'invalid_client', 'client authentication failed');
    if (form.get('grant_type') !== 'client_credentials')
      return error(400, 'unsupported_grant_type', 'only client_credentials is supported');
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, this.now() + this.ttl * 1000);
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

  /** null when the request carries a valid token; else why not (for the Unauthenticated status). */
  check(req: IncomingMessage, httpAuthorizationHeader = FLYTE_AUTHORIZATION_HEADER): string | null {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(
      gatewayAuthorization(req, httpAuthorizationHeader) ?? '',
    );
    if (!match)
      return `missing 'Authorization: Bearer <token>' (or '${httpAuthorizationHeader}') header`;
    const expires = this.tokens.get(match[1]!);
    if (expires === undefined) return 'token is not one this server issued';
    if (expires <= this.now()) {
      this.tokens.delete(match[1]!);
      return 'token has expired';
    }
    return null;
  }
}

/**
 * The authorization value flyteadmin's HTTP gateway reads: its `httpAuthorizationHeader`
 * (default `flyte-authorization`), else the standard `Authorization` header
 * (auth/handlers.go IdentityContextFromRequest).
 */
export function gatewayAuthorization(
  req: IncomingMessage,
  httpAuthorizationHeader: string = FLYTE_AUTHORIZATION_HEADER,
): string | null {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? '';
  const custom = first(req.headers[httpAuthorizationHeader.toLowerCase()]);
  const value = custom !== '' ? custom : first(req.headers.authorization);
  return value === '' ? null : value;
}
