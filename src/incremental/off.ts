/**
 * The one switch that turns caches of the daemon's plan path off, for the bench that measures
 * what each saves (bench/caches.ts): `POOLSYNC_CACHE_OFF=name,name` in the daemon's environment.
 * Read here only; each cache asks where it would be used. Nothing else reads the variable.
 */
import type { Env } from '../util/env.js';

export type CacheName =
  'analysis' | 'folder' | 'plan-reuse' | 'state-cache' | 'shared-lists' | 'loaded';

/** Whether `POOLSYNC_CACHE_OFF` in `env` names a cache. */
export function cachesOff(env: Env): (name: CacheName) => boolean {
  const names = new Set((env.POOLSYNC_CACHE_OFF ?? '').split(','));
  return (name) => names.has(name);
}
