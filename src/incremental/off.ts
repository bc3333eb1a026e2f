/**
 * The one switch that turns caches of the plan path off, for the bench that measures what each
 * saves (bench/caches.ts): `POOLSYNC_CACHE_OFF=name,name`. Read here only; each cache asks
 * `off(its name)` where it would be used. Nothing else reads the variable.
 */
export type CacheName =
  'analysis' | 'folder' | 'plan-reuse' | 'state-cache' | 'shared-lists' | 'loaded';

/** True when `POOLSYNC_CACHE_OFF` names this cache. */
export const off = (name: CacheName): boolean =>
  (process.env.POOLSYNC_CACHE_OFF ?? '').split(',').includes(name);
