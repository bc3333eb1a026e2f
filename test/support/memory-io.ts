/** An Io (src/cli/io.ts) whose streams are kept in memory, for commands run in a test's process. */
import { Readable } from 'node:stream';
import { reportError, type Io } from '../../src/cli/io.js';

export interface MemoryIo extends Io {
  out(): string;
  err(): string;
}

/** `env` is the whole environment the command sees; stdin is empty (no terminal). */
export function memoryIo(env: NodeJS.ProcessEnv = {}): MemoryIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t: string) => ((out += t), true) },
    stderr: { write: (t: string) => ((err += t), true) },
    stdin: Readable.from([]),
    env,
    onSignal: () => () => {},
    out: () => out,
    err: () => err,
  };
}

/** A command's exit code, its error reported on `io` as the CLI reports it (src/cli/run.ts). */
export function exitOf(io: Io, run: Promise<number>): Promise<number> {
  return run.catch((err: unknown) => reportError(err, io));
}

/** What a command line wrote and its exit code, as a child process's would be read. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let running: {
  env: NodeJS.ProcessEnv;
  cwd: string;
  count: number;
  saved: { env: NodeJS.ProcessEnv; cwd: string };
} | null = null;

/**
 * `poolsync ARGS` run in this process (src/cli/run.ts's main on a memoryIo): `env` is the whole
 * environment, given to the command as its Io's and, while it runs, as process.env (the layers
 * under the CLI read their credentials and folders there); `cwd` its working folder while it
 * runs. Runs at once share one environment and one folder.
 */
export async function runInProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): Promise<CliResult> {
  const { main } = await import('../../src/cli/run.js');
  if (running && (running.cwd !== cwd || (running.env !== env && !sameEnv(running.env, env))))
    throw new Error('poolsync runs in this process at once need one environment and folder');
  if (running) running.count++;
  else {
    running = { env, cwd, count: 1, saved: { env: { ...process.env }, cwd: process.cwd() } };
    replaceEnv(env);
    process.chdir(cwd);
  }
  const io = memoryIo(env);
  try {
    return { code: await main(args, io), stdout: io.out(), stderr: io.err() };
  } finally {
    if (--running.count === 0) {
      replaceEnv(running.saved.env);
      process.chdir(running.saved.cwd);
      running = null;
    }
  }
}

function sameEnv(a: NodeJS.ProcessEnv, b: NodeJS.ProcessEnv): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

function replaceEnv(env: NodeJS.ProcessEnv): void {
  for (const k of Object.keys(process.env)) if (env[k] === undefined) delete process.env[k];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) process.env[k] = v;
}
