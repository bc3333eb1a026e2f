/**
 * The CLI's side of a running daemon's HTTP API (docs/daemon.md): `approve`, `status`, `sync`
 * and `history` reach it at `--daemon URL` (env POOLSYNC_DAEMON_URL), and authenticate with
 * the daemon admin token from `--admin-token-file`, env POOLSYNC_ADMIN_TOKEN_FILE or
 * POOLSYNC_ADMIN_TOKEN.
 */
import { readUserFile, SECRET_FILE_BYTES } from '../util/safe-file.js';
import { rememberSecret } from '../util/secrets.js';
import { UserError } from '../util/user-error.js';

export interface DaemonArgs {
  daemon: string;
  'admin-token-file'?: string;
}

export interface DaemonAnswer {
  status: number;
  json: unknown;
}

/** `--daemon` without a trailing slash. */
export function daemonBase(args: Pick<DaemonArgs, 'daemon'>): string {
  return args.daemon.replace(/\/+$/, '');
}

/** One request; a daemon that does not answer, or answers with something else than JSON, is a UserError. */
export async function daemonRequest(
  url: string,
  init: RequestInit,
  timeoutMs = 15_000,
): Promise<DaemonAnswer> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new UserError(
      `cannot reach the daemon at ${url}: ${(err as Error).message}; check --daemon (its status address)`,
    );
  }
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) as unknown };
  } catch {
    throw new UserError(
      `${url} answered HTTP ${res.status} with a body that is not JSON: is --daemon a poolsync daemon?`,
    );
  }
}

/** The daemon admin token: --admin-token-file, else POOLSYNC_ADMIN_TOKEN_FILE, else POOLSYNC_ADMIN_TOKEN. */
export async function adminToken(
  file: string | undefined,
  what: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const path = file ?? env.POOLSYNC_ADMIN_TOKEN_FILE;
  if (path) {
    const text = (
      await readUserFile(path, { maxBytes: SECRET_FILE_BYTES, what: 'the admin token file' })
    ).toString();
    if (text.trim() === '') throw new UserError(`the admin token file ${path} is empty`);
    rememberSecret(text);
    return text.trim();
  }
  const token = env.POOLSYNC_ADMIN_TOKEN?.trim();
  if (token) return token;
  throw new UserError(
    `${what} needs the daemon admin token: set POOLSYNC_ADMIN_TOKEN or pass --admin-token-file FILE`,
  );
}
