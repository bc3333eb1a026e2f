/**
 * OAuth2 client credentials for flyteadmin, as flytectl does it (real-apis.md §2), on the one
 * OAuth2 client of every backend (controlplane/oauth/): discovery at
 * `/.well-known/oauth-authorization-server` (token_endpoint) and `/config/v1/flyte_client`
 * (scopes, audience), then a client-credentials token sent as `Authorization: Bearer …`,
 * fetched again before it expires or when the server rejects it. flyteadmin's HTTP gateway
 * reads `Authorization` in every configuration (auth/handlers.go IdentityContextFromRequest);
 * `authorization_metadata_key` names the header of its gRPC port, which poolsync does not use.
 * The secret is never logged or put in an error.
 */
import { readUserFile, SECRET_FILE_BYTES } from '../../util/safe-file.js';
import { UserError } from '../../util/user-error.js';
import { rememberSecret } from '../../util/redact.js';
import { checkBound, parseSecretFile } from '../../util/bound-secret.js';
import { ControlPlaneError } from '../errors.js';
import { discover } from '../oauth/discovery.js';
import type { OAuthHttp } from '../oauth/http.js';
import { TokenSource, type ClientCredentials } from '../oauth/token-source.js';

export type { ClientCredentials } from '../oauth/token-source.js';

/**
 * Credentials from the environment: POOLSYNC_FLYTE_CLIENT_ID, and the secret from the file
 * named by POOLSYNC_FLYTE_CLIENT_SECRET_FILE or from POOLSYNC_FLYTE_CLIENT_SECRET. None set:
 * null (flyteadmin without auth). Never from a flag value. A secret file that names its
 * flyteadmin (`endpoint:` and `secret:` lines, util/bound-secret.ts) is refused for any other
 * `url`, before discovery asks it for a token endpoint.
 */
export async function credentialsFromEnv(
  url: string,
  env: Record<string, string | undefined> = process.env,
): Promise<ClientCredentials | null> {
  const clientId = env.POOLSYNC_FLYTE_CLIENT_ID?.trim() ?? '';
  const file = env.POOLSYNC_FLYTE_CLIENT_SECRET_FILE?.trim() ?? '';
  let secret = env.POOLSYNC_FLYTE_CLIENT_SECRET?.trim() ?? '';
  if (file !== '') {
    const what = 'POOLSYNC_FLYTE_CLIENT_SECRET_FILE';
    const bytes = await readUserFile(file, { maxBytes: SECRET_FILE_BYTES, what });
    const read = parseSecretFile(bytes.toString('utf8'), 'secret');
    secret = read.secret;
    if (secret === '') throw new UserError(`POOLSYNC_FLYTE_CLIENT_SECRET_FILE ${file} is empty`);
    checkBound(
      file,
      'the client secret file (POOLSYNC_FLYTE_CLIENT_SECRET_FILE)',
      read.endpoint,
      url,
    );
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

/** The tokens of flyteadmin at `origin`, discovered on the first call. */
export function flyteTokenSource(
  origin: string,
  credentials: ClientCredentials,
  http: OAuthHttp,
): TokenSource {
  const service = 'flyteadmin';
  const hint = () =>
    `; is authentication enabled on ${origin}? (unset POOLSYNC_FLYTE_CLIENT_ID for a flyteadmin without auth)`;
  return new TokenSource(credentials, () => discover(origin, { service, http, hint }), {
    service,
    http,
    refusal: (status, code) =>
      new ControlPlaneError(
        status >= 500 || status === 429 ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
        `flyteadmin refused the client credentials of client '${credentials.clientId}': token endpoint answered HTTP ${status}${code ? ` (${code})` : ''}; check POOLSYNC_FLYTE_CLIENT_ID and the secret in POOLSYNC_FLYTE_CLIENT_SECRET_FILE`,
      ),
  });
}
