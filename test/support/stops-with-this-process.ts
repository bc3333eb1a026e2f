/**
 * What a test run starts or makes that must not outlive it, however it ends: a test's own stop,
 * a crash, or a SIGKILL from outside, where no exit handler runs. A watcher shell waits on a
 * pipe only this process holds open (libuv opens it close-on-exec, so no other child inherits
 * it); the kernel closes it when this process is gone, and the watcher then does its one job.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Runs the shell `script` (with `args` as $0, $1, …) once this process is gone. */
export function whenThisProcessEnds(script: string, ...args: string[]): ChildProcess {
  const watcher = spawn('sh', ['-c', `read -r _; ${script}`, ...args], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // Neither the watcher nor its pipe keeps this process alive.
  watcher.unref();
  (watcher.stdin as unknown as { unref(): void }).unref();
  watcher.stdin!.on('error', () => {}); // nothing is ever written: only its end matters
  return watcher;
}

/** The watcher ends without doing its job. */
export function cancelWatcher(watcher: ChildProcess): void {
  watcher.kill('SIGKILL');
  watcher.stdin!.destroy();
}

/**
 * A peer (etcd, kube-apiserver, flyteadmin, PostgreSQL) sent `signal` once this process is gone.
 * A peer that exits first takes its watcher with it, so the watcher never signals a pid the
 * system may since have given to another process.
 */
export function stopsWithThisProcess(
  peer: ChildProcess,
  signal: 'SIGTERM' | 'SIGINT' | 'SIGKILL' = 'SIGTERM',
): ChildProcess | null {
  if (peer.pid === undefined || peer.exitCode !== null || peer.signalCode !== null) return null;
  const watcher = whenThisProcessEnds(`kill -${signal.slice(3)} "$0"`, String(peer.pid));
  peer.once('exit', () => cancelWatcher(watcher));
  return watcher;
}
