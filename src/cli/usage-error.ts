/**
 * A command line poolsync cannot take as one clear UserError: yargs's message with the closest
 * option or command (`--tagret` → `--target`) and where the usage is; Terraform's one-dash
 * spellings answered before yargs parses anything.
 */
import { statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { closest, meant } from '../manifests/suggest.js';
import { shellQuote } from '../util/shell-quote.js';
import { UserError } from '../util/user-error.js';
import { COMMANDS, type Command } from './define.js';

/** Options every command takes. */
const GLOBAL_OPTIONS = ['help', 'version', 'log-format'];

/** Other tools' commands, and poolsync's word for each. */
const OTHER_TOOLS: Record<string, string> = {
  destroy:
    'poolsync has no destroy: remove the manifests (with `prune: true` in poolsync.yaml), then `poolsync apply`',
  diff: 'the diff is the plan: `poolsync plan`',
  refresh: 'drift since the last apply: `poolsync plan --refresh-only`',
  get: 'the daemon: `poolsync status --daemon URL`; what is managed: `poolsync state list`',
  rm: 'leave an object alone without deleting it: `poolsync state rm ADDRESS` (`state forget`)',
  reconcile: 'ask the daemon to run now: `poolsync sync --daemon URL`',
  events: "the daemon's runs, newest first: `poolsync history --daemon URL`",
  logs: "the daemon's logs are its standard output (`kubectl logs`, `journalctl`); its runs: `poolsync history --daemon URL`",
  // Terraform's `state` subcommands poolsync has not.
  'state mv':
    'an object is its name on the control plane: rename it in the manifests (the plan shows a delete and a create), or stop managing the old one with `poolsync state forget ADDRESS`',
  'state pull':
    'what poolsync manages: `poolsync state list`, one object: `poolsync state show ADDRESS`',
};

/**
 * The hint for another tool's command in `words`, unless poolsync defines it (define.ts): a
 * command added later (as `rollback` was) wins over its hint, as do its aliases.
 */
export function otherToolHint(
  words: readonly string[],
  commands: Readonly<Record<string, Command>> = COMMANDS,
): { command: string; hint: string } | null {
  const [first, second] = words;
  if (first === undefined) return null;
  if (!commandNamed(Object.values(commands), first))
    return OTHER_TOOLS[first] ? { command: first, hint: OTHER_TOOLS[first] } : null;
  const sub = `${first} ${second}`;
  if (second === undefined || !OTHER_TOOLS[sub]) return null;
  return commandNamed(commands[first]?.subcommands ?? [], second)
    ? null
    : { command: sub, hint: OTHER_TOOLS[sub] };
}

/** The command of `commands` that `word` names, by its name or an alias. */
export function commandNamed(
  commands: readonly Command[],
  word: string | undefined,
): Command | undefined {
  if (word === undefined) return undefined;
  return commands.find((c) => c.command.split(' ')[0] === word || (c.aliases ?? []).includes(word));
}

/**
 * Options another command takes, and what they are there: said beside the one meant here, in
 * its meaning under `command` (approve's --policies is no folder).
 */
const OTHER_OPTIONS: Record<string, (command: string | undefined) => string> = {
  policy: (command) =>
    `--policy none|safe|all is the daemon's: what it applies by itself; ${
      command === 'approve'
        ? 'in approve, --policies approves the policy failures a daemon holds, FINGERPRINT being their digest (`poolsync approve --policies DIGEST --reason WHY --as OWNER`)'
        : '--policies names a folder of Rego policies'
    }`,
};

/** Secrets never taken as a flag value (docs/security.md): the file option and variable instead. */
const SECRET_FILES: Record<string, string> = {
  'token-file': 'POOLSYNC_TOKEN',
  'admin-token-file': 'POOLSYNC_ADMIN_TOKEN',
  'api-key-file': 'POOLSYNC_UNION_API_KEY',
  // The daemon's (src/daemon/config-options.ts).
  'git-token-file': 'POOLSYNC_GIT_TOKEN',
  'github-webhook-secret-file': 'POOLSYNC_GITHUB_WEBHOOK_SECRET',
  'gitlab-webhook-token-file': 'POOLSYNC_GITLAB_WEBHOOK_TOKEN',
  'reconcile-token-file': 'POOLSYNC_RECONCILE_TOKEN',
};

/**
 * `--token VALUE`, `--api-key VALUE`: where the command takes that secret from, its own
 * `--NAME-file` first, else the one file option it has for a secret of that name's kind (the
 * daemon client's admin token for `--token`). Null for any other name. The value is never said.
 */
function secretHint(name: string, known: readonly string[]): string | null {
  const files = Object.keys(SECRET_FILES).filter((f) => known.includes(f));
  const file =
    files.find((f) => f === `${name}-file`) ?? files.find((f) => f.endsWith(`${name}-file`));
  if (file === undefined) return null;
  return `poolsync never takes a secret as a flag value (it would show in \`ps\` and the shell history): pass --${file} FILE, or set ${SECRET_FILES[file]}.`;
}

/**
 * The known option that is `name` in the singular or the plural (`--policy` for `--policies`):
 * an edit distance of 3 on a short name, past `closest`'s reach.
 */
function sameWord(name: string, known: readonly string[]): string | null {
  const singular = (n: string) => n.replace(/ies$/, 'y').replace(/s$/, '');
  return known.find((k) => k !== name && singular(k) === singular(name)) ?? null;
}

/**
 * The longest known option of 3 letters or more that `name` begins with: a short name written
 * out (`--environment`, `--enviroment` for `--env`), past any edit distance.
 */
function writtenOut(name: string, known: readonly string[]): string | null {
  const begun = known.filter((k) => k.length >= 3 && name.startsWith(k));
  return begun.sort((a, b) => b.length - a.length)[0] ?? null;
}

/** MSG of yargs, whose instance CLI knows the options of the command it was reading. */
export function usageError(msg: string, argv: readonly string[], cli: Argv): UserError {
  const words = argv.filter((a) => !a.startsWith('-'));
  const command = words[0];
  const other = otherToolHint(words);
  if (other)
    return new UserError(
      `Unknown command "${other.command}": ${other.hint}.\nRun \`poolsync${other.command.includes(' ') ? ` ${command}` : ''} --help\` for the commands.`,
    );
  // The (sub)command as its usage names it (`state list`, `state forget` for `state rm`).
  const form = commandForm(words);
  const usageName = form?.split(/ [<[]/)[0];
  const help = usageName ? `poolsync ${usageName} --help` : 'poolsync --help';
  // What yargs knows there: the command's options and positionals.
  const y = cli as unknown as {
    getOptions(): { key: Record<string, unknown> };
    getGroups(): Record<string, string[]>;
  };
  const positionals = y.getGroups()['Positionals:'] ?? [];
  const needs = /^Not enough arguments following: (.+)$/.exec(msg);
  if (needs)
    return new UserError(
      `Option --${needs[1]} needs a value: \`--${needs[1]} VALUE\` (or \`--${needs[1]}=VALUE\`).\nRun \`${help}\` for the options.`,
    );
  const missing = /^Not enough non-option arguments: got (\d+)/.exec(msg);
  // yargs counts the words after the command's own; the first required ones not given.
  const wanted = (missing && form?.match(/<[^>]+>/g)?.slice(Number(missing[1]))) || [];
  if (wanted.length > 0)
    return new UserError(
      `\`poolsync ${usageName}\` needs ${wanted.join(' ')}: \`poolsync ${form}\`.\nRun \`${help}\` for usage.`,
    );
  const choices = msg.startsWith('Invalid values:') ? choiceLines(msg, positionals) : null;
  if (choices) return new UserError(`${choices}\nRun \`${help}\` for usage.`);
  const unknown = /^Unknown arguments?: (.+)$/.exec(msg);
  // The first word is what yargs could not read, and no command (not an option's value).
  if (unknown && !form && command !== undefined && unknown[1]!.split(', ').includes(command))
    return new UserError(
      `Unknown command "${command}".\nRun \`poolsync --help\` for the commands.`,
    );
  if (unknown) {
    // The command's own options and the global ones, but positionals.
    const own = Object.keys(y.getOptions().key).filter(
      (n) => n.length > 1 && !GLOBAL_OPTIONS.includes(n) && !positionals.includes(n),
    );
    const known = [...GLOBAL_OPTIONS, ...own];
    const camelOf = (n: string) => n.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    // yargs also lists the camelCase form of an unknown dashed option (`refreshOnly`).
    const all = unknown[1]!.split(', ');
    const dashed = new Set(all.filter((n) => n.includes('-')).map(camelOf));
    const lines = all
      .filter((n) => !dashed.has(n))
      .map((name) => {
        if (!argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `-${name}`))
          // A folder where the command takes it as --dir (`export DIR`; import says it itself).
          return own.includes('dir') && isFolder(name)
            ? `Unexpected argument "${name}": give the folder with --dir (\`--dir ${shellQuote(name)}\`).`
            : `Unexpected argument "${name}".`;
        const secret = secretHint(name, known);
        if (secret) return `Unknown option --${name}: ${secret}`;
        const hit = closest(name, known) ?? sameWord(name, known) ?? writtenOut(name, known);
        const other = OTHER_OPTIONS[name];
        const why = hit && other ? ` (${other(command)})` : '';
        return `Unknown option --${name}${hit ? `: did you mean --${hit}?${why}` : '.'}`;
      });
    return new UserError(`${lines.join('\n')}\nRun \`${help}\` for the options.`);
  }
  const meant = /^Did you mean (.+)\?$/.exec(msg);
  if (meant && command !== undefined) {
    // Under a command (`state lst`), yargs names the subcommand it meant (`list`).
    const under = COMMANDS[command] && words[1] !== undefined ? `${command} ` : '';
    return new UserError(
      `Unknown command "${under}${under ? words[1] : command}": did you mean \`poolsync ${under}${meant[1]}\`?\nRun \`poolsync ${under}--help\` for the commands.`,
    );
  }
  return new UserError(`${msg}\nRun \`${help}\` for usage.`);
}

/**
 * yargs's "Argument: output, Given: "yaml", Choices: "text", "json"" lines (its values as JSON,
 * joined by ", "), each as the option or positional with its choices and the closest one; null
 * where a line does not read so (yargs's own words then).
 */
function choiceLines(msg: string, positionals: readonly string[]): string | null {
  const lines = [...msg.matchAll(/^ {2}Argument: (\S+), Given: (.+), Choices: (.+)$/gm)];
  if (lines.length === 0) return null;
  const said = ([, arg, given, list]: RegExpExecArray) => {
    const values = JSON.parse(`[${given}]`) as unknown[];
    const choices = (JSON.parse(`[${list}]`) as unknown[]).map(String);
    const hit = values.length === 1 ? meant(String(values[0]), choices, { prefixes: true }) : null;
    const what = positionals.includes(arg!) ? `<${arg}>` : `--${arg}`;
    return `${what} ${given} is not one of ${choices.join(', ')}${hit ? `: did you mean ${hit}?` : '.'}`;
  };
  try {
    return lines.map(said).join('\n');
  } catch {
    return null; // Not JSON as yargs writes its values.
  }
}

/** The usage form of the (sub)command `words` names, as define.ts writes it: `state show <address> [dir]`. */
function commandForm(words: readonly string[]): string | null {
  const top = commandNamed(Object.values(COMMANDS), words[0]);
  if (!top) return null;
  const sub = commandNamed(top.subcommands ?? [], words[1]);
  return sub ? `${words[0]} ${sub.command}` : top.command;
}

/** Terraform options poolsync has under the same name (`-json` is `--output json`). */
const TERRAFORM_NAMES = new Set([
  'target',
  'replace',
  'out',
  'auto-approve',
  'lock-timeout',
  'detailed-exitcode',
  'no-color',
  'refresh-only',
  'parallelism',
  'json',
]);

/**
 * Terraform's one-dash options (`-target=X`): yargs would answer `Unknown arguments: t, a, r,
 * g, e`. The first `-name[=value]` of two or more letters before `--`, as the two-dash spelling.
 */
export function singleDashError(argv: readonly string[]): UserError | null {
  for (const arg of argv) {
    if (arg === '--') return null;
    const m = /^-([a-z][a-z0-9]*(?:-[a-z0-9]+)+|[a-z][a-z0-9]+)(=.*)?$/i.exec(arg);
    if (!m) continue;
    const name = m[1]!;
    const value = m[2] ?? '';
    const lower = name.toLowerCase();
    const known = TERRAFORM_NAMES.has(lower);
    const meant = lower === 'json' ? '--output json' : `--${known ? lower : name}${value}`;
    return new UserError(
      known
        ? `${arg}: poolsync's options take two dashes: did you mean \`${meant}\`?`
        : `${arg}: poolsync's options take two dashes (\`${meant}\`); \`poolsync <command> --help\` lists them`,
    );
  }
  return null;
}

export function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // missing, or not to be read: no hint
  }
}
