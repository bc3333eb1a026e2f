/**
 * The CLI: yargs over the command definitions of ./define/, errors reported once, output
 * scrubbed of secrets. main.ts (the program) calls main() after its start-up.
 */
import yargs from 'yargs';
import { COMMANDS } from './define/index.js';
import { completesPath } from './define/completion.js';
import { singleDashError } from './single-dash.js';
import { jsonStderr, logFormatOption, wantsJsonLogs } from './log-format.js';
import { reportError } from './io.js';
import { redactOutput } from './redact-output.js';
import { usageError } from './usage-error.js';
import { packageVersion } from './version.js';
import { LARGE_HEAP_BYTES, capHeapGrowthWhenLarge } from '../util/heap-growth.js';

export async function main(given: string[]): Promise<number> {
  // Bare `poolsync` is a newcomer asking what there is: the help, exit 0.
  const argv = given.length === 0 ? ['--help'] : dashValues(given);
  let exitCode = 0;
  const command = argv.find((a) => !a.startsWith('-')) ?? null;
  capHeapGrowthWhenLarge(command === 'daemon' ? 0 : LARGE_HEAP_BYTES);
  // The daemon logs through pino (stdout), scrubbed by its own redactor; every other
  // command's output is scrubbed here. The daemon's stderr (configuration errors, before the
  // logger exists) is JSON here like every command's.
  if (command !== 'daemon') redactOutput();
  if (wantsJsonLogs(argv, process.env)) jsonStderr(command);
  try {
    const singleDash = argv.includes('--get-yargs-completions') ? null : singleDashError(argv);
    if (singleDash) throw singleDash;
    const cli = yargs(argv);
    skipHelpPrerender(cli);
    await cli
      .scriptName('poolsync')
      .usage('$0 <command> [options]\n\nGitOps reconciler for cluster pools, clusters and queues.')
      .command(Object.values(COMMANDS))
      .options(command === 'daemon' ? {} : { 'log-format': logFormatOption })
      // Answers `--get-yargs-completions` for the scripts of `poolsync completion SHELL`; the
      // command yargs would add for it is hidden: `completion` (commands/completion.ts) prints them.
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
      .wrap(Math.min(110, process.stdout.columns || 100))
      .fail((msg, err) => {
        // A coerce that refuses a value (options.ts wholeNumber) comes wrapped in yargs's YError.
        if (err && err.name !== 'YError') throw err;
        throw usageError(msg ?? err?.message ?? 'cannot read the command line', argv);
      })
      .parseAsync();
    // Commands report non-error outcomes (e.g. --detailed-exitcode 2) through process.exitCode.
    exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    exitCode = reportError(err);
  }
  return exitCode;
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

// A reader that goes away (`poolsync apply | head`) is not an error of ours, and must not
// end an apply half-way: output is dropped from then on, the work and the exit status go on.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.stdout.write = (() => true) as typeof process.stdout.write;
});

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
