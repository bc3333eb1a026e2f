/**
 * The daemon rows of issue 25 at 10,000 objects: a reconcile of a one-line commit (applied),
 * and the resident set over many no-op reconciles (issue 23, item 11). Both run the real
 * daemon process against a Git repository and an embedded control plane (bench/lib/daemon.ts).
 */
import { execFile } from 'node:child_process';
import { copyFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cli } from './cli.js';
import { cpuPerRun, measureDaemon } from './daemon.js';
import { formatBytes, formatMs, median } from './measure.js';

const run = promisify(execFile);
const MB = 1024 * 1024;

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
  await copyFile(o.state, state);
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
    await rm(state, { force: true });
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
      notes: `A commit changing one queue, then POST /reconcile?wait=1: fetch, load (the changed file parsed again, the others' analyses from memory), read live, plan (the changed file's queues planned again, queue-memo.ts), apply 1 update (result \`${m.result}\`). Daemon-reported duration, every millisecond in a named phase; medians: ${phases}. ${cpuPerRun(m.cpu)}.`,
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
