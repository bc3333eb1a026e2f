/**
 * Opens a control plane by URL (docs/architecture.md, Adding a backend). Also where tokens are
 * resolved, so no command ever takes a token from a flag value.
 */
import { readUserFile, SECRET_FILE_BYTES } from '../util/safe-file.js';
import { UserError } from '../util/user-error.js';
import { checkStateFolder, embeddedOpener, embeddedStatePath } from './embedded/opener.js';
import { flyteadminOpener } from './flyteadmin/opener.js';
import type { BackendOpener, OpenOptions } from './opener.js';
import { restOpener } from './rest/opener.js';
import type { ControlPlane } from './types.js';
import { unionOpener } from './union/opener.js';
import { rememberSecret } from '../util/redact.js';
import { checkBound, headerToken, parseSecretFile, type SecretFile } from '../util/bound-secret.js';
import { controlPlaneEndpoint } from '../util/control-plane-endpoint.js';
import type { Env } from '../util/env.js';

export { checkStateFolder, embeddedStatePath };

/** In the order URLs are matched. */
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

/**
 * A token file (util/bound-secret.ts: `token:` when bound), named by `setting` (`--token-file`,
 * `POOLSYNC_TOKEN_FILE`, a daemon config file's key). The error names the file, never its content.
 */
export async function readTokenFile(path: string, setting = '--token-file'): Promise<SecretFile> {
  const bytes = await readUserFile(path, {
    maxBytes: SECRET_FILE_BYTES,
    what: setting,
    missing: "correct the path, or put the control plane's token in that file",
  });
  const read = parseSecretFile(bytes.toString('utf8'), 'token', `the token file ${path}`);
  if (read.secret === '')
    throw new UserError(
      `${setting} ${path} ${read.endpoint === null ? 'is empty' : 'has no `token:` line'}: put the control plane's token in it`,
    );
  rememberSecret(read.secret, `the token file ${path}`);
  headerToken(read.secret, `the token file ${path}`);
  return read;
}

/**
 * The bearer token of poolsync's REST API at `url`: --token-file, else the file named by env
 * POOLSYNC_TOKEN_FILE, else env POOLSYNC_TOKEN; one that names its control plane is sent there
 * only. For an environment's control plane (its URL is poolsync.yaml's, which a pull request may
 * change) only a token file that names it is used, never the process's own token
 * (docs/security.md, "Environments").
 */
export async function resolveToken(
  tokenFile: string | undefined,
  url: string,
  environment: string | null,
  vars: Env,
  /** Where `tokenFile` was given (an environment's errors are named by namedSettings). */
  tokenFileSetting = '--token-file',
): Promise<string | undefined> {
  if (!/^https?:\/\//.test(url)) {
    // An environment names its control plane and its token file together: one the control
    // plane never reads is a mistake there (the process's own --token-file serves any command).
    if (tokenFile && environment !== null)
      throw new UserError(
        `environment ${environment}: the token file ${tokenFile} is not used: ${takesNoToken(url)}; remove tokenFile from the environment`,
      );
    return undefined;
  }
  const file = tokenFile || (environment === null ? vars.POOLSYNC_TOKEN_FILE?.trim() : '');
  if (!file) {
    const env = environment === null ? vars.POOLSYNC_TOKEN?.trim() : '';
    if (!env) return undefined;
    const { secret, endpoint } = parseSecretFile(env, 'token', 'POOLSYNC_TOKEN');
    checkBound('POOLSYNC_TOKEN', endpoint, url);
    rememberSecret(secret, 'POOLSYNC_TOKEN');
    return secret ? headerToken(secret, 'POOLSYNC_TOKEN') : undefined;
  }
  const { secret, endpoint } = await readTokenFile(
    file,
    tokenFile ? tokenFileSetting : 'POOLSYNC_TOKEN_FILE',
  );
  checkBound(`the token file ${file}`, endpoint, url);
  if (endpoint === null && environment !== null) {
    const here = controlPlaneEndpoint(url);
    throw new UserError(
      `environment ${environment}: the token file ${file} does not name its control plane, so nothing was sent to ${here}. A token for an environment's control plane must name it (a first line \`endpoint: ${here}\`, then \`token: …\`; docs/security.md, "Environments"): a change of controlPlane in poolsync.yaml can then never send it elsewhere`,
    );
  }
  return secret;
}

/** Why a control plane at `url` (not poolsync's REST API) reads no bearer token. */
function takesNoToken(url: string): string {
  if (url.startsWith('file:'))
    return 'a file: control plane is the embedded one, a file on this machine, and takes no token';
  if (url.startsWith('union+'))
    return 'a union+ control plane takes a Union API key (apiKeyFile), not a token';
  if (url.startsWith('flyteadmin+'))
    return 'a flyteadmin+ control plane takes an OAuth2 client secret (POOLSYNC_FLYTE_CLIENT_SECRET_FILE), not a token';
  return "only poolsync's REST API (http:// or https://) takes a token";
}
