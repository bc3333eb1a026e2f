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
  /** Tuning of the HTTP client (timeouts, retries). */
  http?: Omit<HttpControlPlaneOptions, 'token'>;
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
    });
  }
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
    `control plane "${url}" is not understood: use file:PATH for the embedded control plane (default ${DEFAULT_CONTROL_PLANE_URL}) or an http:// or https:// URL of a control-plane API`,
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
