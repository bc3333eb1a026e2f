/**
 * The CLI as tests run it: startCli as a child process (`node --import tsx src/cli/main.ts …`),
 * for what needs a process (signals, locks held by another process, output while it runs);
 * runCli in this process. Both run in the repo root unless given a working folder: a test whose
 * commands keep state (apply's records, an inventory) gives its temp folder, or `--state-dir`,
 * so nothing lands in the checkout's .poolsync/ (test/setup/checkout-state-untouched.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { cliFromSource } from './cli-from-source.js';
import { runInProcess } from './memory-io.js';
import { cleanup } from './cleanup.js';
import { stopsWithThisProcess } from './stops-with-this-process.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  done: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>;
  /** Resolves once stdout satisfies `predicate` (rejects if the process ends first). */
  waitForOutput(predicate: (stdout: string) => boolean): Promise<void>;
}

export function startCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd = REPO_ROOT,
): CliRun {
  const child = spawn(process.execPath, cliFromSource(...args), {
    cwd,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const watchers: {
    predicate: (s: string) => boolean;
    resolve: () => void;
    reject: (e: Error) => void;
  }[] = [];
  const check = () => {
    for (const w of [...watchers]) {
      if (w.predicate(out)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    check();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of watchers.splice(0)) {
        w.reject(
          new Error(
            `process ended (code ${code}, signal ${signal}) before the expected output:\n${out}\n${err}`,
          ),
        );
      }
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    waitForOutput(predicate) {
      if (predicate(out)) return Promise.resolve();
      return new Promise((resolve, reject) => watchers.push({ predicate, resolve, reject }));
    },
  };
}

/** The CLI's environment: this process's, without credentials or a default control plane. */
function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    POOLSYNC_TOKEN: undefined,
    POOLSYNC_CONTROL_PLANE: undefined,
    NO_COLOR: '1',
    ...env,
  };
}

/** A command line run in this process (test/support/memory-io.ts), as startCli would run it. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd?: string) {
  return runInProcess(args, cliEnv(env), cwd);
}

/**
 * `poolsync control-plane serve` as a child process on a free port, with `args` (`--state`,
 * `--token-file`, …): its URL once it listens. Stopped when the test ends (cleanup) or, killed,
 * when this process does.
 */
export async function servedByCli(args: string[]): Promise<{ url: string; serve: CliRun }> {
  const serve = startCli(['control-plane', 'serve', '--listen', '127.0.0.1:0', ...args]);
  stopsWithThisProcess(serve.child, 'SIGKILL');
  cleanup.add(async () => {
    serve.child.kill('SIGTERM');
    await serve.done;
  });
  await serve.waitForOutput((out) => out.includes('control plane listening on '));
  return { url: /listening on (http:\/\/\S+)/.exec(serve.stdout())![1]!, serve };
}
