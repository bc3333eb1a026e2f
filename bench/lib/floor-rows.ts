/**
 * The floor every whole-process row is divided by: a process that reads the same files and
 * parses them with js-yaml's CommonJS build (bench/floor-parse.mjs), cold like every row. Two
 * calibration rows split it into Node's start-up and a warmed-up in-process parse (the "warm
 * floor", stricter than any cold process can reach).
 */
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as JsYaml from 'js-yaml';
import { formatMs, median, type ProcessRun, runProcess } from './measure.js';
import { repeat, type SizeContext } from './rows.js';

const FLOOR_SCRIPT = join(import.meta.dirname, '..', 'floor-parse.mjs');
// The fastest known way to parse (issue 25): js-yaml's CommonJS build, as the floor script.
const { loadAll } = createRequire(import.meta.url)('js-yaml') as typeof JsYaml;

/** Every manifest file of a generated repository, read into memory. */
async function readRepositoryTexts(repo: string): Promise<string[]> {
  const texts: string[] = [];
  for (const folder of ['pools', 'clusters', 'queues', 'assignments']) {
    for (const file of (await readdir(join(repo, folder))).sort())
      texts.push(await readFile(join(repo, folder, file), 'utf8'));
  }
  return texts;
}

export interface Floors {
  /** The whole-process parse floor: wall and CPU time (ms). */
  ms: number;
  cpuMs: number | null;
  /** `node -e ''` plus the warmed-up in-process parse (ms). */
  warmMs: number;
}

/** One run of the floor's process: also beside a row whose target is judged in pairs with it. */
export const floorRun = ({ repo, work }: SizeContext): Promise<ProcessRun> =>
  runProcess(process.execPath, [FLOOR_SCRIPT, repo], { cwd: work });

export async function floorRows(ctx: SizeContext): Promise<Floors> {
  const { n, o, repo, work, sink } = ctx;
  const parse = await repeat(o.runs, () => floorRun(ctx));
  sink.add({
    n,
    name: 'floor: whole process reading and js-yaml-parsing every file (`bench/floor-parse.mjs`)',
    ms: parse.ms,
    cpuMs: parse.cpuMs,
    runs: o.runs,
    peakRss: parse.peakRss,
    target: '',
    met: null,
    notes:
      'The floor of the targets table: Node start-up + reading + a plain, cold js-yaml `loadAll` of the same files.',
  });
  const texts = await readRepositoryTexts(repo);
  const samples: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const t = performance.now();
    for (const text of texts) loadAll(text);
    samples.push(performance.now() - t);
  }
  const start = await repeat(o.runs, () => runProcess(process.execPath, ['-e', ''], { cwd: work }));
  const warmMs = start.ms + median(samples);
  sink.add({
    n,
    name: "floor: `node -e ''` (whole process)",
    ms: start.ms,
    cpuMs: start.cpuMs,
    runs: o.runs,
    peakRss: start.peakRss,
    target: '',
    met: null,
    notes: `Node start-up alone. With the warmed-up parse below: ${formatMs(warmMs)}, a stricter floor than any cold process can reach (the targets' notes give the ratio to it too).`,
  });
  sink.add({
    n,
    name: 'floor: js-yaml `loadAll` of every file (in-process, files already read, warmed up)',
    ms: median(samples),
    runs: o.runs,
    peakRss: null,
    target: '',
    met: null,
    notes:
      'Calibration, not a poolsync row: no positions, no validation; median of runs in one process, so the parser is JIT-compiled after the first. quality.md: ~0.2 s at 10,000 on an idle machine.',
  });
  return { ms: parse.ms, cpuMs: parse.cpuMs, warmMs };
}
