/**
 * The daemon as a whole process: `poolsync daemon --repo <git repo>` against an already
 * converged control plane, then manual reconciles (POST /reconcile?wait=1), each a full run:
 * git fetch, load and validate, read live state, plan, nothing to apply. The duration is the
 * daemon's own (`lastRun.durationMs`); peak RSS is the kernel's high-water mark (VmHWM).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import type { Cli } from './cli.js';

export interface DaemonMeasurement {
  /** Daemon-reported duration of each manual run, ms. */
  runs: number[];
  /** Daemon-reported phases of each manual run (`lastRun.phasesMs`). */
  phases: Record<string, number>[];
  /**
   * CPU time of each manual run (ms): the daemon's user + system time, and that of the git
   * processes it waited for, from /proc (null where /proc is not there). On a busy machine
   * it says what a run costs where its duration says how long it waited.
   */
  cpu: Array<{ self: number; children: number } | null>;
  /** Wall time of the first (startup) run, from spawn until /status shows it. */
  startupMs: number;
  /** Daemon-reported duration of the first run (a cold load and plan). */
  firstMs: number;
  peakRss: number | null;
  /** VmRSS after the first run and then after every `rssEvery` runs (bytes). */
  rss: number[];
  result: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The daemon's flags and environment (shared by measureDaemon and startDaemon). */
export interface DaemonStart {
  repo: string;
  controlPlane: string;
  stateDir: string;
  /** Watch the folder (`--watch`: reloaded every run) instead of following the Git repo. */
  watch?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** A daemon process started and through its first run (startDaemon). */
export interface StartedDaemon {
  url: string;
  /** POST /reconcile's bearer token (random, this run only). */
  token: string;
  pid: number | undefined;
  first: { durationMs: number; result: string };
  /** Wall time from spawn until /status showed the first run. */
  startupMs: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns `poolsync daemon` (policy safe, timers at 1 h: only the bench triggers runs) and waits
 * until /status shows its first run, which must end in_sync or applied.
 */
export async function startDaemon(cli: Cli, options: DaemonStart): Promise<StartedDaemon> {
  // A fresh random token for this run only; it never leaves this process and the child's env.
  const token = randomBytes(24).toString('hex');
  const started = performance.now();
  const child = spawn(
    cli.command,
    [
      ...cli.prefix,
      'daemon',
      options.watch ? '--watch' : '--repo',
      options.repo,
      '--control-plane',
      options.controlPlane,
      '--listen',
      '127.0.0.1:0',
      '--policy',
      'safe',
      '--state-dir',
      options.stateDir,
      '--poll-interval',
      '1h',
      '--drift-interval',
      '1h',
      '--log-format',
      'json',
      '--log-level',
      'info', // the "listening on URL" line is an info line
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env, POOLSYNC_RECONCILE_TOKEN: token },
    },
  );
  let output = '';
  const collect = (b: Buffer) => {
    if (output.length < 200_000) output += b.toString('utf8');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const url = await waitFor(
      async () => /listening on (http:\/\/[^\s";]+)/.exec(output)?.[1] ?? null,
      exited,
      () => output,
    );
    const first = await waitFor(
      async () => {
        const res = await request(`${url}/status`);
        const body = (await res.body.json()) as {
          lastRun: { durationMs: number; result: string } | null;
        };
        return body.lastRun;
      },
      exited,
      () => output,
    );
    const startupMs = performance.now() - started;
    if (!['in_sync', 'applied'].includes(first.result)) {
      throw new Error(
        `the daemon's first run ended "${first.result}", not in_sync:\n${output.slice(-3000)}`,
      );
    }
    return { url, token, pid: child.pid, first, startupMs, output: () => output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function measureDaemon(
  cli: Cli,
  options: DaemonStart & {
    runs: number;
    /** Sample the daemon's VmRSS every this many runs (default: only at the end). */
    rssEvery?: number;
    /** Called before each manual run (a commit to reconcile, for the one-change row). */
    before?: (run: number) => Promise<void>;
    /** The result every manual run must end with (default: in_sync or applied). */
    expect?: readonly string[];
  },
): Promise<DaemonMeasurement> {
  const d = await startDaemon(cli, options);
  try {
    const { url, token, first } = d;
    const runs: number[] = [];
    const phases: Record<string, number>[] = [];
    const cpu: DaemonMeasurement['cpu'] = [];
    const rss: number[] = [];
    const sample = async () => {
      const now = await procStatus(d.pid, 'VmRSS');
      if (now !== null) rss.push(now);
    };
    await sample();
    let result = first.result;
    for (let i = 0; i < options.runs; i++) {
      await options.before?.(i);
      const cpuBefore = await procCpu(d.pid);
      const res = await request(`${url}/reconcile?wait=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.body.json()) as {
        lastRun?: { durationMs: number; result: string; phasesMs: Record<string, number> };
      };
      if (res.statusCode !== 200 || !body.lastRun)
        throw new Error(`POST /reconcile answered ${res.statusCode}`);
      if (options.expect && !options.expect.includes(body.lastRun.result)) {
        throw new Error(
          `run ${i + 1} ended "${body.lastRun.result}", not ${options.expect.join(' or ')}:\n${d.output().slice(-3000)}`,
        );
      }
      runs.push(body.lastRun.durationMs);
      phases.push(body.lastRun.phasesMs);
      const cpuAfter = await procCpu(d.pid);
      cpu.push(
        cpuBefore && cpuAfter
          ? {
              self: cpuAfter.self - cpuBefore.self,
              children: cpuAfter.children - cpuBefore.children,
            }
          : null,
      );
      result = body.lastRun.result;
      if (options.rssEvery && (i + 1) % options.rssEvery === 0) await sample();
    }
    if (!options.rssEvery) await sample();
    const peakRss = await procStatus(d.pid, 'VmHWM');
    const { startupMs } = d;
    return { runs, phases, cpu, startupMs, firstMs: first.durationMs, peakRss, rss, result };
  } finally {
    await d.stop();
  }
}

async function waitFor<T>(
  probe: () => Promise<T | null>,
  exited: Promise<number | null>,
  log: () => string,
): Promise<T> {
  let gone: number | null | undefined;
  void exited.then((code) => {
    gone = code;
  });
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (gone !== undefined)
      throw new Error(`the daemon exited with ${gone}:\n${log().slice(-3000)}`);
    const value = await probe().catch(() => null);
    if (value !== null && value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`the daemon did not get ready within 180 s:\n${log().slice(-3000)}`);
}

/**
 * Linux: CPU time of a process so far, ms: its own user + system time, and that of the children
 * it waited for (/proc/PID/stat fields 14-17, in clock ticks of 10 ms).
 */
export async function procCpu(
  pid: number | undefined,
): Promise<{ self: number; children: number } | null> {
  if (pid === undefined) return null;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = (i: number) => Number(f[i]) * 10;
    return { self: tick(11) + tick(12), children: tick(13) + tick(14) };
  } catch {
    return null;
  }
}

/** The median CPU of the runs: `CPU 40 ms per run (+ git 20 ms)`, or '' without /proc. */
export function cpuPerRun(cpu: DaemonMeasurement['cpu']): string {
  const known = cpu.filter((c): c is { self: number; children: number } => c !== null);
  if (known.length === 0) return '';
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  return `CPU ${med(known.map((c) => c.self))} ms per run (+ git ${med(known.map((c) => c.children))} ms)`;
}

/** Linux: a size of /proc/PID/status (VmHWM: peak resident set so far; VmRSS: now). */
async function procStatus(
  pid: number | undefined,
  field: 'VmHWM' | 'VmRSS',
): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(
      await readFile(`/proc/${pid}/status`, 'utf8'),
    );
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
