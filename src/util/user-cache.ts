/**
 * The user's cache folder for poolsync: `$XDG_CACHE_HOME/poolsync`, else `~/.cache/poolsync`;
 * never the working folder (in CI that is a checkout of a pull request's code,
 * docs/security.md). The manifest cache and Node's compile cache live under it.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** `<user cache>/poolsync/<sub>`, or null when there is no absolute home to put it in. */
export function userCacheDir(sub: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'poolsync', sub);
  let home = env.HOME;
  if (home === undefined) {
    try {
      home = homedir();
    } catch {
      return null;
    }
  }
  return home && isAbsolute(home) ? join(home, '.cache', 'poolsync', sub) : null;
}
