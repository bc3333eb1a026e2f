/**
 * The daemon as a child process (`node --max-old-space-size=MB --import tsx src/cli/main.ts
 * daemon --repo …`), for tests that need its own heap cap: its listening URL, output and exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { until } from '../support/until.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';

const ROOT = resolve(__dirname, '../..');
export const RECONCILE_TOKEN = 'reconcile-token-0123456789';

export async function status(url: string): Promise<DaemonStatus> {
  const res = await fetch(`${url}/status`);
  expect(res.status).toBe(200);
  return (await res.json()) as DaemonStatus;
}

export interface DaemonProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output: () => string;
  /** POST /reconcile?wait=1 with the token. */
  reconcile: () => Promise<Response>;
  /** SIGKILL if still running (cleanup). */
  kill: () => void;
}

/** Starts the daemon on `bare` with policy `all` against `file:STATE/cp.json`, heap capped at `heapMb`. */
export async function startDaemonProcess(
  bare: string,
  state: string,
  heapMb: number,
): Promise<DaemonProcess> {
  const child = spawn(
    process.execPath,
    [
      `--max-old-space-size=${heapMb}`,
      '--import',
      'tsx',
      resolve(ROOT, 'src/cli/main.ts'),
      'daemon',
      '--repo',
      bare,
      '--control-plane',
      `file:${state}/cp.json`,
      '--state-dir',
      `${state}/daemon`,
      '--listen',
      '127.0.0.1:0',
      '--policy',
      'all',
      '--poll-interval',
      '1h',
      '--log-format',
      'json',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  stopsWithThisProcess(child, 'SIGKILL');
  let output = '';
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    const url = await until(
      'the daemon to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`the daemon exited:\n${output}`);
        return /(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      },
      { timeoutMs: 20_000, retryErrors: true },
    );
    const reconcile = () =>
      fetch(`${url}/reconcile?wait=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
      });
    return { child, url, exited, output: () => output, reconcile, kill };
  } catch (err) {
    kill();
    throw err;
  }
}
