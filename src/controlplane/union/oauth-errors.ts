/**
 * What a refused token request means, by OAuth2 error code (RFC 6749 5.2), said so that the
 * person knows what to change. Only the fixed code is shown, never `error_description` (a
 * server may echo request values in it) and never the key or the secret.
 */
import { ControlPlaneError, type ControlPlaneErrorCode } from '../errors.js';

/** What discovery gave the token request (controlplane/oauth Discovery). */
interface Asked {
  tokenEndpoint: string;
  scopes: string[];
  audience: string;
}

const NEW_KEY =
  'create one with `flyte create api-key --name poolsync` and put it in POOLSYNC_UNION_API_KEY or --api-key-file';

/** The error for a token endpoint's answer `status` with RFC 6749 `error` code `error`. */
export function tokenRefusal(status: number, error: string | null, d: Asked): ControlPlaneError {
  const answered = `${d.tokenEndpoint} answered HTTP ${status}${error ? ` ${error}` : ''}`;
  const scopes = d.scopes.length > 0 ? `"${d.scopes.join(' ')}"` : 'none';
  const fail = (c: ControlPlaneErrorCode, message: string) => new ControlPlaneError(c, message);
  switch (error) {
    case 'invalid_client':
      return fail(
        'UNAUTHENTICATED',
        `Union refused the API key's client credentials (token endpoint ${answered}): the key is revoked, expired or mistyped; ${NEW_KEY}`,
      );
    case 'invalid_scope':
      return fail(
        'UNAUTHENTICATED',
        `Union's token endpoint refused the scopes poolsync asked for (${scopes}, as /config/v1/flyte_client advertises; token endpoint ${answered}): the API key's application may not have them; give its role those scopes, or check that --control-plane is the endpoint the key was issued for`,
      );
    case 'unauthorized_client':
      return fail(
        'UNAUTHENTICATED',
        `Union's token endpoint does not let the API key's application use client credentials (token endpoint ${answered}): use an API key (an application), not a user's client; ${NEW_KEY}`,
      );
    case 'invalid_grant':
      return fail(
        'UNAUTHENTICATED',
        `Union's token endpoint refused the grant (token endpoint ${answered}): the API key's application may be disabled or expired; ${NEW_KEY}`,
      );
    case 'unsupported_grant_type':
      return fail(
        'UNAUTHENTICATED',
        `the discovered token endpoint does not offer client credentials (token endpoint ${answered}): it is not one a Union API key works with; check that --control-plane is the Union endpoint of the key`,
      );
    case 'invalid_request':
      return fail(
        'UNAUTHENTICATED',
        `Union's token endpoint found the token request malformed (token endpoint ${answered}): the audience ${d.audience ? `"${d.audience}"` : '(none)'} or scopes ${scopes} the endpoint advertises may not fit it; report it to the Union administrators of the organisation`,
      );
    case 'access_denied':
      return fail(
        'UNAUTHENTICATED',
        `Union's token endpoint denied the API key's application a token (token endpoint ${answered}): its role may not use this organisation; check the key's org and role`,
      );
  }
  if (status === 401 || status === 403)
    return fail(
      'UNAUTHENTICATED',
      `Union refused the API key's client credentials (token endpoint ${answered}): the key is revoked, expired or mistyped; ${NEW_KEY}`,
    );
  return fail(
    status >= 500 || status === 429 ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
    `Union token request failed: ${answered}`,
  );
}
