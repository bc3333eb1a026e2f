/**
 * Manual steps run by `apply --flyte-cli PATH` (docs/apply.md): the step's command, its first
 * word (`flyte`) replaced by PATH, as a child process with an argv (never a shell); its `--file`
 * written to a private temporary folder first. A non-zero exit is a failed step.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Step } from '../model/plan.js';
import type { Env } from '../util/env.js';

export class ManualCommandError extends Error {
  override readonly name = 'ManualCommandError';
}

/**
 * Splits a command quoted for a POSIX shell into words: single quotes, double quotes (with
 * `\"`, `\\`, `\$` and `` \` `` escapes) and backslash escapes. Anything a shell would
 * expand ($VAR, globs, pipes) is refused: a manual command is one program and its arguments.
 */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end === -1) throw new ManualCommandError(`unterminated ' in ${command}`);
      word += command.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      for (i++; ; i++) {
        if (i >= command.length) throw new ManualCommandError(`unterminated " in ${command}`);
        const d = command[i]!;
        if (d === '"') break;
        if (d === '\\' && '"\\$`'.includes(command[i + 1] ?? '')) word += command[++i];
        else if (d === '$' || d === '`')
          throw new ManualCommandError(`${command}: shell expansion is not supported`);
        else word += d;
      }
    } else if (c === '\\') {
      if (i + 1 >= command.length) throw new ManualCommandError(`trailing \\ in ${command}`);
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if ('|&;<>()$`*?[]{}~'.includes(c)) {
      throw new ManualCommandError(
        `${command}: "${c}" would need a shell; a manual command must be one program and its arguments`,
      );
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

export const CLI_NAME = 'flyte';

/** A `flyte …` command, not e.g. `# … in the Union console` (an action only a person can take). */
export function isCliCommand(step: Step): boolean {
  const command = step.manual?.command;
  if (!command) return false;
  try {
    return shellWords(command)[0] === CLI_NAME;
  } catch {
    return false;
  }
}

export function manualArgv(step: Step, cliPath: string, filePath: string | null): string[] {
  const manual = step.manual;
  if (!manual) throw new ManualCommandError(`step ${step.id} has no manual command`);
  const [program, ...args] = shellWords(manual.command);
  if (program !== CLI_NAME)
    throw new ManualCommandError(
      `step ${step.id}: "${manual.command}" is not a ${CLI_NAME} command; do it by hand`,
    );
  const file = manual.file;
  return [cliPath, ...args.map((a) => (file && filePath && a === file.name ? filePath : a))];
}

/** A `runManual`; `env`: the CLI's, which the command inherits (its KUBECONFIG, config file). */
export function flyteCliRunner(cliPath: string, env: Env) {
  // A command that runs longer is killed.
  const timeoutMs = 10 * 60 * 1000;
  return async (
    step: Step,
    onOutput: (stream: 'stdout' | 'stderr', line: string) => void,
  ): Promise<{ note: string | null }> => {
    const file = step.manual?.file;
    const dir = file ? await mkdtemp(join(tmpdir(), 'poolsync-manual-')) : null;
    try {
      let filePath: string | null = null;
      if (file && dir) {
        filePath = join(dir, file.name.replace(/[/\\]/g, '_'));
        await writeFile(filePath, file.content, { mode: 0o600 });
      }
      const [bin, ...args] = manualArgv(step, cliPath, filePath);
      await runChild(bin!, args, timeoutMs, onOutput, env);
      return { note: `ran ${[cliPath, ...shellWords(step.manual!.command).slice(1)].join(' ')}` };
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  };
}

function runChild(
  bin: string,
  args: string[],
  timeoutMs: number,
  onOutput: (stream: 'stdout' | 'stderr', line: string) => void,
  env: Env,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // No terminal (stdin closed): a command that would prompt fails instead of hanging.
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      env,
    });
    const tail: string[] = [];
    const lines = (stream: 'stdout' | 'stderr') => {
      let rest = '';
      return (chunk: Buffer) => {
        rest += chunk.toString('utf8');
        const parts = rest.split(/\r?\n/);
        rest = parts.pop()!;
        for (const line of parts) emit(stream, line);
      };
    };
    const emit = (stream: 'stdout' | 'stderr', line: string) => {
      tail.push(line);
      if (tail.length > 5) tail.shift();
      onOutput(stream, line);
    };
    child.stdout.on('data', lines('stdout'));
    child.stderr.on('data', lines('stderr'));
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        new ManualCommandError(
          err.code === 'ENOENT'
            ? `--flyte-cli ${bin}: no such program; install the flyte CLI or give its path`
            : `cannot run ${bin}: ${err.message}`,
        ),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const last = tail.length > 0 ? `; last output: ${tail.join(' | ')}` : '';
      reject(new ManualCommandError(`${bin} ${how}${last}`));
    });
  });
}
