/** An Io (src/cli/io.ts) whose streams are kept in memory, for commands run in a test's process. */
import { PassThrough, Readable, Writable } from 'node:stream';
import { reportError, type Io } from '../../src/cli/io.js';

export interface MemoryIo extends Io {
  out(): string;
  err(): string;
}

/**
 * `env` is the whole environment the command sees, with the run's temporary state folder
 * (test/setup/cache-folder.ts) unless it names one: a command without HOME would keep its
 * inventories under the user's home folder. stdin is empty (no terminal).
 */
export function memoryIo(given: NodeJS.ProcessEnv = {}): MemoryIo {
  const env = { XDG_STATE_HOME: process.env.XDG_STATE_HOME, ...given };
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

/**
 * A memoryIo at a terminal, as readline sees one (raw mode: Ctrl-C is a byte): what is typed goes
 * to `stdin`; `out()` is what the terminal shows; `signal` sends a signal to the command.
 */
export function terminalIo(given: NodeJS.ProcessEnv = {}) {
  const mem = memoryIo(given);
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin });
  let out = '';
  const stdout = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out += chunk.toString('utf8');
        done();
      },
    }),
    { isTTY: true, columns: 100 },
  );
  const listeners = new Set<(signal: NodeJS.Signals) => void>();
  const io: MemoryIo = {
    ...mem,
    stdin,
    stdout,
    onSignal: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
    out: () => out,
  };
  return { io, stdin, signal: (s: NodeJS.Signals) => listeners.forEach((l) => l(s)) };
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

let running: { cwd: string; count: number; saved: string } | null = null;

/**
 * `poolsync ARGS` run in this process (src/cli/run.ts's main on a memoryIo): `env` is the whole
 * environment the command is given (its Io's; nothing below the CLI reads the process's,
 * test/layout/process-env.test.ts), `cwd` its working folder while it runs: runs at once need
 * one folder.
 */
export async function runInProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): Promise<CliResult> {
  const { main } = await import('../../src/cli/run.js');
  if (running && running.cwd !== cwd)
    throw new Error('poolsync runs in this process at once need one working folder');
  if (running) running.count++;
  else {
    running = { cwd, count: 1, saved: process.cwd() };
    process.chdir(cwd);
  }
  const io = memoryIo(env);
  try {
    return { code: await main(args, io), stdout: io.out(), stderr: io.err() };
  } finally {
    if (--running.count === 0) {
      process.chdir(running.saved);
      running = null;
    }
  }
}

/**
 * `poolsync ARGV` in process, sent SIGINT once its stdout or stderr holds `when`: a Ctrl-C given
 * from the write itself, so the command is exactly where it said it is.
 */
export async function interruptedWhen(when: string, argv: string[]) {
  const { main } = await import('../../src/cli/run.js');
  const mem = memoryIo({ NO_COLOR: '1' });
  const listeners = new Set<(signal: NodeJS.Signals) => void>();
  let sent = false;
  const watch = (write: (t: string) => boolean, text: () => string) => (t: string) => {
    const ok = write(t);
    if (!sent && text().includes(when)) {
      sent = true;
      listeners.forEach((l) => l('SIGINT'));
    }
    return ok;
  };
  const io: Io = {
    ...mem,
    stdout: { write: watch(mem.stdout.write, mem.out) },
    stderr: { write: watch(mem.stderr.write, mem.err) },
    onSignal: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
  };
  const code = await exitOf(io, main(argv, io));
  return { code, out: mem.out(), err: mem.err(), sent };
}
