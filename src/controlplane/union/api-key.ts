/**
 * Union API keys: base64 of `endpoint:client_id:client_secret:org`, the format `flyte create
 * api-key` prints (decodeApiKey in unionai/terraform-provider-unionai internal/provider/oauth.go).
 * Read from env POOLSYNC_UNION_API_KEY or a file (--api-key-file), never from a flag value.
 * No message of this module contains the key or any part of it but the endpoint and the org.
 */
import { readUserFile, SECRET_FILE_BYTES } from '../../util/safe-file.js';
import { UserError } from '../../util/user-error.js';
import { rememberSecret } from '../../util/redact.js';

export interface UnionApiKey {
  /** Host (and port) the key was issued for, without scheme: `acme.hosted.unionai.cloud`. */
  endpoint: string;
  clientId: string;
  clientSecret: string;
  /** The organisation every call names. */
  org: string;
  /** The key as given (base64 text): handed to the flyte CLI (FLYTE_API_KEY), never printed. */
  raw: string;
  /** Where it was read from (an env variable name or a file path): for the runbook. */
  source: { env: string } | { file: string };
}

export const API_KEY_ENV = 'POOLSYNC_UNION_API_KEY';
/** A file holding the key (the daemon, containers with mounted secrets). */
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

/**
 * Parses a key; `source` names where it came from (`POOLSYNC_UNION_API_KEY`, a file path) for
 * the error. Fields: the endpoint (an optional `dns:///` or `http(s)://` prefix, the host, an
 * optional numeric port), the client id, the client secret, the org (the last field). Union's
 * own tools split differently (Go provider and Python CLI: at most 4 fields from the left, so
 * a ':' in the secret moves into the org; flyte-sdk-ts: 3 fields from the right, so it moves
 * into the client id); all agree with this on every key whose secret has no ':', and this
 * also reads one that has (the secret is everything between the client id and the org).
 */
export function parseApiKey(
  raw: string,
  source: string,
  from: UnionApiKey['source'] = { env: API_KEY_ENV },
): UnionApiKey {
  const text = raw.trim();
  const bad = (why: string) =>
    new UserError(`the Union API key in ${source} is not valid (${why}): ${FORMAT}`);
  if (text === '') throw bad('empty');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw bad('not base64');
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  const parts = decoded.split(':');
  if (parts.length < 4) throw bad(`${parts.length} of the 4 colon-separated fields`);
  let at = 1;
  // `dns:///host`, `https://host`: the scheme's ':' is not a separator.
  if (/^(dns|https?)$/i.test(parts[0]!) && parts[1]?.startsWith('//')) at = 2;
  // A port, when the three fields after the endpoint still follow it.
  if (/^\d{1,5}$/.test(parts[at] ?? '') && parts.length - at - 1 >= 3) at++;
  const rest = parts.slice(at);
  if (rest.length < 3)
    throw bad(
      `${parts.length} colon-separated fields do not leave a client id, secret and org after the endpoint`,
    );
  const clientId = rest[0]!;
  const org = rest[rest.length - 1]!;
  const clientSecret = rest.slice(1, -1).join(':');
  const endpoint = normaliseEndpoint(parts.slice(0, at).join(':'));
  if (endpoint === '') throw bad('no endpoint');
  if (clientId === '') throw bad('no client id');
  if (clientSecret === '') throw bad('no client secret');
  // Remembered once it is a key: text that is not one (a placeholder, a word) is no secret,
  // and scrubbing it would mangle every path and message that holds the word.
  rememberSecret(text);
  rememberSecret(clientSecret);
  // oauth.go: an empty or "None" org means the first label of the host.
  const resolvedOrg = org === '' || org.toLowerCase() === 'none' ? endpoint.split(/[.:]/)[0]! : org;
  return { endpoint, clientId, clientSecret, org: resolvedOrg, raw: text, source: from };
}

/**
 * The key from --api-key-file, else the file named by env POOLSYNC_UNION_API_KEY_FILE, else env
 * POOLSYNC_UNION_API_KEY; a clear error when none.
 */
export async function resolveApiKey(flagFile: string | undefined): Promise<UnionApiKey> {
  const file = flagFile || process.env[API_KEY_FILE_ENV]?.trim();
  if (file) {
    const text = (
      await readUserFile(file, { maxBytes: SECRET_FILE_BYTES, what: '--api-key-file' })
    ).toString('utf8');
    return parseApiKey(text.split(/\r?\n/)[0] ?? '', file, { file });
  }
  const env = process.env[API_KEY_ENV];
  if (env && env.trim() !== '') return parseApiKey(env, API_KEY_ENV, { env: API_KEY_ENV });
  throw new UserError(
    `a union+ control plane needs a Union API key: set ${API_KEY_ENV} (or ${API_KEY_FILE_ENV}) or pass --api-key-file FILE (${FORMAT})`,
  );
}
