/**
 * Caps how far V8 lets the heap grow between full collections, for the whole process.
 *
 * V8 sizes the old generation at up to 4× what survived the last full collection before it
 * collects again. poolsync's runs keep little (the desired and live states, the plan) but
 * pass a lot through (each file's parse tree, each object's checks), so before this the
 * resident set of a 100,000-object plan peaked at ~540 MB over a live heap of ~175 MB. A fixed
 * factor of 1.5 collects sooner; measured on the bench's 100,000-object organisation (plan
 * with nothing to change): 499-543 MB → 354 MB, with the same wall time (bench/README.md).
 *
 * Set before anything large is allocated (the first import of src/cli/main.ts). A
 * `--heap-growing-percent` given to node itself (command line or NODE_OPTIONS) wins.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

const FLAG = '--heap-growing-percent';

export function capHeapGrowth(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  const given = (a: string) => a.startsWith(FLAG) || a.startsWith('--heap_growing_percent');
  if (execArgv.some(given) || nodeOptions.split(/\s+/).some(given)) return false;
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  return true;
}

capHeapGrowth();
