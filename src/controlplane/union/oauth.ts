/**
 * OAuth2 client credentials for Union, as its own tools do it (oauth.go in
 * unionai/terraform-provider-unionai, src/auth.ts in flyteorg/flyte-sdk-ts), on ../oauth.ts.
 * Union's: the API key is the client, and the messages of a failed discovery and a refused token.
 */
import { isIP } from 'node:net';
import {
  TokenSource,
  discover as discoverOAuth,
  type Discovery,
  type OAuthHttp,
} from '../oauth.js';
import { transientStatus } from '../retry.js';
import { ControlPlaneError } from '../errors.js';
import { readUserFile, SECRET_FILE_BYTES } from '../../util/safe-file.js';
import { UserError } from '../../util/user-error.js';
import { rememberSecret } from '../../util/redact.js';
import type { Env } from '../../util/env.js';

const SERVICE = 'Union';

export function discover(baseUrl: string, http: OAuthHttp = {}): Promise<Discovery> {
  return discoverOAuth(baseUrl, {
    service: SERVICE,
    http,
    hint: (message, code) =>
      code === 'INVALID_ARGUMENT'
        ? ': is --control-plane the Union endpoint of the API key (https://<org>.<region>.unionai.cloud), not of a web page or another server?'
        : /HTTP (404|501)\b/.test(message)
          ? ': the server has no OAuth2 discovery there; is --control-plane the Union endpoint of the API key (https://<org>.<region>.unionai.cloud)?'
          : '',
  });
}

export function unionTokens(key: UnionApiKey, discovery: Discovery, http: OAuthHttp = {}) {
  const refusal = (status: number, error: string | null, d: Discovery) =>
    tokenRefusal(status, error, d, key.source);
  return new TokenSource(key, discovery, { service: SERVICE, refusal, http });
}

/** Where the key that was refused was read: a second source set beside it is refused (resolveApiKey). */
const newKey = (source: string) =>
  `create one with \`flyte create api-key --name poolsync\` and put it in ${source}, where this one was read`;

/** What each RFC 6749 error code means for a Union API key, given what was answered and asked. */
const MEANING: Record<
  string,
  (answered: string, scopes: string, d: Discovery, source: string) => string
> = {
  invalid_client: (answered, _scopes, _d, source) =>
    `Union refused the API key's client credentials (token endpoint ${answered}): the key in ${source} is revoked, expired or mistyped; ${newKey(source)}`,
  invalid_scope: (answered, scopes) =>
    `Union's token endpoint refused the scopes poolsync asked for (${scopes}, as /config/v1/flyte_client advertises; token endpoint ${answered}): the API key's application may not have them; give its role those scopes, or check that --control-plane is the endpoint the key was issued for`,
  unauthorized_client: (answered, _scopes, _d, source) =>
    `Union's token endpoint does not let the API key's application use client credentials (token endpoint ${answered}): use an API key (an application), not a user's client; ${newKey(source)}`,
  invalid_grant: (answered, _scopes, _d, source) =>
    `Union's token endpoint refused the grant (token endpoint ${answered}): the API key's application may be disabled or expired; ${newKey(source)}`,
  unsupported_grant_type: (answered) =>
    `the discovered token endpoint does not offer client credentials (token endpoint ${answered}): it is not one a Union API key works with; check that --control-plane is the Union endpoint of the key`,
  invalid_request: (answered, scopes, d) =>
    `Union's token endpoint found the token request malformed (token endpoint ${answered}): the audience ${d.audience ? `"${d.audience}"` : '(none)'} or scopes ${scopes} the endpoint advertises may not fit it; report it to the Union administrators of the organisation`,
  access_denied: (answered) =>
    `Union's token endpoint denied the API key's application a token (token endpoint ${answered}): its role may not use this organisation; check the key's org and role`,
};

/**
 * A refused token request (RFC 6749 5.2 `error`), said so that the person knows what to change;
 * never `error_description` (a server may echo request values in it), the key or the secret.
 */
export function tokenRefusal(status: number, error: string | null, d: Discovery, source: string) {
  const answered = `${d.tokenEndpoint} answered HTTP ${status}${error ? ` ${error}` : ''}`;
  const scopes = d.scopes.length > 0 ? `"${d.scopes.join(' ')}"` : 'none';
  const meaning =
    (error !== null && Object.hasOwn(MEANING, error) ? MEANING[error] : undefined) ??
    (status === 401 || status === 403 ? MEANING.invalid_client : undefined);
  if (meaning)
    return new ControlPlaneError('UNAUTHENTICATED', meaning(answered, scopes, d, source));
  return new ControlPlaneError(
    transientStatus(status) ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
    `Union token request failed: ${answered}`,
  );
}

/**
 * Union API keys: base64 of `endpoint:client_id:client_secret:org`, as `flyte create api-key`
 * prints it (decodeApiKey in unionai/terraform-provider-unionai internal/provider/oauth.go).
 * Never from a flag value; no message here holds any part of it but the endpoint and the org.
 */
export interface UnionApiKey {
  /** Host (and port), without scheme: `acme.hosted.unionai.cloud`. */
  endpoint: string;
  clientId: string;
  clientSecret: string;
  org: string;
  /** Where it was read, for its errors: `POOLSYNC_UNION_API_KEY`, `--api-key-file FILE`. */
  source: string;
}

export const API_KEY_ENV = 'POOLSYNC_UNION_API_KEY';
/** The daemon, containers with mounted secrets. */
export const API_KEY_FILE_ENV = 'POOLSYNC_UNION_API_KEY_FILE';
const FORMAT =
  'it must be the base64 text of endpoint:client_id:client_secret:org that `flyte create api-key` prints';

/** `dns:///host`, `https://host/`, `host` → `host`. */
export function normaliseEndpoint(endpoint: string): string {
  return endpoint
    .trim()
    .replace(/^dns:\/\/\//, '')
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/+$/, '');
}

/** What a key of too few fields holds after its endpoint, by how many follow it (never their text). */
const MISSING = [
  ', but no client id, client secret or org',
  ' and a client id, but no client secret or org',
  ', a client id and a client secret, but no org',
];

/**
 * `source`, for the error: `POOLSYNC_UNION_API_KEY`, a file path; `host`, the control plane's
 * HOST[:PORT], when known. The endpoint may have a `dns:///` or `http(s)://` prefix and a port.
 * Union's own tools split differently (Go provider and Python CLI: at most 4 fields from the
 * left, so a ':' in the secret moves into the org; flyte-sdk-ts: 3 from the right, into the
 * client id); all agree with this on every key whose secret has no ':', and this also reads one
 * that has (between the client id and the org).
 */
export function parseApiKey(raw: string, source: string, host?: string): UnionApiKey {
  // Whitespace anywhere is dropped, as Union's client decodes (flyte 2.12.1,
  // flyte/remote/_client/auth/_auth_utils.py:10: b64decode discards what is not base64): GNU
  // `base64` wraps at 76 columns.
  const text = raw.replace(/\s+/g, '');
  const bad = (why: string) =>
    new UserError(`the Union API key in ${source} is not valid (${why}): ${FORMAT}`);
  if (text === '') throw bad('empty');
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(text)) throw bad('not base64');
  // `echo … | base64` encodes a newline after the org; no field ends in whitespace.
  const decoded = Buffer.from(text, 'base64').toString('utf8').trim();
  const parts = decoded.split(':');
  // `dns:///host`, `https://host`: the scheme's ':' is not a separator.
  const portAt = /^(dns|https?)$/i.test(parts[0]!) && parts[1]?.startsWith('//') ? 2 : 1;
  // A port, when the three fields after the endpoint still follow it, or when it makes the
  // endpoint the control plane's (then a key without its org is told so, not read as another
  // host's with the port for its client id, as _auth_utils.py:10 reads it).
  const port =
    /^\d{1,5}$/.test(parts[portAt] ?? '') &&
    (parts.length - portAt - 1 >= 3 ||
      normaliseEndpoint(parts.slice(0, portAt + 1).join(':')).toLowerCase() ===
        host?.toLowerCase());
  const at = port ? portAt + 1 : portAt;
  const endpoint = normaliseEndpoint(parts.slice(0, at).join(':'));
  if (endpoint === '') throw bad('no endpoint');
  const rest = parts.slice(at);
  if (rest.length < 3)
    throw bad(
      `${parts.length} colon-separated field${parts.length > 1 ? 's' : ''}: an endpoint${port ? ' with a port' : ''}${MISSING[rest.length]}`,
    );
  const clientId = rest[0]!;
  const org = rest[rest.length - 1]!;
  const clientSecret = rest.slice(1, -1).join(':');
  if (clientId === '') throw bad('no client id');
  if (clientSecret === '') throw bad('no client secret');
  // Remembered once it is a key: text that is not one (a placeholder, a word) is no secret,
  // and scrubbing it would mangle every path and message that holds the word.
  rememberSecret(text, `the Union API key in ${source}`);
  rememberSecret(clientSecret, `the Union API key in ${source} (its client secret)`);
  // oauth.go: an empty or "None" org means the first label of the host; an address has none.
  const noOrg = org === '' || org.toLowerCase() === 'none';
  const hostname = endpoint.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (noOrg && (isIP(hostname) !== 0 || !hostname.includes('.')))
    throw bad(
      `its org field is ${org === '' ? 'empty' : 'None'}, and its endpoint ${endpoint} has no first label to name the org: write the org after the last ':'`,
    );
  const resolvedOrg = noOrg ? hostname.split('.')[0]! : org;
  return { endpoint, clientId, clientSecret, org: resolvedOrg, source };
}

/**
 * --api-key-file (an environment's `apiKeyFile`), else the file named by
 * POOLSYNC_UNION_API_KEY_FILE, else POOLSYNC_UNION_API_KEY; both variables set is refused, as
 * one would silently win over the other.
 */
export async function resolveApiKey(
  flagFile: string | undefined,
  vars: Env,
  host?: string,
): Promise<UnionApiKey> {
  const envFile = vars[API_KEY_FILE_ENV]?.trim();
  if (!flagFile && envFile && vars[API_KEY_ENV]?.trim())
    throw new UserError(
      `both ${API_KEY_ENV} and ${API_KEY_FILE_ENV} (${envFile}) are set, and poolsync will not guess which Union API key is meant: unset one of them`,
    );
  const file = flagFile || envFile;
  if (file) {
    const what = flagFile ? '--api-key-file' : API_KEY_FILE_ENV;
    const text = (await readUserFile(file, { maxBytes: SECRET_FILE_BYTES, what })).toString('utf8');
    // The whole file: a wrapped key spans lines (as flyteplugins-union 0.19.1 reads its own key
    // file whole, remote/_ssh_debug.py:345).
    return parseApiKey(text, `${what} ${file}`, host);
  }
  const env = vars[API_KEY_ENV];
  if (env && env.trim() !== '') return parseApiKey(env, API_KEY_ENV, host);
  throw new UserError(
    `a union+ control plane needs a Union API key: set ${API_KEY_ENV} (or ${API_KEY_FILE_ENV}) or pass --api-key-file FILE (${FORMAT})`,
  );
}
