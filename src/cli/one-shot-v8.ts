/**
 * V8 settings of a one-shot command (not `daemon` nor `control-plane serve`: days of work, sized
 * with Node's flags; a flag given to Node for the same setting wins).
 *
 * The young generation (quality.md: a cold `plan` of 10,000 ≤ 150 MB RSS; issue 35): V8 grew it
 * to ~40 MB of a cold 10k `plan`'s ~172 MB peak RSS. A one-shot command keeps V8's first
 * semi-space (1 MB): growth factor 1 before any command module loads (`--max-semi-space-size` is
 * fixed when the isolate is made). Paired on Node 24: peak RSS 172 → 120 MB, CPU unchanged
 * (bench/README.md).
 *
 * No TurboFan while loading and planning (issue 63): its background compilation cost more than
 * its code saved in a process of seconds. Paired on Node 24, `plan` of 100,000 creates: CPU
 * 3.63–3.74 → 3.33–3.48 s (V8's worker threads 1.25–1.38 → 0.83–0.84 s), wall unchanged; of
 * 10,000: 0.62 → 0.52 s. Maglev still optimizes what is hot (not on Node 20: maglevByDefault).
 */
import type * as V8 from 'node:v8';

// Not imported: only a command that runs needs node:v8 (`--version` exits before it is asked).
const v8 = (): typeof V8 => process.getBuiltinModule('node:v8');

const SEMI_SPACE_FLAG = /--(max-|min-)?semi-space-(size|growth-factor)\b/;
const TURBOFAN_FLAG = /--(no-)?turbofan\b/;

/** `daemon` or `control-plane serve`: V8's defaults, and tsc's modules (main.ts). */
export function isLongRunning(argv: readonly string[]): boolean {
  const words = argv.filter((arg) => !arg.startsWith('-'));
  if (words[0] === 'daemon') return true;
  return words[0] === 'control-plane' && words.includes('serve');
}

const NODE_FLAGS = (): string[] => [...process.execArgv, process.env.NODE_OPTIONS ?? ''];

/**
 * Whether the one-shot `setting` applies: a one-shot command, and no flag of Node's for it;
 * TurboFan only where Maglev optimizes what is hot without it.
 */
export function tunes(
  setting: 'young generation' | 'turbofan',
  argv: readonly string[],
  nodeFlags: readonly string[] = NODE_FLAGS(),
  v8Version: string = process.versions.v8,
): boolean {
  if (setting === 'turbofan' && !maglevByDefault(nodeFlags, v8Version)) return false;
  const flag = setting === 'turbofan' ? TURBOFAN_FLAG : SEMI_SPACE_FLAG;
  return !nodeFlags.some((f) => flag.test(f)) && !isLongRunning(argv);
}

/**
 * Maglev is on by default from V8 11.7 (Node 22 has 12.4). Node 20's V8 11.3 has none on: without
 * TurboFan only Sparkplug compiled, and `validate` of 100,000 objects took 5.0 s of CPU, 2.6 s
 * with TurboFan (bench/history.md, 27 Nov; Node 24: 1.7 s). Its own `--maglev` was slower still.
 */
function maglevByDefault(nodeFlags: readonly string[], v8Version: string): boolean {
  if (nodeFlags.some((f) => /--no-maglev\b/.test(f))) return false;
  const [major = 0, minor = 0] = v8Version.split('.').map(Number);
  return major > 11 || (major === 11 && minor >= 7);
}

let keptSmall = false;
let turbofanOff = false;

export function tuneOneShot(argv: readonly string[]): void {
  if (tunes('young generation', argv)) keptSmall = growthFactor(1);
  if (tunes('turbofan', argv)) turbofanOff = setFlag('--no-turbofan');
}

/**
 * The young generation while a large input loads, where a one-shot command keeps it small: grown
 * up to `bytes` while the files are read (V8 doubles it at a collection), then left as it is. The
 * loader signals both (src/util/heap-growth.ts, onLargeInput); null for a command that leaves the
 * young generation to V8. Checked at each file, not by a collection observer: the synchronous
 * planner after the load would grow it past any bound an observer sets (390–450 MB were seen).
 * Paired runs of `plan` of 100,000 creates: CPU 2.51–2.57 → 2.23–2.26 s, peak resident 271–297 →
 * 280–287 MB; converged, 2.72–2.78 → 2.42–2.65 s and 349–354 → 318–341 MB; 10,000 unchanged.
 * Fewer scavenges, and less of the loader's short-lived objects promoted. Unbounded (V8's own
 * limit, 128 MB on Node 24) it peaked at ~440 MB.
 */
export function growWhileLargeInputLoads(
  bytes = LARGE_INPUT_YOUNG_BYTES,
): { read(): void; loaded(): void } | null {
  if (!keptSmall) return null;
  let limit = bytes;
  let growing = false;
  const loaded = () => {
    if (growing) growthFactor(1);
    growing = false;
    limit = 0;
  };
  const read = () => {
    if (limit === 0) return;
    if (youngBytes() >= limit) loaded();
    else if (!growing) growing = growthFactor(2);
  };
  return { read, loaded };
}

/** The young generation a large input's load grows to. */
const LARGE_INPUT_YOUNG_BYTES = 16 * 1024 * 1024;

/**
 * `apply` once its plan's peak is behind it: TurboFan again (its calls may run for minutes), and
 * the young generation grows again (factor 2) up to GROWN_YOUNG_BYTES. Its --parallelism calls in
 * flight outlive a 1 MB young generation's scavenges and are promoted: paired at 10k, HTTP, 20 ms
 * latency, 15-20 % more CPU at parallelism 16 and 128 and a higher peak RSS at 128
 * (bench/README.md, issue 37 last stop).
 */
export function tuneForExecution(): void {
  if (turbofanOff) turbofanOff = !setFlag('--turbofan');
  if (!keptSmall) return;
  keptSmall = !growthFactor(2);
  if (!keptSmall) stopGrowingAt(GROWN_YOUNG_BYTES);
}

/**
 * Both semi-spaces: what a 10k apply reaches by itself. V8's own bound, 128 MB on Node 24, a 100k
 * apply reached on top of ~200 MB of old generation: peak RSS ~470 MB (issue 63).
 */
const GROWN_YOUNG_BYTES = 32 * 1024 * 1024;

/**
 * Growth stops (factor 1) at the first collection seen with the young generation at half of
 * `bytes` or more: V8 takes no maximum after start-up, only the factor, and doubles at each
 * growth; a collection is seen once the event loop runs, and one more doubling may come before
 * (stopping at `bytes` itself, a 100k apply was seen at twice that).
 */
function stopGrowingAt(bytes: number): void {
  const { PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
  const observer = new PerformanceObserver(() => {
    if (youngBytes() < bytes / 2) return;
    growthFactor(1);
    observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
}

const youngBytes = (): number =>
  v8()
    .getHeapSpaceStatistics()
    .find((space) => space.space_name === 'new_space')?.space_size ?? 0;

const growthFactor = (factor: number): boolean => setFlag(`--semi-space-growth-factor=${factor}`);

function setFlag(flag: string): boolean {
  try {
    v8().setFlagsFromString(flag);
    return true;
  } catch {
    return false; // a V8 without the flag: its defaults
  }
}
