/**
 * The daemon rows of issue 25 at 10,000 objects: a reconcile of a one-line commit (applied),
 * and the resident set over many no-op reconciles (issue 23, item 11). Both run the real
 * daemon process against a Git repository and an embedded control plane (bench/lib/daemon.ts).
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cli } from './cli.js';
import { cpuPerRun, measureDaemon } from './daemon.js';
import { formatBytes, formatMs, median } from './measure.js';
import { MB, type SizeContext } from './rows.js';
import { copyStateFile } from './seed.js';

const run = promisify(execFile);

interface Measured {
  row: {
    name: string;
    ms: number | null;
    peakRss: number | null;
    target: string;
    met: boolean | null;
    notes: string;
  };
  target: { target: string; ms?: number; measured: string; met: boolean | null; notes: string };
}

/** `fetch 61 ms, load 12 ms, …`: the median of each phase over the runs. */
export function phaseMedians(phases: Record<string, number>[]): string {
  const names = [...new Set(phases.flatMap((p) => Object.keys(p)))];
  return names
    .map((name) => [name, median(phases.map((p) => p[name] ?? 0))] as const)
    .filter(([, ms]) => ms > 0)
    .map(([name, ms]) => `${name} ${formatMs(ms)}`)
    .join(', ');
}

async function commit(repo: string, message: string): Promise<void> {
  const id = ['-c', 'user.name=poolsync bench', '-c', 'user.email=bench@poolsync.invalid'];
  await run('git', [...id, '-C', repo, 'commit', '-q', '-a', '-m', message]);
}

/**
 * Each run first commits a one-line change (one queue's run_concurrency) to the repository the
 * daemon follows, then reconciles it: fetch, load (only the changed file is parsed again), read
 * live, plan, apply one update. The control plane is a copy, so the other rows' state is kept.
 */
export async function measureOneChange(
  cli: Cli,
  o: { repo: string; state: string; dir: string; runs: number },
): Promise<Measured> {
  const file = join(o.repo, 'queues', (await readdir(join(o.repo, 'queues'))).sort()[0]!);
  const original = await readFile(file, 'utf8');
  const state = join(o.dir, 'cp-one-change.json');
  await copyStateFile(o.state, state);
  let m: Awaited<ReturnType<typeof measureDaemon>>;
  try {
    m = await measureDaemon(cli, {
      repo: o.repo,
      controlPlane: `file:${state}`,
      stateDir: join(o.dir, 'daemon-change-state'),
      runs: o.runs,
      expect: ['applied'],
      before: async (i) => {
        const changed = original.replace(/run_concurrency: \d+/, `run_concurrency: ${901 + i}`);
        if (changed === original) throw new Error(`no run_concurrency in ${file}`);
        await writeFile(file, changed);
        await commit(o.repo, `bench: one change ${i}`);
      },
    });
  } finally {
    await writeFile(file, original);
    await commit(o.repo, 'bench: back to the generated state').catch(() => undefined);
    await Promise.all([state, `${state}.journal`].map((f) => rm(f, { force: true })));
  }
  const ms = median(m.runs);
  const phases = phaseMedians(m.phases);
  return {
    row: {
      name: 'daemon reconcile of a one-line commit (one queue updated)',
      ms,
      peakRss: m.peakRss,
      target: '≤ 0.4 s',
      met: ms <= 400,
      notes: `A commit changing one queue, then POST /reconcile?wait=1: fetch, load (the changed file parsed again, the others' analyses from memory), read live, plan (the changed file's queues planned again, src/incremental/queue-reuse.ts), apply 1 update (result \`${m.result}\`). Daemon-reported duration, every millisecond in a named phase; medians: ${phases}. ${cpuPerRun(m.cpu)}.`,
    },
    target: {
      target: 'daemon reconcile of a one-line commit at 10k ≤ 0.4 s',
      ms,
      measured: formatMs(ms),
      met: ms <= 400,
      notes: `Phases (medians): ${phases}. ${cpuPerRun(m.cpu)}.`,
    },
  };
}

/**
 * `runs` no-op reconciles of a warm daemon, VmRSS sampled every runs/20. Flat means every
 * sample after the first tenth of the runs (warm-up: code compiled, caches filled) lies within
 * ±5 MB of their median.
 */
export async function measureDaemonMemory(
  cli: Cli,
  o: { repo: string; state: string; dir: string; runs: number },
): Promise<Measured> {
  const every = Math.max(1, Math.floor(o.runs / 20));
  const m = await measureDaemon(cli, {
    repo: o.repo,
    controlPlane: `file:${o.state}`,
    stateDir: join(o.dir, 'daemon-memory-state'),
    runs: o.runs,
    rssEvery: every,
  });
  // m.rss[0] is after the first (startup) run, m.rss[k] after k × every manual runs.
  const warm = m.rss.filter((_, k) => k * every >= o.runs / 10);
  const mid = median(warm);
  const spread = Math.max(...warm.map((r) => Math.abs(r - mid)));
  const met = warm.length >= 2 && spread <= 5 * MB;
  const first = warm[0]!;
  const last = warm[warm.length - 1]!;
  const samples = m.rss.map((r) => (r / MB).toFixed(0)).join(', ');
  return {
    row: {
      name: `daemon resident set over ${o.runs.toLocaleString('en-US')} no-op reconciles`,
      ms: median(m.runs),
      peakRss: m.peakRss,
      target: 'flat (± 5 MB)',
      met,
      notes: `VmRSS every ${every} runs (MB): ${samples}. After warm-up (run ${Math.ceil(o.runs / 10)} on): median ${formatBytes(mid)}, within ±${(spread / MB).toFixed(1)} MB, first → last ${formatBytes(first)} → ${formatBytes(last)}. Median column: the runs' median duration.`,
    },
    target: {
      target: `daemon RSS flat (± 5 MB) over ${o.runs.toLocaleString('en-US')} reconciles at 10k`,
      measured: `±${(spread / MB).toFixed(1)} MB around ${formatBytes(mid)}`,
      met,
      notes: `First → last after warm-up: ${formatBytes(first)} → ${formatBytes(last)}; peak (VmHWM) ${formatBytes(m.peakRss)}.`,
    },
  };
}

/**
 * The daemon rows of one size: a no-op reconcile (Git), at 10k the one-line commit and the
 * resident set over `--daemon-runs` no-op reconciles, and a no-op reconcile with `--watch`.
 * `rows` names the ones asked for (`--only daemon` all, `--only daemon-rss` the memory row).
 */
export async function daemonRows(
  ctx: SizeContext,
  rows: { daemon: boolean; rss: boolean },
): Promise<void> {
  const { n, o, sink, cli, repo, dir } = ctx;
  const state = ctx.noopState;
  if (rows.daemon) {
    const m = await measureDaemon(cli, {
      repo,
      controlPlane: `file:${state}`,
      stateDir: join(dir, 'daemon-state'),
      runs: o.runs,
    });
    const ms = median(m.runs);
    sink.add({
      n,
      name: 'daemon reconcile, nothing to do',
      ms,
      runs: o.runs,
      peakRss: m.peakRss,
      target: n >= 10_000 ? '< 2 s; RSS < 300 MB' : '',
      met: n >= 10_000 ? ms < 2000 && (m.peakRss === null || m.peakRss < 300 * MB) : null,
      notes: `POST /reconcile?wait=1: git fetch, read live, plan (result \`${m.result}\`); the repository is loaded once per commit and reused while the commit does not move, and so is its plan while the live state is identical. Daemon-reported duration; phases (medians): ${phaseMedians(m.phases)}. First run after start (spawn, clone, load, read, plan): ${formatMs(m.startupMs)}. Peak RSS = VmHWM of the daemon after all runs.`,
    });
    if (n === 10_000) {
      sink.target({
        target: 'daemon no-op reconcile at 10k ≤ 0.25 s',
        n,
        ms,
        measured: formatMs(ms),
        met: ms <= 250,
        notes: `Git daemon; phases: ${phaseMedians(m.phases)}. ${cpuPerRun(m.cpu)}.`,
      });
      const change = await measureOneChange(cli, { repo, state, dir, runs: o.runs });
      sink.add({ n, ...change.row, runs: o.runs });
      sink.target({ n, ...change.target });
    }
  }
  if (n === 10_000 && rows.rss) {
    const memory = await measureDaemonMemory(cli, { repo, state, dir, runs: o.daemonRuns });
    sink.add({ n, ...memory.row, runs: o.daemonRuns });
    sink.target({ n, ...memory.target });
  }
  if (rows.daemon) await watchDaemonRow(ctx);
}

/** The daemon watching the folder (reloaded every run; unchanged files reused from memory). */
async function watchDaemonRow(ctx: SizeContext): Promise<void> {
  const { n, o } = ctx;
  const m = await measureDaemon(ctx.cli, {
    repo: ctx.repo,
    watch: true,
    controlPlane: `file:${ctx.noopState}`,
    stateDir: join(ctx.dir, 'daemon-watch-state'),
    runs: o.runs,
  });
  const ms = median(m.runs);
  ctx.sink.add({
    n,
    name: 'daemon `--watch` reconcile, nothing to do',
    ms,
    runs: o.runs,
    peakRss: m.peakRss,
    target: '',
    met: null,
    notes: `POST /reconcile?wait=1 with \`--watch DIR\`: the folder is read again each run and every unchanged file's analysis is reused from memory; read live, plan (result \`${m.result}\`). First run after start: ${formatMs(m.startupMs)}.`,
  });
  if (n === 10_000) {
    ctx.sink.target({
      target: 'daemon no-op reconcile at 10k ≤ 0.25 s with `--watch`',
      n,
      ms,
      measured: formatMs(ms),
      met: ms <= 250,
      notes: `Daemon-reported duration; phases: ${phaseMedians(m.phases)}. ${cpuPerRun(m.cpu)}.`,
    });
  }
}
