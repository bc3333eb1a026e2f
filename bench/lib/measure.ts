/**
 * Timing and peak memory of whole processes. Wall time is measured here, around the spawn;
 * peak RSS comes from GNU time (`/usr/bin/time -v`, "Maximum resident set size") when it is
 * installed, else, for Node processes, from a preloaded hook that writes
 * process.resourceUsage().maxRSS at exit (bench/lib/rss-hook.mjs).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const GNU_TIME = '/usr/bin/time';
const RSS_HOOK = pathToFileURL(join(import.meta.dirname, 'rss-hook.mjs')).href;

export interface ProcessRun {
  ms: number;
  /** Peak resident set size in bytes; null when it could not be read. */
  peakRss: number | null;
  /** User + system CPU time, ms (GNU time only; null otherwise). On a busy machine it is steadier than wall time. */
  cpuMs: number | null;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Keep stdout (default: discarded, so rendering a large plan to a pipe costs what a terminal would). */
  captureStdout?: boolean;
  /** Exit codes that count as success (default [0]). */
  okExitCodes?: number[];
  /** Kill the process after this long and throw a `TimeoutError` (default: no limit). */
  timeoutMs?: number;
}

/** The process ran past RunOptions.timeoutMs and was killed. */
export class TimeoutError extends Error {}

export function rssSource(): string {
  return existsSync(GNU_TIME)
    ? '/usr/bin/time -v'
    : 'process.resourceUsage().maxRSS hook (node only)';
}

/** Runs `command args`, returns wall time and peak RSS; throws with stderr when it fails. */
export async function runProcess(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<ProcessRun> {
  const useTime = existsSync(GNU_TIME);
  const tmp = await mkdtemp(join(tmpdir(), 'poolsync-bench-rss-'));
  const rssFile = join(tmp, 'rss');
  let cmd = command;
  let argv = args;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (useTime) {
    argv = ['-v', '-o', rssFile, command, ...args];
    cmd = GNU_TIME;
  } else if (command === process.execPath) {
    argv = ['--import', RSS_HOOK, ...args];
    env.POOLSYNC_BENCH_RSS_FILE = rssFile;
  }
  let timedOut = false;
  try {
    const started = performance.now();
    const { exitCode, stdout, stderr } = await new Promise<{
      exitCode: number;
      stdout: string;
      stderr: string;
    }>((resolve, reject) => {
      const child = spawn(cmd, argv, {
        cwd: options.cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => {
        if (options.captureStdout) out.push(b);
      });
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      const timer =
        options.timeoutMs === undefined
          ? null
          : setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, options.timeoutMs);
      child.on('close', (code) => {
        if (timer) clearTimeout(timer);
        resolve({
          exitCode: code ?? 1,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
    });
    const ms = performance.now() - started;
    if (timedOut) {
      throw new TimeoutError(`\`${command}\` did not finish within ${options.timeoutMs} ms`);
    }
    const ok = options.okExitCodes ?? [0];
    if (!ok.includes(exitCode)) {
      throw new Error(
        `\`${[command, ...args].join(' ')}\` exited with ${exitCode}:\n${stderr.trim().split('\n').slice(-15).join('\n')}`,
      );
    }
    const usage = await readUsage(rssFile, useTime);
    return { ms, ...usage, exitCode, stdout, stderr };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function readUsage(
  file: string,
  gnuTime: boolean,
): Promise<{ peakRss: number | null; cpuMs: number | null }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { peakRss: null, cpuMs: null };
  }
  if (gnuTime) {
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
    const user = /User time \(seconds\): ([\d.]+)/.exec(text);
    const sys = /System time \(seconds\): ([\d.]+)/.exec(text);
    return {
      peakRss: rss ? Number(rss[1]) * 1024 : null,
      cpuMs: user && sys ? (Number(user[1]) + Number(sys[1])) * 1000 : null,
    };
  }
  const kb = Number(text.trim());
  return { peakRss: Number.isFinite(kb) ? kb * 1024 : null, cpuMs: null };
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatBytes(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${Math.round(bytes / (1024 * 1024))} MB`;
}
