/**
 * Opens a control plane by URL: `file:PATH` (embedded, persisted at PATH) or `http(s)://…`
 * (the REST API through HttpControlPlane). Also where tokens are resolved, so no command
 * ever takes a token from a flag value.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UserError } from '../util/user-error.js';
import type { Capabilities, PoolContract } from '../model/common.js';
import { parseCapabilities } from '../model/capabilities.js';
import { refuseUrlCredentials } from '../util/url-credentials.js';
import { EmbeddedControlPlane } from './embedded/embedded.js';
import type { HttpControlPlaneOptions } from './rest/http-client.js';
import type { ControlPlane } from './types.js';
import type { UnionOpenOptions } from './union/open.js';
import { rememberSecret } from '../util/secrets.js';

export const DEFAULT_CONTROL_PLANE_URL = 'file:.poolsync/control-plane.json';

export interface OpenOptions {
  /** Bearer token for http(s) control planes; defaults to env POOLSYNC_TOKEN. */
  token?: string;
  /** Base folder for a relative `file:` path (default: the working folder). */
  stateDir?: string;
  /** P1: contract of the `default` pool when an embedded state is first created. */
  defaultPoolContract?: PoolContract;
  /** `file:` only: read the state without the writer lock or any write (plan, export). */
  readOnly?: boolean;
  /**
   * `file:` only, for a long-running process that opens the same state again and again (the
   * daemon): an unchanged state file is not read again, and its reads share frozen objects
   * (EmbeddedOptions.shareReads).
   */
  shareReads?: boolean;
  /**
   * `file:` only: create the state's folder when it does not exist. Off by default: a path
   * whose folder is missing is a typo, not a new organisation (the default path, under
   * `.poolsync/`, is always created).
   */
  createFolder?: boolean;
  /** Tuning of the HTTP client (timeouts, retries). */
  http?: Omit<HttpControlPlaneOptions, 'token'>;
  /** `union+` URLs: file holding the Union API key (else env POOLSYNC_UNION_API_KEY). */
  apiKeyFile?: string;
  /** `union+` URLs: client tuning (retries, page size, deadline). */
  union?: Omit<UnionOpenOptions, 'apiKeyFile'>;
}

/**
 * The state file of a `file:` control-plane URL (`file:PATH`, `file:///abs/path`), absolute;
 * relative paths from `baseDir` (default: the working folder). Everything that keys on the
 * embedded state (its apply lock) uses this, so they agree on the file.
 */
export function embeddedStatePath(url: string, baseDir: string = process.cwd()): string {
  let path = url.slice('file:'.length).split('?')[0]!;
  if (path.startsWith('//')) path = new URL(url.split('?')[0]!).pathname; // file:///abs/path
  if (path === '')
    throw new UserError(
      `control plane "${url}": file: needs a path, e.g. ${DEFAULT_CONTROL_PLANE_URL}`,
    );
  return resolve(baseDir, path);
}

/**
 * A `file:` state whose folder does not exist is refused (UserError), unless the folder is
 * created on purpose (`createFolder`) or it is the default location under `.poolsync/`.
 * Checked before anything is created: the apply lock beside the state, the state itself.
 */
export function checkStateFolder(
  url: string,
  opts: Pick<OpenOptions, 'stateDir' | 'createFolder'> = {},
): void {
  if (!url.startsWith('file:') || opts.createFolder) return;
  const path = embeddedStatePath(url, opts.stateDir);
  if (path === embeddedStatePath(DEFAULT_CONTROL_PLANE_URL, opts.stateDir)) return;
  const folder = dirname(path);
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // missing or unreadable: said below
  }
  if (!isFolder) {
    throw new UserError(
      `control plane "${url}": the folder ${folder} does not exist, so there is no control-plane state at ${path}. ` +
        `Check the path; to start a new embedded control plane there, create the folder first (mkdir -p ${folder})`,
    );
  }
}

export async function openControlPlane(url: string, opts: OpenOptions = {}): Promise<ControlPlane> {
  if (url.startsWith('file:')) {
    checkStateFolder(url, opts);
    return EmbeddedControlPlane.open({
      path: embeddedStatePath(url, opts.stateDir),
      ...(opts.defaultPoolContract ? { defaultPoolContract: opts.defaultPoolContract } : {}),
      ...embeddedUrlCapabilities(url),
      ...(opts.readOnly ? { readOnly: true } : {}),
      ...(opts.shareReads ? { shareReads: true } : {}),
    });
  }
  if (/^union\+https?:\/\//.test(url)) {
    // Loaded on demand, like the REST client: only union+ URLs need connect and protobuf.
    const { openUnion } = await import('./union/open.js');
    return openUnion(url, {
      ...opts.union,
      ...(opts.apiKeyFile ? { apiKeyFile: opts.apiKeyFile } : {}),
    });
  }
  if (url.startsWith('flyteadmin+')) return openFlyteadmin(url, opts);
  if (/^https?:\/\//.test(url)) {
    refuseUrlCredentials(
      url,
      'the control plane URL',
      'put the token in POOLSYNC_TOKEN or a --token-file',
    );
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UserError(`control plane "${url}" is not a valid URL`);
    }
    const token = opts.token ?? process.env.POOLSYNC_TOKEN;
    // Loaded on demand: undici costs ~90 ms at start-up that file: control planes never need.
    const { HttpControlPlane } = await import('./rest/http-client.js');
    return new HttpControlPlane(parsed.toString(), { ...opts.http, ...(token ? { token } : {}) });
  }
  throw new UserError(
    `control plane "${url}" is not understood: use file:PATH for the embedded control plane (default ${DEFAULT_CONTROL_PLANE_URL}), an http:// or https:// URL of a poolsync control-plane API, union+https://HOST for a Union organisation, or flyteadmin+https://HOST for Flyte's flyteadmin`,
  );
}

/** `file:PATH?capabilities=drain,queue_delete`: the capabilities a new state is created with. */
export function embeddedUrlCapabilities(url: string): { capabilities?: Capabilities } {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  if (query === '') return {};
  const params = new URLSearchParams(query);
  const unknown = [...params.keys()].filter((k) => k !== 'capabilities');
  if (unknown.length > 0) {
    throw new UserError(
      `control plane "${url}": unknown parameter ${unknown.map((k) => `"${k}"`).join(', ')}; a file: URL takes only capabilities=drain,queue_delete,cluster_move,pool_update,queue_move`,
    );
  }
  const value = params.get('capabilities');
  if (value === null) return {};
  const parsed = parseCapabilities(value);
  if (!parsed.ok) throw new UserError(`control plane "${url}": ${parsed.error}`);
  return { capabilities: parsed.capabilities };
}

/**
 * `flyteadmin+https://HOST[:PORT][?org=ORG&clusters-configmap=NAMESPACE/NAME]` (or `+http://`
 * for a local flyteadmin): OAuth2 credentials from the environment; `org` (else
 * POOLSYNC_FLYTE_ORG) is flyteidl's org, `clusters-configmap` (else
 * POOLSYNC_FLYTE_CLUSTERS_CONFIGMAP) the ConfigMap holding the cluster configuration flyteadmin
 * runs with (docs/flyte-oss.md, Labels wait for their deployment).
 */
async function openFlyteadmin(url: string, opts: OpenOptions): Promise<ControlPlane> {
  const inner = url.slice('flyteadmin+'.length);
  // Before any message repeats the URL: it would hold the secret.
  refuseUrlCredentials(
    inner,
    'the control plane URL',
    'set POOLSYNC_FLYTE_CLIENT_ID and POOLSYNC_FLYTE_CLIENT_SECRET_FILE',
  );
  let parsed: URL;
  try {
    parsed = new URL(inner);
  } catch {
    throw new UserError(`control plane "${url}" is not a valid URL; use flyteadmin+https://HOST`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new UserError(
      `control plane "${url}": use flyteadmin+https://HOST (or flyteadmin+http:// for a local flyteadmin)`,
    );
  if (parsed.username || parsed.password)
    throw new UserError(
      'control plane URL must not carry credentials; set POOLSYNC_FLYTE_CLIENT_ID and POOLSYNC_FLYTE_CLIENT_SECRET_FILE',
    );
  const params = parsed.searchParams;
  const unknown = [...params.keys()].filter((k) => k !== 'org' && k !== 'clusters-configmap');
  if (unknown.length > 0)
    throw new UserError(
      `control plane "${url}": unknown parameter ${unknown.map((k) => `"${k}"`).join(', ')}; a flyteadmin+ URL takes org=ORG and clusters-configmap=NAMESPACE/NAME`,
    );
  const org = params.get('org') ?? process.env.POOLSYNC_FLYTE_ORG ?? '';
  const configMap =
    params.get('clusters-configmap') ?? process.env.POOLSYNC_FLYTE_CLUSTERS_CONFIGMAP ?? '';
  parsed.search = '';
  const [{ FlyteadminControlPlane }, { credentialsFromEnv }, { parseConfigMapRef }] =
    await Promise.all([
      import('./flyteadmin/client.js'),
      import('./flyteadmin/auth.js'),
      import('./flyteadmin/deployed-config.js'),
    ]);
  return new FlyteadminControlPlane(parsed.toString(), {
    credentials: await credentialsFromEnv(),
    org: org.trim(),
    clustersConfigMap:
      configMap.trim() === '' ? null : parseConfigMapRef(configMap, 'clusters-configmap'),
    ...(opts.http?.requestTimeoutMs !== undefined
      ? { requestTimeoutMs: opts.http.requestTimeoutMs }
      : {}),
    ...(opts.http?.maxRetries !== undefined ? { maxRetries: opts.http.maxRetries } : {}),
  });
}

/** Reads a token file (first line, trimmed). The error names the file, never its content. */
export async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError(
      `cannot read token file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
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
