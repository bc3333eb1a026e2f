/**
 * A local OAuth2 authorisation server for the embedded control plane's Union API
 * (`control-plane serve --oauth-client-file F`): the discovery documents Union serves
 * (/.well-known/oauth-authorization-server, /config/v1/flyte_client) and a client-credentials
 * token endpoint (/oauth2/token, RFC 6749 4.4, client_secret_basic or client_secret_post).
 * Tokens are random, kept in memory with their expiry (short on purpose in tests, so refresh
 * is exercised). Nothing here logs or returns a secret or a token except the token response.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { load } from '../../util/js-yaml.js';
import { constantTimeEqual } from '../../util/constant-time.js';
import { UserError } from '../../util/user-error.js';

export interface OAuthClientConfig {
  client_id: string;
  client_secret: string;
  /** The organisation the API serves; calls naming another are refused. */
  org: string;
  /** Default 3600. */
  token_ttl_seconds: number;
  /** Header clients must send the token in (discovered as authorization_metadata_key). */
  authorization_metadata_key: string;
}

export const OAUTH_PATHS = [
  '/.well-known/oauth-authorization-server',
  '/config/v1/flyte_client',
  '/oauth2/token',
] as const;

/** Reads the YAML/JSON client file; errors name the file and the field, never a value. */
export async function readOAuthClientFile(path: string): Promise<OAuthClientConfig> {
  let doc: unknown;
  try {
    doc = load(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read --oauth-client-file ${path}: ${code ?? (err as Error).message.split('\n')[0]}`,
    );
  }
  const d = (doc ?? {}) as Record<string, unknown>;
  const str = (field: string, fallback?: string): string => {
    const v = d[field] ?? fallback;
    if (typeof v !== 'string' || v === '')
      throw new UserError(`${path}: "${field}" must be a non-empty string`);
    return v;
  };
  const ttl = d.token_ttl_seconds ?? 3600;
  if (typeof ttl !== 'number' || !(ttl > 0))
    throw new UserError(`${path}: "token_ttl_seconds" must be a positive number`);
  return {
    client_id: str('client_id'),
    client_secret: str('client_secret'),
    org: str('org'),
    token_ttl_seconds: ttl,
    authorization_metadata_key: str('authorization_metadata_key', 'authorization').toLowerCase(),
  };
}

export type TokenCheck = 'ok' | 'missing' | 'invalid' | 'expired';

export class OAuthServer {
  private readonly tokens = new Map<string, number>();
  /** Tokens issued (tests). */
  issued = 0;

  constructor(
    readonly config: OAuthClientConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** Serves the three OAuth paths; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '').split('?')[0];
    const base = `http://${req.headers.host ?? 'localhost'}`;
    if (req.method === 'GET' && path === OAUTH_PATHS[0]) {
      json(res, 200, {
        issuer: base,
        token_endpoint: `${base}/oauth2/token`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
      return true;
    }
    if (req.method === 'GET' && path === OAUTH_PATHS[1]) {
      json(res, 200, {
        client_id: 'poolsync',
        scopes: ['all'],
        audience: base,
        authorization_metadata_key: this.config.authorization_metadata_key,
      });
      return true;
    }
    if (path === OAUTH_PATHS[2]) {
      if (req.method !== 'POST') {
        json(res, 405, { error: 'invalid_request' });
        return true;
      }
      void this.token(req, res);
      return true;
    }
    return false;
  }

  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) {
      raw += String(chunk);
      if (raw.length > 16_384) return json(res, 413, { error: 'invalid_request' });
    }
    const form = new URLSearchParams(raw);
    let id = form.get('client_id') ?? '';
    let secret = form.get('client_secret') ?? '';
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      // RFC 6749 2.3.1: both parts form-urlencoded.
      id = decodeURIComponent(decoded.slice(0, i));
      secret = decodeURIComponent(decoded.slice(i + 1));
    }
    if (form.get('grant_type') !== 'client_credentials')
      return json(res, 400, { error: 'unsupported_grant_type' });
    const ok =
      constantTimeEqual(id, this.config.client_id) &&
      constantTimeEqual(secret, this.config.client_secret);
    if (!ok) return json(res, 401, { error: 'invalid_client' });
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    for (const [t, exp] of this.tokens) if (exp <= now) this.tokens.delete(t);
    this.tokens.set(token, now + this.config.token_ttl_seconds * 1000);
    this.issued++;
    json(res, 200, {
      access_token: token,
      token_type: 'Bearer',
      expires_in: this.config.token_ttl_seconds,
      scope: 'all',
    });
  }

  /** Forgets every token issued (a key rotation); clients must fetch new ones. */
  revokeAll(): void {
    this.tokens.clear();
  }

  /** Checks `<authorization_metadata_key>: Bearer <token>`. */
  check(header: string | null): TokenCheck {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) return 'missing';
    const exp = this.tokens.get(m[1]!);
    if (exp === undefined) return 'invalid';
    return exp > this.now() ? 'ok' : 'expired';
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
