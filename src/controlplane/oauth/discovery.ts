/**
 * Where a client-credentials token comes from, as the Flyte and Union clients find it
 * (flyteidl clients/go/admin and unionai/terraform-provider-unionai internal/provider/oauth.go):
 * the authorization server metadata (RFC 8414, GET /.well-known/oauth-authorization-server:
 * the token endpoint and the client authentication methods it takes) and the public client
 * configuration (GET /config/v1/flyte_client: scopes, audience, the header the token travels
 * in). As oauth.go does for deployments without that metadata, discovery falls back to OpenID
 * Connect (GET /.well-known/openid-configuration: the issuer — the endpoint may be a CNAME of
 * it — then the issuer's own document, which must name that issuer).
 *
 * The requests are oauth4webapi's (discoveryRequest; processDiscoveryResponse checks the
 * issuer's OpenID document). The service's own metadata is not issuer-checked: flyteadmin
 * serves an external authorization server's metadata as it is (auth/authzserver/metadata.go),
 * whose issuer is that server, not the endpoint poolsync was given.
 */
import * as oauth from 'oauth4webapi';
import { ControlPlaneError, UnreachableError } from '../errors.js';
import {
  insecureAllowed,
  isLoopback,
  retryingFetch,
  transientStatus,
  type OAuthHttp,
} from './http.js';

/** oauth.go: defaultAuthorizationMetadataKey. */
export const DEFAULT_AUTH_HEADER = 'authorization';

export interface Discovery {
  tokenEndpoint: string;
  scopes: string[];
  audience: string;
  /** The header the token is sent in (`authorization`, `flyte-authorization`…), lower case. */
  headerName: string;
  /**
   * RFC 8414 token_endpoint_auth_methods_supported: `client_secret_post` when the server takes
   * that and not `client_secret_basic`; absent: client_secret_basic (RFC 6749 2.3.1's default).
   */
  authMethod?: 'client_secret_post';
}

export interface DiscoveryOptions {
  /** Who is asked, for messages: `Union`, `flyteadmin`. */
  service: string;
  http?: OAuthHttp;
  /** What to add to a failed discovery's message (what to check), given that message. */
  hint?: (message: string) => string;
}

type Json = Record<string, unknown>;

/** Discovery found nothing a token can be asked of. */
const refused = (message: string) => new ControlPlaneError('UNAUTHENTICATED', message);

async function readJson(res: Response, url: string, what: string, o: DiscoveryOptions) {
  if (!res.ok) {
    await res.body?.cancel();
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
    throw new ControlPlaneError(
      'UNAVAILABLE',
      `${o.service} ${what}: the answer of ${url} was cut off (${(err as Error).message})`,
    );
  }
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw refused(`${o.service} ${what}: ${url} did not answer JSON`);
  }
}

/** GET of a well-known document under `issuer` (oauth4webapi's discoveryRequest). */
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

/** The token endpoint, checked: https (or loopback), so a secret never travels in clear text. */
function tokenEndpointOf(raw: string, base: string, where: string, o: DiscoveryOptions): string {
  if (raw === '') throw refused(`${o.service} ${where} names no token_endpoint`);
  const url = new URL(raw, `${base}/`);
  if (url.protocol !== 'https:' && !isLoopback(url.hostname))
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

/** The service's own metadata: the authorization server document and the flyte client config. */
async function serviceMetadata(base: string, o: DiscoveryOptions): Promise<Discovery> {
  const metaUrl = `${base}/.well-known/oauth-authorization-server`;
  const clientUrl = `${base}/config/v1/flyte_client`;
  const getClient = retryingFetch(o.service, 'client configuration discovery', o.http ?? {});
  // Both documents are fetched at once, but a failure is reported in a fixed order (the
  // OAuth2 document first): when both fail, which one failed first is a race.
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

/** The issuer's own OpenID document, its issuer checked by oauth4webapi. */
async function issuerDocument(issuer: string, o: DiscoveryOptions): Promise<Json> {
  const what = 'OpenID Connect discovery';
  const url = `${issuer}/.well-known/openid-configuration`;
  const res = await wellKnown(issuer, 'oidc', what, o);
  if (!res.ok) return readJson(res, url, what, o);
  try {
    return (await oauth.processDiscoveryResponse(new URL(issuer), res)) as Json;
  } catch (err) {
    const mismatch =
      err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON;
    throw refused(
      mismatch
        ? `${o.service} ${what}: the OpenID configuration of ${issuer} names another issuer`
        : `${o.service} ${what}: ${url} is not an OpenID configuration (${(err as Error).message})`,
    );
  }
}

async function openIdMetadata(base: string, o: DiscoveryOptions): Promise<Discovery> {
  const what = 'OpenID Connect discovery';
  const url = `${base}/.well-known/openid-configuration`;
  const first = await readJson(await wellKnown(base, 'oidc', what, o), url, what, o);
  const issuer = typeof first.issuer === 'string' ? first.issuer.replace(/\/+$/, '') : '';
  if (issuer === '') throw refused(`${o.service} ${what}: ${url} names no issuer`);
  const doc = issuer === base ? first : await issuerDocument(issuer, o);
  return {
    tokenEndpoint: tokenEndpointOf(
      String(doc.token_endpoint ?? ''),
      issuer,
      `${what}: ${issuer}/.well-known/openid-configuration`,
      o,
    ),
    scopes: [],
    audience: '',
    headerName: DEFAULT_AUTH_HEADER,
    authMethod: authMethodOf(doc),
  };
}

const asControlPlaneError = (err: unknown): ControlPlaneError =>
  err instanceof ControlPlaneError ? err : refused((err as Error).message);

/** The service's metadata, else OpenID Connect's; both failing: one error naming both. */
export async function discover(baseUrl: string, o: DiscoveryOptions): Promise<Discovery> {
  const base = baseUrl.replace(/\/+$/, '');
  try {
    return await serviceMetadata(base, o);
  } catch (serviceErr) {
    // Nothing answers there: asking the same host again (OpenID Connect) or adding a hint about
    // authentication would only hide that.
    if (serviceErr instanceof UnreachableError) throw serviceErr;
    try {
      return await openIdMetadata(base, o);
    } catch (oidcErr) {
      const first = asControlPlaneError(serviceErr);
      throw new ControlPlaneError(
        first.code === 'UNAVAILABLE' ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
        `${first.message}; the fallback failed too (${(oidcErr as Error).message})${o.hint?.(first.message) ?? ''}`,
      );
    }
  }
}
