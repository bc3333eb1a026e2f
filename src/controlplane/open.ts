/**
 * Opens a control plane by URL: the first backend whose opener matches it (one line per
 * backend in BACKENDS; docs/architecture.md, Adding a backend). Also where tokens are
 * resolved, so no command ever takes a token from a flag value.
 */
import { readUserFile, SECRET_FILE_BYTES } from '../util/safe-file.js';
import { UserError } from '../util/user-error.js';
import { embeddedOpener } from './embedded/opener.js';
import { flyteadminOpener } from './flyteadmin/opener.js';
import type { BackendOpener, OpenOptions } from './opener.js';
import { restOpener } from './rest/opener.js';
import type { ControlPlane } from './types.js';
import { unionOpener } from './union/opener.js';
import { rememberSecret } from '../util/secrets.js';

export type { OpenOptions } from './opener.js';
export {
  DEFAULT_CONTROL_PLANE_URL,
  checkStateFolder,
  embeddedStatePath,
  embeddedUrlCapabilities,
} from './embedded/opener.js';

/** Every backend, in the order URLs are matched. */
const BACKENDS: readonly BackendOpener[] = [
  embeddedOpener,
  restOpener,
  unionOpener,
  flyteadminOpener,
];

export async function openControlPlane(url: string, opts: OpenOptions = {}): Promise<ControlPlane> {
  const backend = BACKENDS.find((b) => b.matches(url));
  if (backend) return backend.open(url, opts);
  const forms = BACKENDS.map((b) => b.forms);
  throw new UserError(
    `control plane "${url}" is not understood: use ${forms.slice(0, -1).join(', ')} or ${forms.at(-1)}`,
  );
}

/** Reads a token file (first line, trimmed). The error names the file, never its content. */
export async function readTokenFile(path: string): Promise<string> {
  const bytes = await readUserFile(path, { maxBytes: SECRET_FILE_BYTES, what: 'token file' });
  const text = bytes.toString('utf8');
  const token = text.split(/\r?\n/)[0]?.trim() ?? '';
  if (token === '') throw new UserError(`token file ${path} is empty`);
  rememberSecret(token);
  return token;
}

/**
 * Token for an HTTP control plane, as the daemon reads it: --token-file, else the file named
 * by env POOLSYNC_TOKEN_FILE, else env POOLSYNC_TOKEN.
 */
export async function resolveToken(tokenFile: string | undefined): Promise<string | undefined> {
  const file = tokenFile || process.env.POOLSYNC_TOKEN_FILE?.trim();
  if (file) return readTokenFile(file);
  const env = process.env.POOLSYNC_TOKEN;
  return env && env.trim() !== '' ? env.trim() : undefined;
}
