/**
 * Caps how far V8 lets a large heap grow between full collections.
 *
 * V8 sizes the old generation at up to 4× what survived the last full collection before it
 * collects again. poolsync's runs keep little (the desired and live states, the plan) but
 * pass a lot through (each file's parse tree, each object's checks), so at 100,000 objects the
 * resident set of a plan peaked at ~540 MB over a live heap of ~175 MB. A fixed factor of 1.5
 * collects sooner: 353 MB for the same plan (bench/README.md). On a small heap the extra
 * collections cost time (+7 % on a 10,000-object plan, whose heap stays under 40 MB) for no
 * memory worth having, so a command sets the cap only once the heap passes `LARGE_HEAP_BYTES`
 * (64 MB): V8 reads the flag at each collection that sizes the heap again.
 *
 * The daemon caps from the start: it lives for weeks, and without the cap each run's garbage
 * piled up in the old generation until V8's limit, far above what the daemon keeps, so its
 * resident set crept up run after run (bench's "daemon resident set" row).
 *
 * Started first thing in src/cli/main.ts. A `--heap-growing-percent` given to node itself
 * (command line) wins; node refuses it in NODE_OPTIONS, checked anyway.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;
export const LARGE_HEAP_BYTES = 64 * 1024 * 1024;
/** YAML read past which a repository is large (the bench's 10,000 objects are 2 MB, 100,000 are 20 MB). */
export const LARGE_INPUT_BYTES = 4 * 1024 * 1024;

const FLAG = '--heap-growing-percent';

/** Whether node was given its own growing factor (then it is left alone). */
export function growthGiven(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  const given = (a: string) => a.startsWith(FLAG) || a.startsWith('--heap_growing_percent');
  return execArgv.some(given) || nodeOptions.split(/\s+/).some(given);
}

let threshold: number | null = null;
let observer: PerformanceObserver | null = null;

/**
 * Caps the growth now (`fromBytes` 0) or from the first collection that finds the heap past
 * `fromBytes`. The collections' reports arrive between tasks, so a long synchronous step (the
 * planner at 100,000 objects runs ~2 s) calls `capHeapGrowthIfLarge` before it starts: the
 * cap then never depends on when a report happened to arrive (it did: 350-490 MB at 100k).
 */
export function capHeapGrowthWhenLarge(fromBytes = LARGE_HEAP_BYTES): void {
  if (growthGiven()) return;
  threshold = fromBytes;
  if (capHeapGrowthIfLarge()) return;
  observer = new PerformanceObserver(() => capHeapGrowthIfLarge());
  observer.observe({ entryTypes: ['gc'] });
}

/** Sets the cap when it is wanted and the heap is past the threshold; whether it is set. */
export function capHeapGrowthIfLarge(): boolean {
  if (threshold === null) return false;
  if (threshold > 0 && getHeapStatistics().used_heap_size < threshold) return false;
  return capHeapGrowthNow();
}

/**
 * Sets the cap now when the process asked for it on a large heap: the loader calls it once a
 * repository has proved large (more YAML than `LARGE_INPUT_BYTES`), which does not depend on
 * when a collection happened to run. Whether it is set.
 */
export function capHeapGrowthNow(): boolean {
  if (threshold === null) return false;
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  threshold = null;
  observer?.disconnect();
  observer = null;
  return true;
}
