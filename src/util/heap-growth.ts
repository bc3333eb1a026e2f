/**
 * Caps how far V8 lets a large heap grow between full collections.
 *
 * V8 sizes the old generation at up to 4× what survived the last full collection before it
 * collects again. poolsync's runs keep little (the desired and live states, the plan) but
 * pass a lot through (each file's parse tree, each object's checks), so at 100,000 objects the
 * resident set of a plan peaked at ~540 MB over a live heap of ~175 MB. A fixed factor of 1.5
 * collects sooner: 353 MB for the same plan (bench/README.md). On a small heap the extra
 * collections cost time (+7 % on a 10,000-object plan) for no memory worth having, so the cap
 * is set only once a collection finds the heap past `LARGE_HEAP_BYTES`: V8 reads the flag at
 * each collection that sizes the heap again.
 *
 * The daemon caps from the start: it lives for weeks, and without the cap each run's garbage
 * piled up in the old generation until V8's limit, far above what the daemon keeps, so its
 * resident set crept up run after run (bench's "daemon resident set" row).
 *
 * Started first thing in src/cli/main.ts. A `--heap-growing-percent` given to node itself
 * (command line or NODE_OPTIONS) wins.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;
export const LARGE_HEAP_BYTES = 128 * 1024 * 1024;

const FLAG = '--heap-growing-percent';

/** Whether node was given its own growing factor (then it is left alone). */
export function growthGiven(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  const given = (a: string) => a.startsWith(FLAG) || a.startsWith('--heap_growing_percent');
  return execArgv.some(given) || nodeOptions.split(/\s+/).some(given);
}

/** Watches collections; the first that finds the heap past `fromBytes` sets the cap. */
export function capHeapGrowthWhenLarge(fromBytes = LARGE_HEAP_BYTES): void {
  if (growthGiven()) return;
  if (fromBytes <= 0) {
    setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
    return;
  }
  const observer = new PerformanceObserver(() => {
    if (getHeapStatistics().used_heap_size < fromBytes) return;
    setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
    observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
}
