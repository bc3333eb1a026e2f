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
