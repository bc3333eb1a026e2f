/**
 * What a refused token request means, by OAuth2 error code (RFC 6749 5.2), said so that the
 * person knows what to change. Only the fixed code is shown, never `error_description` (a
 * server may echo request values in it) and never the key or the secret.
 */
import { ControlPlaneError } from '../errors.js';

/** What discovery gave the token request (controlplane/oauth Discovery). */
interface Asked {
  tokenEndpoint: string;
  scopes: string[];
  audience: string;
}

const NEW_KEY =
  'create one with `flyte create api-key --name poolsync` and put it in POOLSYNC_UNION_API_KEY or --api-key-file';

/** What each RFC 6749 error code means for a Union API key, given what was answered and asked. */
const MEANING: Record<string, (answered: string, scopes: string, d: Asked) => string> = {
  invalid_client: (answered) =>
    `Union refused the API key's client credentials (token endpoint ${answered}): the key is revoked, expired or mistyped; ${NEW_KEY}`,
  invalid_scope: (answered, scopes) =>
    `Union's token endpoint refused the scopes poolsync asked for (${scopes}, as /config/v1/flyte_client advertises; token endpoint ${answered}): the API key's application may not have them; give its role those scopes, or check that --control-plane is the endpoint the key was issued for`,
  unauthorized_client: (answered) =>
    `Union's token endpoint does not let the API key's application use client credentials (token endpoint ${answered}): use an API key (an application), not a user's client; ${NEW_KEY}`,
  invalid_grant: (answered) =>
    `Union's token endpoint refused the grant (token endpoint ${answered}): the API key's application may be disabled or expired; ${NEW_KEY}`,
  unsupported_grant_type: (answered) =>
    `the discovered token endpoint does not offer client credentials (token endpoint ${answered}): it is not one a Union API key works with; check that --control-plane is the Union endpoint of the key`,
  invalid_request: (answered, scopes, d) =>
    `Union's token endpoint found the token request malformed (token endpoint ${answered}): the audience ${d.audience ? `"${d.audience}"` : '(none)'} or scopes ${scopes} the endpoint advertises may not fit it; report it to the Union administrators of the organisation`,
  access_denied: (answered) =>
    `Union's token endpoint denied the API key's application a token (token endpoint ${answered}): its role may not use this organisation; check the key's org and role`,
};

/** The error for a token endpoint's answer `status` with RFC 6749 `error` code `error`. */
export function tokenRefusal(status: number, error: string | null, d: Asked): ControlPlaneError {
  const answered = `${d.tokenEndpoint} answered HTTP ${status}${error ? ` ${error}` : ''}`;
  const scopes = d.scopes.length > 0 ? `"${d.scopes.join(' ')}"` : 'none';
  const meaning =
    (error !== null && Object.hasOwn(MEANING, error) ? MEANING[error] : undefined) ??
    (status === 401 || status === 403 ? MEANING.invalid_client : undefined);
  if (meaning) return new ControlPlaneError('UNAUTHENTICATED', meaning(answered, scopes, d));
  return new ControlPlaneError(
    status >= 500 || status === 429 ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
    `Union token request failed: ${answered}`,
  );
}
