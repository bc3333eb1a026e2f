/**
 * OAuth2 client credentials for Union, as its own tools do it (oauth.go in
 * unionai/terraform-provider-unionai, src/auth.ts in flyteorg/flyte-sdk-ts), on the one OAuth2
 * client of every backend (controlplane/oauth/: discovery with the OpenID Connect fallback,
 * token cache and refresh, retries with the RPCs' backoff). What is Union's: the API key is the
 * client, a failed discovery asks whether --control-plane is the key's endpoint, and each OAuth2
 * error code gets Union's own message (oauth-errors.ts).
 */
import { discover as discoverOAuth, type Discovery } from '../oauth/discovery.js';
import type { OAuthHttp } from '../oauth/http.js';
import { TokenSource as ClientCredentialsTokens } from '../oauth/token-source.js';
import type { UnionApiKey } from './api-key.js';
import { tokenRefusal } from './oauth-errors.js';

export { DEFAULT_AUTH_HEADER, type Discovery } from '../oauth/discovery.js';
export { isLoopback, type OAuthHttp } from '../oauth/http.js';

const SERVICE = 'Union';

export function discover(baseUrl: string, http: OAuthHttp = {}): Promise<Discovery> {
  return discoverOAuth(baseUrl, {
    service: SERVICE,
    http,
    hint: (message) =>
      /HTTP 404/.test(message)
        ? ': the server has no OAuth2 discovery there; is --control-plane the Union endpoint of the API key (https://<org>.<region>.unionai.cloud)?'
        : '',
  });
}

/** Client-credentials tokens for one API key against one discovered token endpoint. */
export class TokenSource extends ClientCredentialsTokens {
  constructor(
    key: UnionApiKey,
    private readonly foundDiscovery: Discovery,
    http: OAuthHttp = {},
    now: () => number = Date.now,
  ) {
    super(
      { clientId: key.clientId, clientSecret: key.clientSecret },
      foundDiscovery,
      { service: SERVICE, refusal: tokenRefusal, http },
      now,
    );
  }

  /** The header the token is sent in, as discovery found it. */
  get headerName(): string {
    return this.foundDiscovery.headerName;
  }
}
