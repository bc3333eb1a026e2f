/**
 * Opens a control plane by URL: `file:PATH` (embedded, persisted at PATH) or `http(s)://…`
 * (the REST API through HttpControlPlane). Also where tokens are resolved, so no command
 * ever takes a token from a flag value.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../util/user-error.js';
import type { Capabilities, PoolContract } from '../model/common.js';
import { parseCapabilities } from '../model/capabilities.js';
import { refuseUrlCredentials } from '../util/url-credentials.js';
import { EmbeddedControlPlane } from './embedded/embedded.js';
import type { HttpControlPlaneOptions } from './rest/http-client.js';
import type { ControlPlane } from './types.js';
import type { UnionOpenOptions } from './union/open.js';

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

export async function openControlPlane(url: string, opts: OpenOptions = {}): Promise<ControlPlane> {
  if (url.startsWith('file:')) {
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
      `control plane "${url}": unknown parameter ${unknown.map((k) => `"${k}"`).join(', ')}; a file: URL takes only capabilities=drain,queue_delete,cluster_move,pool_update`,
    );
  }
  const value = params.get('capabilities');
  if (value === null) return {};
  const parsed = parseCapabilities(value);
  if (!parsed.ok) throw new UserError(`control plane "${url}": ${parsed.error}`);
  return { capabilities: parsed.capabilities };
}

/** `flyteadmin+https://HOST[:PORT]` (or `+http://` for a local flyteadmin): OAuth2 credentials from the environment. */
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
  const [{ FlyteadminControlPlane }, { credentialsFromEnv }] = await Promise.all([
    import('./flyteadmin/client.js'),
    import('./flyteadmin/auth.js'),
  ]);
  return new FlyteadminControlPlane(parsed.toString(), {
    credentials: await credentialsFromEnv(),
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
