/**
 * `POOLSYNC_CACHE_OFF=name,name`: caches of the daemon's plan path turned off, for the bench of
 * what each saves (bench/caches.ts). Read here only; each cache asks where it would be used.
 */
import type { Env } from '../util/env.js';

export type CacheName =
  | 'analysis'
  | 'folder'
  | 'recheck'
  | 'plan-reuse'
  | 'plan-slice'
  | 'state-cache'
  | 'shared-lists'
  | 'loaded';

export function cachesOff(env: Env): (name: CacheName) => boolean {
  const names = new Set((env.POOLSYNC_CACHE_OFF ?? '').split(','));
  return (name) => names.has(name);
}
