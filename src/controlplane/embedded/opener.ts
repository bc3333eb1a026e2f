/**
 * `file:PATH` (open.ts): the embedded control plane, persisted at PATH
 * (`?capabilities=drain,…` for a new state). Also where the state file of a `file:` URL is
 * resolved, for everything that keys on it (the apply lock beside it, the identity).
 */
import { statSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import type { Capabilities } from '../../model/common.js';
import { parseCapabilities } from '../../model/capabilities.js';
import { UserError } from '../../util/user-error.js';
import { fileUrlPath } from '../../util/control-plane-endpoint.js';
import type { BackendOpener, OpenOptions } from '../opener.js';
import { EmbeddedControlPlane } from './embedded.js';
import type { EmbeddedOptions } from './store.js';
import { DEFAULT_CONTROL_PLANE_URL } from '../default-url.js';

const STATE_FOLDER = '.poolsync';

declare module '../opener.js' {
  /** `file:` only: as the embedded control plane is opened (store.ts EmbeddedOptions). */
  interface OpenOptions extends Pick<
    EmbeddedOptions,
    'defaultPoolContract' | 'readOnly' | 'stateCache'
  > {
    /** Base folder for a relative `file:` path (default: the working folder). */
    stateDir?: string;
    /** `file:` only, with readOnly: read the state on first use (EmbeddedOptions.lazy). */
    lazyRead?: boolean;
    /**
     * `file:` only: create the state's folder when it does not exist. Off by default: a path
     * whose folder is missing is a typo, not a new organisation (a path under `.poolsync/`, the
     * default's among them, is always created).
     */
    createFolder?: boolean;
  }
}

export const embeddedOpener: BackendOpener = {
  forms: `file:PATH for the embedded control plane (default ${DEFAULT_CONTROL_PLANE_URL})`,
  matches: (url) => url.startsWith('file:'),
  async open(url, opts) {
    checkStateFolder(url, opts);
    return EmbeddedControlPlane.open({
      path: embeddedStatePath(url, opts.stateDir),
      defaultPoolContract: opts.defaultPoolContract,
      ...embeddedUrlCapabilities(url),
      readOnly: opts.readOnly,
      lazy: opts.readOnly && opts.lazyRead,
      stateCache: opts.stateCache,
    });
  },
};

/**
 * The absolute state file of a `file:` URL (relative paths from `baseDir`, default the working
 * folder): everything that keys on the embedded state (its apply lock) uses it, so they agree.
 */
export function embeddedStatePath(url: string, baseDir?: string): string {
  const path = fileUrlPath(url, baseDir);
  if (path === '')
    throw new UserError(
      `control plane "${url}": file: needs a path, e.g. ${DEFAULT_CONTROL_PLANE_URL}`,
    );
  return path;
}

/**
 * A `file:` state whose folder does not exist is refused (UserError), unless the folder is
 * created on purpose (`createFolder`) or it is the default location under `.poolsync/`.
 * Checked before anything is created: the apply lock beside the state, the state itself.
 */
export function checkStateFolder(
  url: string,
  opts: Pick<OpenOptions, 'stateDir' | 'createFolder'> = {},
  /** Where the path came from: an environment's errors name its poolsync.yaml line instead (namedSettings). */
  setting = '--control-plane',
): void {
  if (!url.startsWith('file:') || opts.createFolder) return;
  const path = embeddedStatePath(url, opts.stateDir);
  const folder = dirname(path);
  // poolsync's own state folder (the default's, an environment's `file:.poolsync/NAME.json`) is
  // poolsync's to make, as a fresh clone does not have it.
  if (folder.split(sep).includes(STATE_FOLDER)) return;
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // missing or unreadable: said below
  }
  if (!isFolder) {
    throw new UserError(
      `control plane "${url}": the folder ${folder} does not exist, so there is no control-plane state at ${path}. ` +
        `Check ${setting}; to start a new embedded control plane there, create the folder first (mkdir -p ${folder})`,
    );
  }
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
