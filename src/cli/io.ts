/**
 * A command's streams, environment and signals (`Io`), so it runs in a test's process as in the
 * CLI's. `--log-format json` (jsonStderr): each stderr line one JSON record in the daemon's
 * shape (pino's levels), so log collectors parse both alike; stdout stays as it is. The
 * daemon's stderr before its logger exists (a configuration error) goes through here too.
 */
import { once, type EventEmitter } from 'node:events';
import { ControlPlaneError } from '../controlplane/errors.js';
import { batches } from '../util/batched-lines.js';
import { processRedactor } from '../util/redact.js';
import { escapeTerminal } from '../util/terminal-text.js';
import { UserError } from '../util/user-error.js';

/** process.stdout is one; a write that returns false is waited on with 'drain' (writeParts). */
export interface Output {
  write(text: string): boolean;
  /** A terminal: colour, and each progress line as it happens. */
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Io {
  stdout: Output;
  stderr: Output;
  stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** SIGINT and SIGTERM, until the returned function is called. */
  onSignal(listener: (signal: NodeJS.Signals) => void): () => void;
}

/** `held`: the signals main.ts kept while the command loaded; the first one is the first listener's. */
export function processIo(held?: { first: NodeJS.Signals | null; release(): void }): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    onSignal(listener) {
      process.on('SIGINT', listener).on('SIGTERM', listener);
      const early = held?.first;
      held?.release();
      held = undefined;
      if (early) setImmediate(() => listener(early));
      return () => process.off('SIGINT', listener).off('SIGTERM', listener);
    },
  };
}

const UNCHANGED = Symbol('the stream rewriting() wraps');

/** OUT with every write through `change`; the rest (isTTY, 'drain', readline's needs) its own. */
export function rewriting<T extends Output>(out: T, change: (text: string) => string): T {
  const write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean =>
    (out.write as (...a: unknown[]) => boolean)(
      change(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')),
      ...rest,
    );
  return new Proxy(out, {
    get(target, key) {
      if (key === 'write') return write;
      if (key === UNCHANGED) return target;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

/**
 * The terminal itself under `out`'s rewritings, for a prompt's line editing: readline echoes
 * what is typed with cursor moves (`\u001b[18G`) and a carriage return, which the escaping of
 * every command's output (run.ts) would print as text. Only constant text goes to it.
 */
export function terminalOf(out: Output): Output {
  let inner = out;
  for (let next; (next = (inner as { [UNCHANGED]?: Output })[UNCHANGED]);) inner = next;
  return inner;
}

export function nextSignal(io: Io): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const stopListening = io.onSignal((signal) => {
      stopListening();
      done(signal);
    });
  });
}

export function reportError(err: unknown, io: Pick<Io, 'stderr' | 'env'>): number {
  // Scrubbed here too: the daemon's start-up errors do not pass main's scrubbing.
  const scrub = (text: string): string => processRedactor(io.env).scrub(text);
  if (err instanceof UserError) {
    // Multi-line messages (yargs usage) keep their lines; each line is escaped.
    const lines = scrub(err.message).split('\n').map(escapeTerminal);
    io.stderr.write(`Error: ${lines.join('\n')}\n`);
    return err.exitCode;
  }
  if (err instanceof ControlPlaneError) {
    io.stderr.write(`Error: control plane: ${err.code}: ${escapeTerminal(scrub(err.message))}\n`);
    return 1;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr.write(`Internal error (please report it): ${scrub(message)}\n`);
  return 1;
}

/** Batched, waiting for 'drain': 100,000 changes go out without their whole text in memory. */
export async function writeParts(out: Output, parts: Iterable<string>): Promise<void> {
  for (const batch of batches(parts)) {
    if (out.write(batch)) continue;
    // A reader that went away (EPIPE, main.ts) ends the output, not the command.
    const drained = await once(out as unknown as EventEmitter, 'drain').then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') return false;
        throw err;
      },
    );
    if (!drained) return;
  }
}

/**
 * The log format asked for, read from argv before yargs parses it (so that a parse error is a
 * JSON record too): --log-format's last value, else POOLSYNC_LOG_FORMAT's (`fromEnv`).
 */
export function askedLogFormat(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { value: string | undefined; fromEnv: boolean } {
  let value: string | undefined = env.POOLSYNC_LOG_FORMAT;
  let fromEnv = true;
  argv.forEach((a, i) => {
    if (a === '--log-format') value = argv[i + 1];
    else if (a.startsWith('--log-format=')) value = a.slice('--log-format='.length);
    else return;
    fromEnv = false;
  });
  return { value, fromEnv };
}

const LEVELS = { error: 50, warn: 40, info: 30 } as const;

/** Errors: `Error: …`, `file:line:col: CODE …`, `… invalid …`; warnings: `Warning: …`. */
function levelOf(line: string): number {
  if (/^(Error|Internal error)\b/.test(line) || /^\S+:\d+:\d+: /.test(line)) return LEVELS.error;
  if (/\b(invalid|failed|refused|errors?)\b/i.test(line)) return LEVELS.error;
  if (/^Warning\b/i.test(line)) return LEVELS.warn;
  return LEVELS.info;
}

/** STDERR with each line one JSON record; `end` writes an unfinished last line. */
export function jsonStderr(
  stderr: Output,
  command: string | null,
): { stderr: Output; end(): void } {
  let partial = '';
  const record = (line: string, level: number): string => {
    const msg = line.replace(/^(Error|Warning): /, '');
    // The daemon's record shape and time format (pino's isoTime), whichever process wrote it.
    const time = new Date().toISOString();
    const name = command === 'daemon' ? 'poolsync-daemon' : 'poolsync';
    return `${JSON.stringify({ level, time, name, command, msg })}\n`;
  };
  const json = rewriting(stderr, (text) => {
    partial += text;
    // In one write no line is below an earlier one's level (an error's `--help` hint stays one).
    let records = '';
    let level: number | null = null;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line.trim() === '') continue;
      level = Math.max(level ?? 0, levelOf(line));
      records += record(line, level);
    }
    return records;
  });
  const end = (): void => {
    if (partial.trim() !== '') stderr.write(record(partial, levelOf(partial)));
    partial = '';
  };
  return { stderr: json, end };
}
