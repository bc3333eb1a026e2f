/**
 * The CLI: yargs over ./define.ts, each command's work loaded when it runs, errors reported
 * once, output scrubbed of secrets, on the streams, environment and signals of an `Io`.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { COMMANDS, globalOptions, type Command, type Shell } from './define.js';
import { givenTwice } from '../util/option-values.js';
import { askedLogFormat, jsonStderr, reportError, rewriting, type Io } from './io.js';
import { commandNamed, singleDashError, usageError } from './usage-error.js';
import { endOfOptions } from './end-of-options.js';
import { LOG_FORMATS } from '../daemon/config-options.js';
import { UserError } from '../util/user-error.js';
import { versionLine } from '../util/package-version.js';
import { processRedactor } from '../util/redact.js';
import { escapeStrayControls } from '../util/terminal-text.js';

export async function main(given: string[], processIo: Io): Promise<number> {
  // Bare `poolsync` is the help on stdout, exit 1 as git's: a CI step whose $CMD is empty fails.
  // `help plan` (git's, Terraform's habit) is `plan --help`; `help destroy` says what `destroy` would.
  const helpFor = given[0] === 'help' ? given.slice(1) : null;
  const argv =
    given.length === 0
      ? ['--help']
      : helpFor
        ? [
            ...helpFor,
            ...(helpFor.length === 0 || commandNamed(Object.values(COMMANDS), helpFor[0])
              ? ['--help']
              : []),
          ]
        : dashValues(given);
  const command = argv.find((a) => !a.startsWith('-')) ?? null;
  let io = processIo;
  // The daemon's pino logs are scrubbed by its own redactor, every other command's output here.
  // Whatever a value held that its renderer missed, no control character reaches the terminal.
  const shown =
    command !== 'daemon'
      ? (text: string): string => escapeStrayControls(processRedactor(io.env).scrubSecrets(text))
      : escapeStrayControls;
  io = { ...io, stdout: rewriting(io.stdout, shown), stderr: rewriting(io.stderr, shown) };
  const format = askedLogFormat(argv, io.env);
  const json = format.value === 'json' ? jsonStderr(io.stderr, command) : null;
  if (json) io = { ...io, stderr: json.stderr };
  let exitCode = 0;
  try {
    const completing = argv.includes('--get-yargs-completions');
    const words = argv.slice(argv.indexOf('--get-yargs-completions') + 2);
    // Read before yargs asks: it takes a completion's answer only synchronously.
    const environments = completing ? await environmentsToComplete(words) : [];
    const singleDash = completing ? null : singleDashError(argv, io.env);
    if (singleDash) throw singleDash;
    // The words after `--` are positionals (POSIX); what cannot be one is refused here.
    const line = completing ? argv : endOfOptions(argv, io.env);
    // yargs checks --log-format's choices; its variable, read when the flag is not given, is
    // checked here, said as the daemon says it.
    if (
      format.fromEnv &&
      format.value &&
      !(LOG_FORMATS as readonly string[]).includes(format.value)
    )
      throw new UserError(
        `environment variable POOLSYNC_LOG_FORMAT: "${format.value}" is not one of ${LOG_FORMATS.join(', ')}.`,
      );
    const cli = yargsUnder(io.env, line);
    skipHelpPrerender(cli);
    unknownOptionsFirst(cli);
    let output = '';
    await cli
      .scriptName('poolsync')
      .usage('$0 <command> [options]\n\nGitOps reconciler for cluster pools, clusters and queues.')
      .command(
        Object.values(COMMANDS).map((c) =>
          yargsCommand(c, '', io, (code) => (exitCode = code), completing),
        ),
      )
      .options(globalOptions(command))
      // Answers `--get-yargs-completions` for the scripts of `poolsync completion SHELL`; the
      // command yargs would add for it is hidden: `completion` (completionScript) prints them.
      .completion(
        '__completion',
        false,
        (
          _current: string,
          _argv: unknown,
          defaults: (done?: (err: Error | null, list?: string[]) => void) => void,
          done: (list: string[]) => void,
        ) => {
          if (completesPath(words)) done([]);
          else if (environments.length > 0) done(environments);
          else defaults();
        },
      )
      .demandCommand(1, 'Name a command.')
      .strict()
      .recommendCommands()
      .help()
      .alias('h', 'help')
      .version(versionLine())
      .wrap(Math.min(110, io.stdout.columns || 100))
      .fail((msg, err) => {
        // A coerce that refuses a value (util/option-values.ts wholeNumber) comes wrapped in yargs's YError.
        if (err && err.name !== 'YError') throw err;
        throw usageError(msg ?? err?.message ?? 'cannot read the command line', line, cli);
      })
      // What yargs prints itself (help, version, completions) comes back here, as written.
      .parseAsync(line, {}, (_err, _parsed, text) => {
        output = text;
      });
    if (output !== '') io.stdout.write(`${output}\n`);
    if (given.length === 0) exitCode = 1;
  } catch (err) {
    exitCode = reportError(err, io);
  } finally {
    json?.end();
  }
  return exitCode;
}

type Work = (args: never, io: Io) => Promise<number>;

/** By the command's words. */
const WORK: Record<string, Work> = {
  init: async (a, io) => (await import('./commands/export.js')).init(a, io),
  validate: async (a, io) => (await import('./commands/check.js')).validate(a, io),
  check: async (a, io) => (await import('./commands/check.js')).check(a, io),
  plan: async (a, io) => (await import('./commands/plan.js')).plan(a, io),
  apply: async (a, io) => (await import('./commands/apply.js')).apply(a, io),
  promote: async (a, io) => (await import('./commands/plan.js')).promote(a, io),
  show: async (a, io) => (await import('./commands/plan.js')).show(a, io),
  'state list': async (a, io) => (await import('./commands/export.js')).list(a, io),
  'state show': async (a, io) => (await import('./commands/export.js')).show(a, io),
  'state forget': async (a, io) => (await import('./commands/export.js')).forget(a, io),
  render: async (a, io) => (await import('./commands/render.js')).render(a, io),
  export: async (a, io) => (await import('./commands/export.js')).exportTo(a, io),
  import: async (a, io) => (await import('./commands/export.js')).importObject(a, io),
  daemon: async (a, io) => (await import('./commands/daemon.js')).daemon(a, io),
  status: async (a, io) => (await import('./commands/daemon-client.js')).status(a, io),
  sync: async (a, io) => (await import('./commands/daemon-client.js')).sync(a, io),
  history: async (a, io) => (await import('./commands/daemon-client.js')).history(a, io),
  rollback: async (a, io) => (await import('./commands/daemon-client.js')).rollback(a, io),
  approve: async (a, io) => (await import('./commands/daemon-client.js')).approve(a, io),
  suspend: async (a, io) => (await import('./commands/daemon-client.js')).freeze(a, io, true),
  resume: async (a, io) => (await import('./commands/daemon-client.js')).freeze(a, io, false),
  'control-plane serve': async (a, io) =>
    (await import('./commands/control-plane.js')).serve(a, io),
  'control-plane capabilities': async (a, io) =>
    (await import('./commands/control-plane.js')).capabilities(a, io),
  completion: (a: { shell: Shell }, io) => Promise.resolve(completionScript(a.shell, io)),
};

function yargsCommand(
  c: Command,
  parent: string,
  io: Io,
  exit: (code: number) => void,
  completing: boolean,
): CommandModule {
  const words = `${parent}${c.command.split(' ')[0]!}`;
  return {
    command: c.command,
    ...(c.aliases ? { aliases: c.aliases } : {}),
    describe: c.describe,
    builder: (y: Argv) => {
      const built = c.builder?.(y, io.env) ?? y;
      // Completing a word still being typed (`plan -e ''`): nothing is refused, only answered.
      const out = completing ? built : valuesRequired(built);
      for (const sub of c.subcommands ?? [])
        out.command(yargsCommand(sub, `${words} `, io, exit, completing));
      return out;
    },
    handler: async (args) => {
      const work = WORK[words];
      if (work) exit(await work(args as never, io));
    },
  };
}

/**
 * Every option that takes a value requires one (issue 78): `plan --out` alone is refused, as
 * Terraform's `-out` is, instead of running with nothing to write to. Flags (booleans, counts)
 * and lists (arrays) are left as they are; a positional is no option.
 */
function valuesRequired(y: Argv): Argv {
  const parsed = y as unknown as {
    getOptions(): {
      key: Record<string, unknown>;
      boolean: string[];
      count: string[];
      array: string[];
      demandedOptions: Record<string, unknown>;
    };
    getGroups(): Record<string, string[]>;
  };
  const o = parsed.getOptions();
  const not = new Set([
    ...o.boolean,
    ...o.count,
    ...o.array,
    ...(parsed.getGroups()['Positionals:'] ?? []),
  ]);
  const valued = Object.keys(o.key).filter((k) => !not.has(k) && k !== 'help' && k !== 'version');
  if (valued.length === 0) return y;
  // Given twice, yargs makes a list of it, which no command reads: `--dir a --dir b`. Given
  // empty, most often an unset variable (`--out "$PLAN"`): no command reads "" as meant (it was
  // taken as not given, or as the working folder).
  const once = (args: Record<string, unknown>) => {
    for (const k of valued) {
      const value = args[k];
      if (Array.isArray(value)) throw givenTwice(k, value as unknown[]);
      if (typeof value === 'string' && value.trim() === '' && k.length > 1)
        throw new UserError(
          `--${k} is empty: give its value (an unset variable?)${k in o.demandedOptions ? '; it is required' : ', or leave the flag out'}`,
        );
    }
  };
  return y.requiresArg(valued).middleware(once, true);
}

/** yargs 18's templates; the script asks `poolsync --get-yargs-completions …` (completesPath). */
function completionScript(shell: Shell, io: Io): number {
  const y = yargsUnder({ SHELL: `/bin/${shell}` }, []).scriptName('poolsync');
  // The script goes to the logger (console.log): collect it instead.
  let out = '';
  const log = console.log;
  console.log = (text: string) => (out += `${text}\n`);
  try {
    // @types/yargs 17 omits the parameters yargs 18 takes ($0, the command named in the comment).
    (y.showCompletionScript as ($0: string, cmd: string) => unknown)(
      'poolsync',
      `completion ${shell}`,
    );
  } finally {
    console.log = log;
  }
  io.stdout.write(out);
  return 0;
}

/** yargs reads its completion format (bash, zsh, fish) from SHELL and ZSH_NAME when made. */
function yargsUnder(env: NodeJS.ProcessEnv, argv: string[]): Argv {
  const saved = { SHELL: process.env.SHELL, ZSH_NAME: process.env.ZSH_NAME };
  const set = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set({ SHELL: env.SHELL, ZSH_NAME: env.ZSH_NAME });
  try {
    return yargs(argv);
  } finally {
    set(saved);
  }
}

const PATH_OPTION = /^--(out|dir|state|state-dir|config|watch|flyte-cli|[a-z-]+-file)$/;
const PATH_COMMANDS = new Set(['plan', 'apply', 'show', 'validate', 'export']);

/**
 * Whether the last of `words` (after the program name) is a path: a path option's value (`--out
 * ▮`) or a path positional (`show ▮`). The answer is then empty: bash and zsh complete files.
 */
function completesPath(words: readonly string[]): boolean {
  const current = words.at(-1) ?? '';
  const previous = words.length >= 2 ? words[words.length - 2]! : null;
  if (previous !== null && PATH_OPTION.test(previous)) return true;
  // After another option, its choices (or the options) are what yargs offers.
  if (previous !== null && previous.startsWith('-')) return false;
  if (current.startsWith('-')) return false;
  const command = words.find((w) => !w.startsWith('-'));
  return words.length >= 2 && command !== undefined && PATH_COMMANDS.has(command);
}

/**
 * `--env ▮`: the environments of the first folder named before it whose poolsync.yaml declares
 * some (`.` when none is named); none found (or not after --env): none, and yargs answers.
 */
async function environmentsToComplete(words: readonly string[]): Promise<string[]> {
  if (!/^(--env|-e)$/.test(words.at(-2) ?? '')) return [];
  const { readRepoConfig } = await import('../manifests/config.js');
  for (const dir of [...words.slice(0, -2).filter((w) => !w.startsWith('-')), '.']) {
    const read = await readRepoConfig(dir).catch(() => null);
    const names = read?.config.environments?.map((e) => e.name) ?? [];
    if (names.length > 0) return names;
  }
  return [];
}

/**
 * yargs renders a command's help as its handler starts, in case it shows it later; ours never
 * do (failures go through `.fail`), and for `plan` it cost 50 ms of start-up.
 */
function skipHelpPrerender(cli: object): void {
  const internals = (cli as { getInternalMethods?: () => { getUsageInstance?: () => unknown } })
    .getInternalMethods?.()
    .getUsageInstance?.() as { cacheHelpMessage?: () => void } | undefined;
  if (internals && typeof internals.cacheHelpMessage === 'function')
    internals.cacheHelpMessage = () => {};
}

/**
 * yargs checks a command's required arguments before its unknown options, so `export --bogus`
 * said `Missing required argument: dir`: the unknown option, the likelier mistake, is said
 * first, and a missing argument only when every option is known.
 */
function unknownOptionsFirst(cli: object): void {
  type Check = (...args: unknown[]) => void;
  const v = (cli as { getInternalMethods(): { getValidationInstance(): Record<string, Check> } })
    .getInternalMethods()
    .getValidationInstance();
  let held: unknown = null;
  // A command's positionals and required options; a (sub)command not named is still said first.
  for (const name of ['positionalCount', 'requiredArguments']) {
    const check = v[name]!;
    v[name] = (...args) => {
      try {
        check(...args);
      } catch (err) {
        held ??= err;
      }
    };
  }
  // The check yargs makes after the unknown options, whether or not it made that one.
  const choices = v.limitedChoices!;
  v.limitedChoices = (...args) => {
    const err = held;
    held = null;
    if (err !== null) throw err;
    choices(...args);
  };
}

/** `--out -` (stdout) passed as `--out=-`: yargs would say "Unknown argument: -". */
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
