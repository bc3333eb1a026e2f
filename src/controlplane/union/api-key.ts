/**
 * Union API keys: base64 of `endpoint:client_id:client_secret:org`, the format `flyte create
 * api-key` prints (decodeApiKey in unionai/terraform-provider-unionai internal/provider/oauth.go).
 * Read from env POOLSYNC_UNION_API_KEY or a file (--api-key-file), never from a flag value.
 * No message of this module contains the key or any part of it but the endpoint and the org.
 */
import { readFile } from 'node:fs/promises';
import { UserError } from '../../util/user-error.js';
import { rememberSecret } from '../../util/secrets.js';

export interface UnionApiKey {
  /** Host (and port) the key was issued for, without scheme: `acme.hosted.unionai.cloud`. */
  endpoint: string;
  clientId: string;
  clientSecret: string;
  /** The organisation every call names. */
  org: string;
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
 * the error. The endpoint may carry a port (`127.0.0.1:8080`), so the last three fields are
 * taken from the right.
 */
export function parseApiKey(raw: string, source: string): UnionApiKey {
  const text = raw.trim();
  rememberSecret(text);
  const bad = (why: string) =>
    new UserError(`the Union API key in ${source} is not valid (${why}): ${FORMAT}`);
  if (text === '') throw bad('empty');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw bad('not base64');
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  const parts = decoded.split(':');
  if (parts.length < 4) throw bad(`${parts.length} of the 4 colon-separated fields`);
  const org = parts.pop()!;
  const clientSecret = parts.pop()!;
  const clientId = parts.pop()!;
  const endpoint = normaliseEndpoint(parts.join(':'));
  if (endpoint === '') throw bad('no endpoint');
  if (clientId === '') throw bad('no client id');
  if (clientSecret === '') throw bad('no client secret');
  rememberSecret(clientSecret);
  // oauth.go: an empty or "None" org means the first label of the host.
  const resolvedOrg = org === '' || org.toLowerCase() === 'none' ? endpoint.split(/[.:]/)[0]! : org;
  return { endpoint, clientId, clientSecret, org: resolvedOrg };
}

/**
 * The key from --api-key-file, else the file named by env POOLSYNC_UNION_API_KEY_FILE, else env
 * POOLSYNC_UNION_API_KEY; a clear error when none.
 */
export async function resolveApiKey(flagFile: string | undefined): Promise<UnionApiKey> {
  const file = flagFile || process.env[API_KEY_FILE_ENV]?.trim();
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UserError(
        `cannot read --api-key-file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return parseApiKey(text.split(/\r?\n/)[0] ?? '', file);
  }
  const env = process.env[API_KEY_ENV];
  if (env && env.trim() !== '') return parseApiKey(env, API_KEY_ENV);
  throw new UserError(
    `a union+ control plane needs a Union API key: set ${API_KEY_ENV} (or ${API_KEY_FILE_ENV}) or pass --api-key-file FILE (${FORMAT})`,
  );
}
