/**
 * Caps how far V8 lets a large heap grow between full collections (V8's own factor reaches 4x
 * what survived the last one): poolsync keeps little but passes a lot through. On a small heap
 * the extra collections only cost time (+7 % at 10,000 objects), so a command caps once the heap
 * passes `LARGE_HEAP_BYTES` (V8 reads the flag at each resizing); the daemon from the start, or
 * each run's garbage piles up (bench's "daemon resident set" row). Started first thing in
 * src/cli/main.ts; a `--heap-growing-percent` given to node itself wins. The cap per command, at
 * 100,000 objects (bench/README.md, issue 63):
 * - `apply` and the daemon, 50 %: an apply holds its plan and the applied state while it writes
 *   its records, and peaks at 320–370 MB resident (at 100 %: up to 355; uncapped ~500 MB);
 * - any other command, 150 %: a `plan` peaks at ~310 MB (creates) and ~370 MB (converged); at
 *   50 % it spent 0.3–0.5 s more CPU (of ~3) for 20–40 MB less, and uncapped it peaked at 410.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

const LARGE_HEAP_BYTES = 64 * 1024 * 1024;
/** YAML read past which a repository is large (the bench's 10,000 objects are 2 MB, 100,000 are 20 MB). */
export const LARGE_INPUT_BYTES = 4 * 1024 * 1024;

const FLAG = '--heap-growing-percent';

/** Whether node was given its own growing factor (then it is left alone). */
export function growthGiven(execArgv: readonly string[], nodeOptions: string): boolean {
  const given = (a: string) => a.startsWith(FLAG) || a.startsWith('--heap_growing_percent');
  return execArgv.some(given) || nodeOptions.split(/\s+/).some(given);
}

let threshold: number | null = null;
let percent = 50;
let observer: PerformanceObserver | null = null;

/**
 * Caps the growth for `command` (the command line's first word): now for the daemon, else once
 * a collection finds the heap large or the loader its input (capHeapGrowthNow).
 */
export function capHeapGrowthOf(
  command: string | undefined,
  execArgv: readonly string[],
  nodeOptions: string,
): void {
  if (growthGiven(execArgv, nodeOptions)) return;
  const fromBytes = command === 'daemon' ? 0 : LARGE_HEAP_BYTES;
  threshold = fromBytes;
  percent = command === 'daemon' || command === 'apply' ? 50 : 150;
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
  setFlagsFromString(`${FLAG}=${percent}`);
  threshold = null;
  observer?.disconnect();
  observer = null;
  return true;
}
