/**
 * Caps how far V8 lets a large heap grow between full collections (4x what survived the last
 * one): poolsync keeps little but passes a lot through, so a 100,000-object plan peaked at ~540
 * MB resident over a ~175 MB live heap, and 353 MB with a factor of 1.5 (bench/README.md). On a
 * small heap the extra collections only cost time (+7 % at 10,000 objects), so a command caps
 * once the heap passes `LARGE_HEAP_BYTES` (V8 reads the flag at each resizing); the daemon from
 * the start, or each run's garbage piles up (bench's "daemon resident set" row). Started first
 * thing in src/cli/main.ts; a `--heap-growing-percent` given to node itself wins.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

const HEAP_GROWING_PERCENT = 50;
export const LARGE_HEAP_BYTES = 64 * 1024 * 1024;
/** YAML read past which a repository is large (the bench's 10,000 objects are 2 MB, 100,000 are 20 MB). */
export const LARGE_INPUT_BYTES = 4 * 1024 * 1024;

const FLAG = '--heap-growing-percent';

/** Whether node was given its own growing factor (then it is left alone). */
export function growthGiven(execArgv: readonly string[], nodeOptions: string): boolean {
  const given = (a: string) => a.startsWith(FLAG) || a.startsWith('--heap_growing_percent');
  return execArgv.some(given) || nodeOptions.split(/\s+/).some(given);
}

let threshold: number | null = null;
let observer: PerformanceObserver | null = null;

/** Caps the growth now (`fromBytes` 0) or once a collection finds the heap past `fromBytes`. */
export function capHeapGrowthWhenLarge(
  fromBytes: number,
  execArgv: readonly string[],
  nodeOptions: string,
): void {
  if (growthGiven(execArgv, nodeOptions)) return;
  threshold = fromBytes;
  const large = () => getHeapStatistics().used_heap_size >= fromBytes;
  if (large()) return void capHeapGrowthNow();
  observer = new PerformanceObserver(() => large() && capHeapGrowthNow());
  observer.observe({ entryTypes: ['gc'] });
}

/**
 * Sets the cap now, when asked for on a large heap: the loader calls it once a repository is
 * large (LARGE_INPUT_BYTES), whenever a collection happened to run. Whether it is set.
 */
export function capHeapGrowthNow(): boolean {
  if (threshold === null) return false;
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  threshold = null;
  observer?.disconnect();
  observer = null;
  return true;
}
