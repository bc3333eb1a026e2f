/**
 * The user's folders for poolsync (`$XDG_CACHE_HOME/poolsync`, else `~/.cache/poolsync`), never
 * the working folder (in CI a checkout of a pull request's code, docs/security.md).
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Env } from './env.js';

/** `<user cache>/poolsync/<sub>`, or null when there is no absolute home to put it in. */
export function userCacheDir(sub: string, env: Env): string | null {
  return userDir('XDG_CACHE_HOME', '.cache', sub, env);
}

/**
 * `<user state>/poolsync/<sub>` (`$XDG_STATE_HOME`, else `~/.local/state`): what must outlive a
 * cache wipe and never be in a checkout (src/apply/inventory.ts); null without an absolute home.
 */
export function userStateDir(sub: string, env: Env): string | null {
  return userDir('XDG_STATE_HOME', join('.local', 'state'), sub, env);
}

function userDir(variable: string, below: string, sub: string, env: Env): string | null {
  const xdg = env[variable];
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'poolsync', sub);
  let home = env.HOME;
  if (home === undefined) {
    try {
      home = homedir();
    } catch {
      return null;
    }
  }
  return home && isAbsolute(home) ? join(home, below, 'poolsync', sub) : null;
}
