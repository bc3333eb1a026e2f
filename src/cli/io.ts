/**
 * What a command reads and writes besides its arguments: its streams and its environment. A
 * command that takes an `Io` and returns its exit code runs in a test's process as it runs in
 * the CLI's (`runCommand` reports its errors on the Io's stderr as the CLI does).
 */
import { ControlPlaneError } from '../controlplane/errors.js';
import { processRedactor } from '../util/secrets.js';
import { escapeTerminal } from '../util/terminal-text.js';
import { UserError } from '../util/user-error.js';

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** The command's exit code, its errors reported on `io.stderr` (one line; a stack only for a bug). */
export async function runCommand(io: Io, command: () => Promise<number>): Promise<number> {
  try {
    return await command();
  } catch (err) {
    return reportError(err, io.stderr);
  }
}

/** An error as the CLI reports it, scrubbed of secrets; its exit code. */
export function reportError(err: unknown, stderr: Io['stderr'] = process.stderr): number {
  // Scrubbed here too: the daemon's start-up errors do not pass redactOutput.
  const scrub = (text: string): string => processRedactor().scrub(text);
  if (err instanceof UserError) {
    // Multi-line messages (yargs usage) keep their lines; each line is escaped.
    const lines = scrub(err.message).split('\n').map(escapeTerminal);
    stderr.write(`Error: ${lines.join('\n')}\n`);
    return err.exitCode;
  }
  if (err instanceof ControlPlaneError) {
    stderr.write(`Error: control plane: ${err.code}: ${escapeTerminal(scrub(err.message))}\n`);
    return 1;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  stderr.write(`Internal error (please report it): ${scrub(message)}\n`);
  return 1;
}
