/**
 * The HA end-to-end tests' daemon replicas (ha.e2e.test.ts, environments-ha.e2e.test.ts):
 * `poolsync daemon --leader-elect` from source in a child process on a Kubernetes API server,
 * its output kept, killed after the test (test/support/cleanup.ts) if still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { cleanup } from '../support/cleanup.js';
import { cliFromSource } from '../support/cli-from-source.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';

const ROOT = resolve(__dirname, '../..');

export interface Replica {
  id: string;
  child: ChildProcess;
  out: () => string;
  url: () => string | null;
  lines: () => Record<string, unknown>[];
}

/** Lease timings (short, for tests), and the Lease (default `poolsync-leader`). */
export interface LeaseTimings {
  leaseMs: number;
  renewDeadlineMs: number;
  /** Default 200 ms. */
  retryPeriodMs?: number;
  lease?: string;
}

export function startReplica(
  id: string,
  args: string[],
  env: Record<string, string>,
  timings: LeaseTimings,
): Replica {
  const child = spawn(
    process.execPath,
    cliFromSource(
      'daemon',
      ...args,
      '--leader-elect',
      '--leader-election-id',
      id,
      '--leader-election-lease',
      `k8s:poolsync/${timings.lease ?? 'poolsync-leader'}`,
      '--leader-election-lease-duration',
      `${timings.leaseMs}ms`,
      '--leader-election-renew-deadline',
      `${timings.renewDeadlineMs}ms`,
      '--leader-election-retry-period',
      `${timings.retryPeriodMs ?? 200}ms`,
    ),
    {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', POOLSYNC_REPO: '', POOLSYNC_WATCH: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  stopsWithThisProcess(child, 'SIGKILL');
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  cleanup.add(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    id,
    child,
    out: () => out,
    url: () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? null,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
