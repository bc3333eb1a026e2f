/**
 * The loader with its cache: how the daemon (the process's memory layer, analysis-cache.ts) and a
 * one-shot command load a repository. `src/manifests`' `loadRepository` keeps nothing between
 * calls; this wraps it from above.
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
   * Absent: the in-memory layer of a long-running process (the daemon reloading a watched
   * folder). A cache folder (the CLI's `manifestCacheDir()`) or null: a one-shot load that keeps
   * nothing (the folder holds the CLI's remembered plans only, plan-memory.ts).
   */
  cacheDir?: string | null;
}

/** loadRepository (`onAnalysed` as there), through the memory layer when `opts.cacheDir` is absent. */
export async function loadCached(
  dir: string,
  opts: CachedLoadOptions = {},
  onAnalysed?: (file: string, analysis: FileAnalysis) => void,
): Promise<LoadResult> {
  const { cacheDir, ...load } = opts;
  const analyses = cacheDir === undefined && !off('analysis') ? new AnalysisCache() : undefined;
  return loadRepository(dir, { ...load, analyses }, onAnalysed);
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
