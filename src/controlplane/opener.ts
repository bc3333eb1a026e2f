/**
 * How open.ts reaches a backend: each backend folder exports one BackendOpener (its `opener.ts`)
 * and open.ts lists them, so adding a backend is one folder and one line there. An opener is
 * small: it loads its client on demand, so a URL of one backend never pays for another's
 * libraries (undici, connect, protobuf) at start-up.
 */
import type { PoolContract } from '../model/common.js';
import type { HttpControlPlaneOptions } from './rest/http-client.js';
import type { ControlPlane } from './types.js';
import type { UnionOpenOptions } from './union/open.js';

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

export interface BackendOpener {
  /** The URL forms it opens, for the message naming every form (e.g. `union+https://HOST for …`). */
  readonly forms: string;
  /** Whether the URL is this backend's (checked in open.ts's order: the first match opens it). */
  matches(url: string): boolean;
  open(url: string, opts: OpenOptions): Promise<ControlPlane>;
}
