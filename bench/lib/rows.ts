/**
 * What the benchmark rows share: the options of `npm run bench`, the rows and targets of the
 * table, and the table itself (bench/README.md explains them).
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import type { Cli } from './cli.js';
import { formatBytes, formatMs, median, type ProcessRun } from './measure.js';

export interface Options {
  sizes: number[];
  runs: number;
  /** Runs of the slow rows (apply, Terraform) at N >= 10,000. */
  slowRuns: number;
  latencyMs: number;
  parallelism: number[];
  terraform: boolean;
  /** Largest N for which `terraform apply` runs (it is quadratic: 10,000 takes many minutes). */
  terraformApplyMax: number;
  terraformTimeoutMs: number;
  tsx: boolean;
  keep: boolean;
  out: string | null;
  only: Set<string> | null;
  /** No-op reconciles of the daemon memory row. */
  daemonRuns: number;
}

export interface Row {
  n: number;
  name: string;
  /** Median, ms; null when not measured. */
  ms: number | null;
  /** Median user + system CPU time, ms, when known. */
  cpuMs?: number | null;
  runs: number;
  peakRss: number | null;
  target: string;
  /** true met, false missed, null no target. */
  met: boolean | null;
  notes: string;
}

/** One target of quality.md (issue 25), judged on numbers measured in this run. */
export interface TargetRow {
  target: string;
  n: number;
  measured: string;
  floor: string;
  ratio: string;
  met: boolean | null;
  notes: string;
}

/** Where the rows of one size go (run.ts's Bench). */
export interface Sink {
  add(row: Row): void;
  /**
   * A target, judged on `ms` against the parse floor of its N, or against `reference` (ms)
   * when the target names another (the bare apply of the same writes, say).
   */
  target(t: Omit<TargetRow, 'floor' | 'ratio'> & { ms?: number; reference?: number }): void;
}

export const MB = 1024 * 1024;

/** A poolsync whole process of a row: cold (analysis cache off) unless `env` says otherwise. */
export type RunPoolsync = (
  args: string[],
  options?: { okExitCodes?: number[]; env?: NodeJS.ProcessEnv; captureStdout?: boolean },
) => Promise<ProcessRun>;

/** What the rows of one size N share (run.ts makes one per N). */
export interface SizeContext {
  o: Options;
  cli: Cli;
  sink: Sink;
  /** The benchmark's working folder, and this size's folder in it. */
  work: string;
  dir: string;
  n: number;
  /** The generated repository (a Git repository), and a `file:` state it is applied to. */
  repo: string;
  noopState: string;
  poolsync: RunPoolsync;
  /**
   * Medians of this run that later rows compare with, by `row/N` (`plan/10000`,
   * `apply-file/10000`, `http-apply/10000/16`).
   */
  medians: Map<string, number>;
  /** The parse floor at this N, wall and CPU time (ms), when the floor row ran. */
  floorMs: number | undefined;
  floorCpuMs: number | undefined;
}

/** `1.02 s, 3.1× the floor's 330 ms`: CPU time next to the floor's, for a busy machine. */
export function cpuRatio(cpuMs: number | null, floorCpuMs: number | undefined): string {
  if (cpuMs === null) return 'n/a';
  if (floorCpuMs === undefined) return formatMs(cpuMs);
  return `${formatMs(cpuMs)}, ${(cpuMs / floorCpuMs).toFixed(2)}× the floor's ${formatMs(floorCpuMs)}`;
}

/** quality.md's older target: every poolsync row at 10,000 under 300 MB. */
export function rssTarget(
  n: number,
  peakRss: number | null,
): { target: string; met: boolean | null } {
  if (n < 10_000 || peakRss === null) return { target: '', met: null };
  return { target: 'RSS < 300 MB', met: peakRss < 300 * MB };
}

/** The 1-minute load average now, for the notes: "load 7.2". */
export function loadNow(): string {
  return `load ${loadavg()[0]!.toFixed(1)}`;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      runs: { type: 'string' },
      'slow-runs': { type: 'string', default: '1' },
      'daemon-runs': { type: 'string' },
      latency: { type: 'string', default: '20' },
      parallelism: { type: 'string', default: '8,16,32,128' },
      'no-terraform': { type: 'boolean', default: false },
      'terraform-apply-max': { type: 'string', default: '1000' },
      'terraform-timeout': { type: 'string', default: '300' },
      tsx: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      out: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: npm run bench -- [options]

  --quick                    N = 1,000 and 1 run per row (smoke test, ~1 min)
  --sizes 1000,10000         object counts to measure (default 1000,10000,100000)
  --runs N                   runs per row; the table shows medians (default 5, --quick 1)
  --slow-runs N              runs of apply and Terraform rows at N >= 10,000 (default 1)
  --daemon-runs N            no-op reconciles of the daemon memory row at 10,000 (default 1000, --quick 20)
  --latency MS               latency injected into the HTTP control plane (default 20)
  --parallelism 8,32,128     HTTP apply parallelism levels (default 8,16,32,128)
  --no-terraform             skip the Terraform rows
  --terraform-apply-max N    largest N for \`terraform apply\` (default 1000; it is quadratic)
  --terraform-timeout S      a Terraform run longer than this is stopped and reported (default 300)
  --only validate,plan,...   rows to run: floor, startup, validate, mapping, environments, plan, plan-creates, policies, drift,
                             http, apply-file, apply-delete, plan-file, apply, executor, daemon (all daemon rows), daemon-rss (only the resident
                             set over --daemon-runs no-op reconciles, at 10,000), terraform
  --tsx                      measure \`node --import tsx src/cli/main.ts\` instead of dist/
  --keep                     keep the temporary folders (printed at the end)
  --out FILE                 also write the table to FILE
`);
    process.exit(0);
  }
  const ints = (text: string, flag: string) =>
    text.split(',').map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n <= 0)
        throw new Error(`${flag}: "${s}" is not a positive integer`);
      return n;
    });
  const one = (text: string, flag: string) => ints(text, flag)[0]!;
  const quick = values.quick;
  return {
    sizes: ints(values.sizes ?? (quick ? '1000' : '1000,10000,100000'), '--sizes'),
    runs: one(values.runs ?? (quick ? '1' : '5'), '--runs'),
    slowRuns: one(values['slow-runs'], '--slow-runs'),
    daemonRuns: one(values['daemon-runs'] ?? (quick ? '20' : '1000'), '--daemon-runs'),
    latencyMs: one(values.latency, '--latency'),
    parallelism: ints(values.parallelism, '--parallelism'),
    terraform: !values['no-terraform'],
    terraformApplyMax: one(values['terraform-apply-max'], '--terraform-apply-max'),
    terraformTimeoutMs: one(values['terraform-timeout'], '--terraform-timeout') * 1000,
    tsx: values.tsx,
    keep: values.keep,
    out: values.out ?? null,
    only: values.only ? new Set(values.only.split(',').map((s) => s.trim())) : null,
  };
}

/** Repeats a process `runs` times: median time, highest peak RSS. */
export async function repeat(
  runs: number,
  once: (i: number) => Promise<ProcessRun>,
): Promise<{ ms: number; cpuMs: number | null; peakRss: number | null; all: ProcessRun[] }> {
  const all: ProcessRun[] = [];
  for (let i = 0; i < runs; i++) all.push(await once(i));
  const rss = all.map((r) => r.peakRss).filter((r): r is number => r !== null);
  const cpu = all.map((r) => r.cpuMs).filter((r): r is number => r !== null);
  return {
    ms: median(all.map((r) => r.ms)),
    cpuMs: cpu.length === all.length ? median(cpu) : null,
    peakRss: rss.length ? Math.max(...rss) : null,
    all,
  };
}

export function renderTable(rows: Row[], targets: TargetRow[], header: string[]): string {
  const lines = [
    ...header,
    '',
    "**Targets** (quality.md, issue 25; floor = a whole process reading the same files and parsing them with js-yaml's CommonJS build, `bench/floor-parse.mjs`, measured in this run, or the reference a target names, also measured in this run; each note gives the 1-minute load average when the target was measured):",
    '',
    '| target | N | median | floor / reference | ratio | verdict | notes |',
    '| --- | ---: | ---: | ---: | ---: | :---: | --- |',
  ];
  for (const t of targets) {
    const verdict = t.met === null ? 'n/a' : t.met ? 'met' : '**missed**';
    lines.push(
      `| ${t.target} | ${t.n.toLocaleString('en-US')} | ${t.measured} | ${t.floor} | ${t.ratio} | ${verdict} | ${t.notes} |`,
    );
  }
  lines.push(
    '',
    '**Every row:**',
    '',
    '| N | benchmark | median | CPU | runs | peak RSS | notes |',
    '| ---: | --- | ---: | ---: | ---: | ---: | --- |',
  );
  for (const r of rows) {
    lines.push(
      `| ${r.n.toLocaleString('en-US')} | ${r.name} | ${r.ms === null ? '—' : formatMs(r.ms)} | ${r.cpuMs == null ? '—' : formatMs(r.cpuMs)} | ${r.runs || '—'} | ${formatBytes(r.peakRss)} | ${r.notes} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
