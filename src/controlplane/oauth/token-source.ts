/**
 * Client-credentials tokens (RFC 6749 4.4) for one client against one discovered token
 * endpoint, on oauth4webapi: the request with client_secret_basic (both parts form-urlencoded,
 * RFC 6749 2.3.1, so a ':' in the secret stays in it) or client_secret_post, the answer checked
 * (access_token, token_type, expires_in), its OAuth2 error (RFC 6749 5.2) handed to the
 * backend's own message. A token is cached and fetched again before it expires or when the
 * server refused it; one request in flight at a time, callers share its result. Errors name
 * the URL, the HTTP status and the error code, never the secret or the token.
 */
import * as oauth from 'oauth4webapi';
import { ControlPlaneError } from '../errors.js';
import type { Discovery } from './discovery.js';
import { insecureAllowed, retryingFetch, type OAuthHttp } from './http.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface TokenOptions {
  /** Who is asked, for messages: `Union`, `flyteadmin`. */
  service: string;
  /**
   * The error for a refused token request: the HTTP status and the RFC 6749 `error` code
   * (null when the answer has none). Only the code is shown, never `error_description` (a
   * server may echo request values in it).
   */
  refusal: (status: number, code: string | null, discovery: Discovery) => ControlPlaneError;
  http?: OAuthHttp;
}

interface Cached {
  token: string;
  /** When to fetch the next one (before the real expiry). */
  refreshAt: number;
}

/** An RFC 6749 error code as given, or null: never free text from the server. */
const errorCode = (code: unknown): string | null =>
  typeof code === 'string' && /^[\w.-]{1,64}$/.test(code) ? code : null;

async function codeOfBody(res: Response): Promise<string | null> {
  const json = (await res.json().catch(() => ({}))) as { error?: unknown };
  return errorCode(json.error);
}

export class TokenSource {
  private cached: Cached | null = null;
  private inflight: Promise<string> | null = null;
  private found: Promise<Discovery> | null = null;
  /** Tokens fetched so far (tests, `--log-level debug`). */
  fetched = 0;

  /** `discovery` as found, or how to find it on the first token (then kept). */
  constructor(
    private readonly credentials: ClientCredentials,
    private readonly discovery: Discovery | (() => Promise<Discovery>),
    private readonly opts: TokenOptions,
    private readonly now: () => number = Date.now,
  ) {}

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

  private discovered(): Promise<Discovery> {
    const d = this.discovery;
    if (typeof d !== 'function') return Promise.resolve(d);
    // A failed discovery is asked again by the next call.
    this.found ??= d().catch((err: unknown) => {
      this.found = null;
      throw err;
    });
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
    const started = this.now();
    const res = await oauth.clientCredentialsGrantRequest(as, client, auth, params, {
      [oauth.customFetch]: retryingFetch(this.opts.service, 'token request', this.opts.http ?? {}),
      [oauth.allowInsecureRequests]: insecureAllowed(d.tokenEndpoint),
    });
    let answer: oauth.TokenEndpointResponse;
    try {
      answer = await oauth.processClientCredentialsResponse(as, client, res);
    } catch (err) {
      throw await this.refused(err, d);
    }
    const lifetimeMs = (answer.expires_in ?? 3600) * 1000;
    // Refresh a quarter of the lifetime (at most a minute, as flyte-sdk-ts) before expiry, so
    // a call never leaves with a token that expires on the way.
    const skew = Math.min(60_000, lifetimeMs / 4);
    this.cached = { token: answer.access_token, refreshAt: started + lifetimeMs - skew };
    this.fetched++;
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
      if (err.cause instanceof Response) return refusal(err.cause.status, null, d);
      // A body cut off after its headers fails to parse with a TypeError, not a SyntaxError:
      // transient, like no answer at all.
      if (err.code === oauth.PARSE_ERROR && !(err.cause instanceof SyntaxError))
        return new ControlPlaneError(
          'UNAVAILABLE',
          `${service} token request: the answer of ${d.tokenEndpoint} was cut off (${(err.cause as Error | undefined)?.message ?? 'unreadable'})`,
        );
      const what = /access_token/.test(err.message)
        ? 'without an access_token'
        : `a token response poolsync cannot use (${err.message})`;
      return new ControlPlaneError(
        'UNAUTHENTICATED',
        `${service} token request: ${d.tokenEndpoint} answered ${what}`,
      );
    }
    return err instanceof ControlPlaneError
      ? err
      : new ControlPlaneError(
          'UNAUTHENTICATED',
          `${service} token request: ${(err as Error).message}`,
        );
  }
}
