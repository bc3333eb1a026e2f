/**
 * Peak memory of a one-shot command (quality.md: a cold `plan` of 10,000 ≤ 150 MB RSS; issue
 * 35). V8 grows its young generation while objects survive it, on Node 24 up to 32 MB per
 * semi-space (64 MB committed, 16 MB on Node 20): a cold 10k `plan`, which keeps the desired
 * and live states, reached it and peaked at ~172 MB RSS of which ~40 MB of young generation.
 * A one-shot command keeps V8's first semi-space (1 MB): the semi-space growth factor is set
 * to 1 before any command module loads (V8 reads it at each growth; the maximum, which
 * `--max-semi-space-size` sets, is fixed when the isolate is made and cannot be lowered from
 * here). Measured paired on Node 24: peak RSS 172 → 120 MB, CPU unchanged (bench/README.md).
 * `apply` lets it grow again, to 32 MB, when its execution starts on a small heap
 * (letYoungGenerationGrow).
 *
 * Not for the long-running commands (`daemon`, `control-plane serve`): their heap is for
 * days of work, sized with Node's own flags (the Docker image's NODE_OPTIONS). A semi-space
 * flag given to Node (command line or NODE_OPTIONS) is the user's choice and wins.
 */
import type * as V8 from 'node:v8';

// Not imported: only a command that runs needs node:v8 (`--version` exits before it is asked).
const v8 = (): typeof V8 => process.getBuiltinModule('node:v8');

const SEMI_SPACE_FLAG = /--(max-|min-)?semi-space-(size|growth-factor)\b/;

/**
 * Whether a run of the CLI with ARGV is one of the commands that run for days (`daemon`,
 * `control-plane serve`) rather than once: their young generation keeps V8's defaults and, in
 * the built CLI, they run tsc's modules rather than the start-up bundle (main.ts).
 * `control-plane capabilities` is a one-shot command like the others.
 */
export function isLongRunning(argv: readonly string[]): boolean {
  const words = argv.filter((arg) => !arg.startsWith('-'));
  if (words[0] === 'daemon') return true;
  return words[0] === 'control-plane' && words.includes('serve');
}

/** Whether a run of the CLI with ARGV keeps the young generation small (see the module comment). */
export function keepsYoungGenerationSmall(
  argv: readonly string[],
  nodeFlags: readonly string[] = [...process.execArgv, process.env.NODE_OPTIONS ?? ''],
): boolean {
  if (nodeFlags.some((flag) => SEMI_SPACE_FLAG.test(flag))) return false;
  return !isLongRunning(argv);
}

/** Set when this process kept its young generation small (keepYoungGenerationSmall). */
let keptSmall = false;

/** Keeps the young generation at its first size for a one-shot command; true when it did. */
export function keepYoungGenerationSmall(argv: readonly string[]): boolean {
  if (!keepsYoungGenerationSmall(argv)) return false;
  keptSmall = growthFactor(1);
  return keptSmall;
}

/**
 * From now on the young generation grows as V8 decides (its default factor, 2), up to
 * `GROWN_YOUNG_BYTES`, when it was kept small. For `apply` once the plan is made and its
 * execution starts: the executor keeps up to --parallelism calls in flight, and in a 1 MB young
 * generation their objects outlive a scavenge, are promoted and collected again by the old
 * generation's collector. Paired at 10k, HTTP, 20 ms latency: 15-20 % more CPU at parallelism
 * 16 and 128, and a higher peak RSS at 128 (bench/README.md, issue 37 last stop). The plan's
 * peak, where keeping it small pays, is behind it. Not when the heap is already past
 * `LARGE_HEAP_BYTES` (a 100,000-object apply): its growth is seen late, between calls that do
 * not yield (it reached 64 MB), and the peak there is quality.md's 400 MB bound.
 */
export function letYoungGenerationGrow(): void {
  if (!keptSmall || v8().getHeapStatistics().used_heap_size >= LARGE_HEAP_BYTES) return;
  keptSmall = !growthFactor(2);
  if (!keptSmall) stopGrowingAt(GROWN_YOUNG_BYTES);
}

/**
 * How large apply lets the young generation grow (V8's new space, both semi-spaces): what a
 * 10k apply reaches by itself. V8's own bound is 128 MB on Node 24, which a 100k apply
 * reached, on top of an old generation of ~200 MB: peak RSS ~470 MB (issue 63).
 */
const GROWN_YOUNG_BYTES = 32 * 1024 * 1024;

/** util/heap-growth.ts's threshold, not imported: this module loads before any other. */
const LARGE_HEAP_BYTES = 64 * 1024 * 1024;

/**
 * Growth stops (factor 1) after the first collection seen with the young generation at half
 * of `bytes` or more: V8 takes no maximum after start-up (`--max-semi-space-size`), only the
 * factor, and it doubles the young generation at each growth. A collection is seen once the
 * event loop runs, which it does between apply's calls, but one more doubling may happen
 * before: so it ends at half of `bytes`, or at `bytes` (stopping at `bytes` itself, a 100k
 * apply was seen at twice that).
 */
function stopGrowingAt(bytes: number): void {
  const youngBytes = () =>
    v8()
      .getHeapSpaceStatistics()
      .find((space) => space.space_name === 'new_space')?.space_size ?? 0;
  const { PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
  const observer = new PerformanceObserver(() => {
    if (youngBytes() < bytes / 2) return;
    growthFactor(1);
    observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
}

function growthFactor(factor: number): boolean {
  try {
    v8().setFlagsFromString(`--semi-space-growth-factor=${factor}`);
    return true;
  } catch {
    return false; // a V8 without the flag: its defaults
  }
}
