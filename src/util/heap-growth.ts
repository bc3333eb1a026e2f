/**
 * Caps how far V8 lets a large heap grow between full collections (V8's own factor reaches 4x
 * what survived the last one): poolsync keeps little but passes a lot through. On a small heap
 * the extra collections only cost time (+7 % at 10,000 objects), so a command caps once the heap
 * passes `LARGE_HEAP_BYTES` (V8 reads the flag at each resizing); the daemon from the start, or
 * each run's garbage piles up (bench's "daemon resident set" row). Started first thing in
 * src/cli/main.ts; a `--heap-growing-percent` given to node itself wins. The cap per command, at
 * 100,000 objects (bench/README.md, issues 63 and 79):
 * - the daemon, and `apply` of a saved plan (savedPlanApply), 50 %: that apply holds the plan as
 *   read from its file, and peaks at 335–380 MB resident (at 150 %: 410–460 MB);
 * - any other command, 150 %: a `plan` peaks at ~280 MB (creates) and ~330 MB (converged); at
 *   50 % it spent 0.2–0.4 s more CPU (of ~3) for about as much, and uncapped a converged plan
 *   peaked at 410 MB; an `apply` of a repository's 100,000 creates spends ~5 % less CPU than at
 *   50 % and peaks at 290–340 MB (its plan shares the declared specs).
 */
import type * as V8 from 'node:v8';

// Not imported: only a command that runs needs them.
const v8 = (): typeof V8 => process.getBuiltinModule('node:v8');

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
let observer: { disconnect(): void } | null = null;

/**
 * Caps the growth for `command` (the command line's first word): now for the daemon, else once
 * a collection finds the heap large or the loader its input (largeInputRead).
 */
export function capHeapGrowthOf(
  command: string | undefined,
  execArgv: readonly string[],
  nodeOptions: string,
): void {
  if (growthGiven(execArgv, nodeOptions)) return;
  const fromBytes = command === 'daemon' ? 0 : LARGE_HEAP_BYTES;
  threshold = fromBytes;
  percent = command === 'daemon' ? 50 : 150;
  const large = () => v8().getHeapStatistics().used_heap_size >= fromBytes;
  if (large()) return void capHeapGrowthNow();
  const { PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
  const watching = new PerformanceObserver(() => large() && capHeapGrowthNow());
  watching.observe({ entryTypes: ['gc'] });
  observer = watching;
}

/** `apply PLANFILE`, before it reads the file: the daemon's cap (above). */
export function savedPlanApply(): void {
  percent = 50;
}

function capHeapGrowthNow(): void {
  if (threshold === null) return;
  v8().setFlagsFromString(`${FLAG}=${percent}`);
  threshold = null;
  observer?.disconnect();
  observer = null;
}

/** What else a large input's load changes (src/cli/one-shot-v8.ts: the young generation). */
let largeInput: { read(): void; loaded(): void } | null = null;

export function onLargeInput(hooks: { read(): void; loaded(): void } | null): void {
  largeInput = hooks;
}

/**
 * The loader, at each file once its input is large (LARGE_INPUT_BYTES): the heap's growth capped
 * now (whenever a collection happened to run), and what else a large input changes.
 */
export function largeInputRead(): void {
  capHeapGrowthNow();
  largeInput?.read();
}

/** The loader, when it has read its files. */
export function largeInputLoaded(): void {
  largeInput?.loaded();
}
