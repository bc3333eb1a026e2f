/**
 * `npm run bench:caches`: what each cache on the daemon's plan path saves (the CLI keeps none).
 * Each cache is turned off by the one switch (`POOLSYNC_CACHE_OFF=<name>`,
 * src/incremental/off.ts) and the same cases are measured with it off and with every cache on,
 * in the cases users meet, on the generated repository (bench/lib/scale.ts) against its
 * converged `file:` state: `poolsync daemon --repo <git repo>` and POST /reconcile?wait=1: its
 * first run (cold: one sample per daemon started), nothing changed (the same commit; 5 × runs),
 * the same with `--watch <folder>` (loaded again every run), one file changed (a commit changing
 * one queue, applied).
 *
 * Printed: median wall time and mean CPU time (ms; the mean, since /proc counts in 10 ms ticks)
 * of each case, every cache on and this one off (back to back), and the share of the CPU time
 * the cache saves (1 − on/off; the machine is shared: CPU is steadier than wall time; the
 * daemon's cold run has wall time only, one sample: noise).
 *
 *   npm run bench:caches -- [--objects 10000] [--runs 5] [--only name,name]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { CacheName } from '../src/incremental/off.js';
import { resolveCli, type Cli } from './lib/cli.js';
import { measureDaemon } from './lib/daemon.js';
import { commitAll } from './lib/git.js';
import { median } from './lib/measure.js';
import { generateScaleModel } from './lib/scale.js';
import { copyStateFile, seedStateFile } from './lib/seed.js';
import { writeRepository } from './lib/yaml-writer.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const OBJECTS = Number(arg('objects') ?? 10_000);
const RUNS = Number(arg('runs') ?? 5);
const ONLY = arg('only')?.split(',');

/** The daemon's caches (src/incremental/off.ts names them; docs in bench/README.md). */
const DAEMON_CACHES: CacheName[] = [
  'analysis',
  'folder',
  'recheck',
  'loaded',
  'state-cache',
  'shared-lists',
  'plan-reuse',
  'plan-slice',
];

/** Median wall and CPU ms of each case. */
type Cases = Record<string, { ms: number; cpu: number }>;

interface Setup {
  cli: Cli;
  dir: string;
  repo: string;
  state: string;
  /** The queue file one-file-changed edits, and its text. */
  file: string;
  original: string;
}

const changed = (s: Setup, i: number) => {
  const text = s.original.replace(/run_concurrency: \d+/, `run_concurrency: ${901 + i}`);
  if (text === s.original) throw new Error(`no run_concurrency in ${s.file}`);
  return text;
};

async function commit(repo: string, message: string): Promise<void> {
  const id = ['-c', 'user.name=poolsync bench', '-c', 'user.email=bench@poolsync.invalid'];
  await run('git', [...id, '-C', repo, 'commit', '-q', '-a', '-m', message]);
}

async function daemonCases(s: Setup, offName: string): Promise<Cases> {
  const env = { POOLSYNC_CACHE_OFF: offName };
  const stateDir = await mkdtemp(join(s.dir, 'daemon-'));
  // The mean: /proc counts CPU in 10 ms ticks, and a run with nothing changed takes a few.
  const cpuOf = (m: Awaited<ReturnType<typeof measureDaemon>>) =>
    m.cpu.reduce((sum, c) => sum + (c ? c.self : NaN), 0) / m.cpu.length;
  try {
    const same = await measureDaemon(s.cli, {
      repo: s.repo,
      controlPlane: `file:${s.state}`,
      stateDir: join(stateDir, 'same'),
      // Cheap runs: five times as many.
      runs: 5 * RUNS,
      env,
    });
    // `--watch`: the folder is loaded again every run, whether or not anything changed.
    const watched = await measureDaemon(s.cli, {
      repo: s.repo,
      watch: true,
      controlPlane: `file:${s.state}`,
      stateDir: join(stateDir, 'watch'),
      runs: 5 * RUNS,
      env,
    });
    const state = join(stateDir, 'cp.json');
    await copyStateFile(s.state, state);
    let one: Awaited<ReturnType<typeof measureDaemon>>;
    try {
      one = await measureDaemon(s.cli, {
        repo: s.repo,
        controlPlane: `file:${state}`,
        stateDir: join(stateDir, 'one'),
        runs: RUNS,
        env,
        expect: ['applied'],
        before: async (i) => {
          await writeFile(s.file, changed(s, i));
          await commit(s.repo, `bench: one change ${i}`);
        },
      });
    } finally {
      await writeFile(s.file, s.original);
      await commit(s.repo, 'bench: back to the generated state').catch(() => undefined);
    }
    return {
      // One first run per daemon: the median of the two daemons' first runs (no CPU sample).
      cold: { ms: median([same.firstMs, one.firstMs]), cpu: NaN },
      'nothing changed': { ms: median(same.runs), cpu: cpuOf(same) },
      'nothing changed, --watch': { ms: median(watched.runs), cpu: cpuOf(watched) },
      'one file changed': { ms: median(one.runs), cpu: cpuOf(one) },
    };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

const fmt = (n: number) => (Number.isFinite(n) ? String(Math.round(n)) : 'n/a');
/** The share of its path a cache saves: on CPU time where measured, else wall time. */
function saving(on: { ms: number; cpu: number }, off: { ms: number; cpu: number }): string {
  const [a, b] =
    Number.isFinite(on.cpu) && Number.isFinite(off.cpu) ? [on.cpu, off.cpu] : [on.ms, off.ms];
  return b > 0 ? `${Math.round(100 * (1 - a / b))} %` : 'n/a';
}

function print(path: string, name: string, on: Cases, off: Cases): void {
  for (const c of Object.keys(on)) {
    const [a, b] = [on[c]!, off[c]!];
    const row = [name, path, c, fmt(a.ms), fmt(b.ms), fmt(a.cpu), fmt(b.cpu)];
    console.log(`| ${[...row, saving(a, b)].join(' | ')} |`);
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-caches-'));
  try {
    const cli = await resolveCli(ROOT, { tsx: process.argv.includes('--tsx'), log });
    const model = generateScaleModel(OBJECTS);
    const repo = join(dir, 'repo');
    await writeRepository(model, repo);
    await commitAll(repo, 'bench: generated');
    const state = join(dir, 'cp', 'state.json');
    await seedStateFile(state, model);
    const file = join(repo, 'queues', (await readdir(join(repo, 'queues'))).sort()[0]!);
    const s: Setup = { cli, dir, repo, state, file, original: await readFile(file, 'utf8') };
    const load = () =>
      loadavg()
        .map((l) => l.toFixed(2))
        .join(' ');
    console.log(`caches at ${OBJECTS} objects, ${RUNS} runs each, ${cli.label}; load ${load()}`);
    console.log('');
    console.log('| cache off | path | case | on ms | off ms | on CPU ms | off CPU ms | saves |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const name of DAEMON_CACHES.filter((c) => !ONLY || ONLY.includes(c))) {
      // On and off back to back: the machine's load weighs on both alike.
      log(`daemon: ${name} on, then off`);
      const on = await daemonCases(s, '');
      print('daemon', name, on, await daemonCases(s, name));
    }
    console.log('');
    console.log(`load average at the end: ${load()}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
