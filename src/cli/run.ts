/**
 * The CLI: yargs over the command definitions of ./define/, errors reported once, output
 * scrubbed of secrets. `main(argv, io)` runs one command line with the streams, environment
 * and signals of `io` (main.ts: the process's; a test: its own) and returns its exit code.
 */
import type { Argv, CommandModule } from 'yargs';
import type { Command } from './define/command.js';
import { COMMANDS } from './define/index.js';
import { completesPath, yargsUnder } from './define/completion.js';
import { jsonStderr, logFormatOption, wantsJsonLogs } from './log-format.js';
import { reportError, rewriting, type Io } from './io.js';
import { singleDashError, usageError } from './usage-error.js';
import { packageVersion } from './version.js';
import { processRedactor } from '../util/redact.js';

/** Runs one command line on `given`'s streams, environment and signals; its exit code. */
export async function main(given: string[], processIo: Io): Promise<number> {
  // Bare `poolsync` is a newcomer asking what there is: the help, exit 0.
  const argv = given.length === 0 ? ['--help'] : dashValues(given);
  const command = argv.find((a) => !a.startsWith('-')) ?? null;
  let io = processIo;
  // The daemon logs through pino (stdout), scrubbed by its own redactor; every other
  // command's output is scrubbed here. The daemon's stderr (configuration errors, before the
  // logger exists) is JSON here like every command's.
  if (command !== 'daemon') {
    const scrub = (text: string): string => processRedactor(io.env).scrubSecrets(text);
    io = { ...io, stdout: rewriting(io.stdout, scrub), stderr: rewriting(io.stderr, scrub) };
  }
  const json = wantsJsonLogs(argv, io.env) ? jsonStderr(io.stderr, command) : null;
  if (json) io = { ...io, stderr: json.stderr };
  let exitCode = 0;
  try {
    const singleDash = argv.includes('--get-yargs-completions') ? null : singleDashError(argv);
    if (singleDash) throw singleDash;
    const cli = yargsUnder(io.env, argv);
    skipHelpPrerender(cli);
    let output = '';
    await cli
      .scriptName('poolsync')
      .usage('$0 <command> [options]\n\nGitOps reconciler for cluster pools, clusters and queues.')
      .command(Object.values(COMMANDS).map((c) => yargsCommand(c, io, (code) => (exitCode = code))))
      .options(command === 'daemon' ? {} : { 'log-format': logFormatOption })
      // Answers `--get-yargs-completions` for the scripts of `poolsync completion SHELL`; the
      // command yargs would add for it is hidden: `completion` (define/completion.ts) prints them.
      .completion(
        '__completion',
        false,
        (
          _current: string,
          _argv: unknown,
          defaults: (done?: (err: Error | null, list?: string[]) => void) => void,
          done: (list: string[]) => void,
        ) => {
          const words = argv.slice(argv.indexOf('--get-yargs-completions') + 2);
          if (completesPath(words)) done([]);
          else defaults();
        },
      )
      .demandCommand(1, 'Name a command: see `poolsync --help`.')
      .strict()
      .recommendCommands()
      .help()
      .alias('h', 'help')
      .version(packageVersion())
      .wrap(Math.min(110, io.stdout.columns || 100))
      .fail((msg, err) => {
        // A coerce that refuses a value (options.ts wholeNumber) comes wrapped in yargs's YError.
        if (err && err.name !== 'YError') throw err;
        throw usageError(msg ?? err?.message ?? 'cannot read the command line', argv, io.env);
      })
      // What yargs prints itself (help, version, completions) comes back here, as written.
      .parseAsync(argv, {}, (_err, _parsed, text) => {
        output = text;
      });
    if (output !== '') io.stdout.write(`${output}\n`);
  } catch (err) {
    exitCode = reportError(err, io);
  } finally {
    json?.end();
  }
  return exitCode;
}

/** A command as yargs takes it: its options from `io`'s environment, its work run on `io`. */
function yargsCommand(c: Command, io: Io, exit: (code: number) => void): CommandModule {
  return {
    command: c.command,
    describe: c.describe,
    builder: (y: Argv) => {
      const out = c.builder?.(y, io.env) ?? y;
      for (const sub of c.subcommands ?? []) out.command(yargsCommand(sub, io, exit));
      return out;
    },
    handler: async (args) => {
      if (c.run) exit(await c.run(args as never, io));
    },
  };
}

/**
 * yargs renders the whole help text of a command as soon as its handler starts, in case the
 * handler shows it later; ours never do (failures go through `.fail`), and for `plan` the
 * rendering cost 50 ms of start-up. `--help` still renders it when asked.
 */
function skipHelpPrerender(cli: object): void {
  const internals = (cli as { getInternalMethods?: () => { getUsageInstance?: () => unknown } })
    .getInternalMethods?.()
    .getUsageInstance?.() as { cacheHelpMessage?: () => void } | undefined;
  if (internals && typeof internals.cacheHelpMessage === 'function')
    internals.cacheHelpMessage = () => {};
}

/**
 * `--out -` means stdout; yargs would read the lone `-` as an argument of its own ("Unknown
 * argument: -"), so an option followed by `-` is passed as `--out=-`.
 */
function dashValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return [...out, ...argv.slice(i)];
    if (/^--[a-z][a-z-]*$/.test(arg) && argv[i + 1] === '-') {
      out.push(`${arg}=-`);
      i++;
    } else out.push(arg);
  }
  return out;
}
