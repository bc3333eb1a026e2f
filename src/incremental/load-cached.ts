/**
 * The loader with its cache: how the CLI (a disk cache folder) and the daemon (the process's
 * memory layer) load a repository (analysis-cache.ts). `src/manifests`' `loadRepository` keeps
 * nothing between calls; this wraps it from above.
 */
import { resolve } from 'node:path';
import {
  loadRepository,
  type FileAnalysis,
  type LoaderOptions,
  type LoadResult,
} from '../manifests/index.js';
import { userCacheDir } from '../util/user-cache.js';
import { AnalysisCache } from './analysis-cache.js';
import { off } from './off.js';

export interface CachedLoadOptions extends Omit<LoaderOptions, 'analyses'> {
  /**
   * Reuse of per-file analyses: a folder for the on-disk cache (the CLI passes
   * `manifestCacheDir()`), null for none (a one-shot load), absent for the in-memory layer of
   * a long-running process (the daemon reloading a watched folder).
   */
  cacheDir?: string | null;
}

/** loadRepository (`onAnalysed` as there) through the cache `opts.cacheDir` names. */
export async function loadCached(
  dir: string,
  opts: CachedLoadOptions = {},
  onAnalysed?: (file: string, analysis: FileAnalysis) => void,
): Promise<LoadResult> {
  const { cacheDir, ...load } = opts;
  if (cacheDir === null || (cacheDir === undefined && off('analysis')))
    return loadRepository(dir, load, onAnalysed);
  const cache = new AnalysisCache(cacheDir === undefined ? 'memory' : { dir: cacheDir });
  const result = await loadRepository(dir, { ...load, analyses: cache }, onAnalysed);
  await cache.flush();
  return result;
}

/**
 * The CLI's cache folder: env POOLSYNC_CACHE_DIR (`off` or empty: none), else the user's cache
 * folder (`$XDG_CACHE_HOME/poolsync/manifests`, else `~/.cache/poolsync/manifests`), never the
 * working folder: in CI that is a checkout of a pull request's code (docs/security.md).
 */
export function manifestCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const v = env.POOLSYNC_CACHE_DIR;
  if (v !== undefined) {
    const t = v.trim();
    return t === '' || t === 'off' ? null : resolve(t);
  }
  return userCacheDir('manifests', env);
}
