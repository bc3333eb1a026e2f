/**
 * A command line poolsync cannot take as one clear UserError: yargs's message with the closest
 * option or command (`--tagret` → `--target`) and where the usage is; Terraform's one-dash
 * spellings answered before yargs parses anything.
 */
import { statSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { closest, meant } from '../manifests/suggest.js';
import { shellQuote } from '../util/shell-quote.js';
import { UserError } from '../util/user-error.js';
import { COMMANDS, globalOptions, type Command } from './define.js';

/** Options every command takes. */
const globalNames = (command: string | undefined) => [
  'help',
  'version',
  ...Object.keys(globalOptions(command)),
];

const DESTROY =
  'poolsync has no destroy: remove the manifests (with `prune: true` in poolsync.yaml), then `poolsync apply`';

const VARIABLES =
  'poolsync has no variables: what differs between environments is their patches in poolsync.yaml, chosen with `--env NAME` (docs/environments.md)';

/** After the lock refusals' own words (src/apply/lock.ts). */
const FORCE_UNLOCK =
  'poolsync has no force-unlock: the next apply takes over a lock a killed apply left (on this machine at once, on the control plane once its 30 s lease expires); a lock refusal names the holder: wait for it to finish, or if that process is gone, delete the lock file it names';

/**
 * Terraform's options poolsync has not, or has with another meaning (`-lock=false`), and
 * poolsync's word for each: said for `-NAME` and `--NAME` alike.
 */
const TERRAFORM_OPTIONS: Record<string, string> = {
  destroy: DESTROY,
  lock: "poolsync's --lock names a Kubernetes Lease (k8s:NAMESPACE/NAME) to hold while applying, not whether to lock: locking cannot be turned off (apply always locks, plan never does); to wait for a held lock, pass --lock-timeout 5m",
  chdir:
    "poolsync has no -chdir: name the config folder as the command's DIR (`poolsync plan DIR`; export and import take --dir DIR)",
  var: VARIABLES,
  'var-file': VARIABLES,
  // Only the daemon lacks it (run.ts): its logs are not the text a CI wrapper greps.
  color:
    'the daemon has no --color: its logs are JSON unless stdout is a terminal (`--log-format json`: always JSON)',
};

/**
 * poolsync's word for Terraform's `-NAME[=VALUE]` where the command has no such option, and
 * for `--lock=false` where it has (null: the value is a Lease to read).
 */
export function terraformOptionHint(name: string, value: string | undefined): string | null {
  if (name === 'lock' && !/^(true|false|on|off|yes|no|0|1)?$/i.test(value?.trim() ?? ''))
    return null;
  return TERRAFORM_OPTIONS[name] ?? null;
}

/** Other tools' commands, and poolsync's word for each. */
const OTHER_TOOLS: Record<string, string> = {
  destroy: DESTROY,
  taint:
    'poolsync has no taint: `poolsync apply --replace Kind/name` deletes and creates an object again (`plan --replace` shows it first)',
  version: 'the version: `poolsync --version`',
  'force-unlock': FORCE_UNLOCK,
  workspace:
    "poolsync's workspaces are the environments of poolsync.yaml: `--env NAME` (docs/environments.md)",
  diff: 'the diff is the plan: `poolsync plan`',
  fmt: 'poolsync has no formatter: `poolsync validate` checks the manifests (schemas and the rules of docs/manifests.md)',
  output:
    'poolsync has no outputs: what it manages: `poolsync state list`, one object as last applied: `poolsync state show ADDRESS`; a saved plan: `poolsync show PLANFILE`',
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
    getOptions(): { key: Record<string, unknown>; choices: Record<string, unknown[]> };
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
    const globals = globalNames(command);
    const own = Object.keys(y.getOptions().key).filter(
      (n) => n.length > 1 && !globals.includes(n) && !positionals.includes(n),
    );
    const known = [...globals, ...own];
    const camelOf = (n: string) => n.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    // yargs also lists the camelCase form of an unknown dashed option (`refreshOnly`).
    const all = unknown[1]!.split(', ');
    const dashed = new Set(all.filter((n) => n.includes('-')).map(camelOf));
    const lines = all
      .filter((n) => !dashed.has(n))
      .map((name) => {
        const given = [`--${name}`, `--no-${name}`, `-${name}`];
        if (!argv.some((a) => given.includes(a.split('=')[0]!)))
          // A folder where the command takes it as --dir (`export DIR`; import says it itself).
          return own.includes('dir') && isFolder(name)
            ? `Unexpected argument "${name}": give the folder with --dir (\`--dir ${shellQuote(name)}\`).`
            : `Unexpected argument "${name}".`;
        const secret = secretHint(name, known);
        if (secret) return `Unknown option --${name}: ${secret}`;
        const habit = TERRAFORM_OPTIONS[name];
        if (habit) return `Unknown option --${name}: ${habit}.`;
        if (name === 'json' && y.getOptions().choices.output?.includes('json'))
          return 'Unknown option --json: did you mean `--output json`?';
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

/**
 * Terraform's one-dash options (`-target=X`): yargs would answer `Unknown arguments: t, a, r,
 * g, e`. The first `-name[=value]` of two or more letters before `--`: the two-dash spelling
 * where the command has that option, else poolsync's word for Terraform's, else that it has none.
 */
export function singleDashError(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = {},
): UserError | null {
  const arg = argv
    .slice(0, argv.includes('--') ? argv.indexOf('--') : undefined)
    .find((a) => /^-([a-z][a-z0-9]*(?:-[a-z0-9]+)+|[a-z][a-z0-9]+)(=.*)?$/i.test(a));
  if (arg === undefined) return null;
  const [written, value] = [arg.slice(1).split('=')[0]!, arg.slice(arg.indexOf('=') + 1)];
  const name = written.toLowerCase();
  const words = argv.filter((a) => !a.startsWith('-'));
  const form = commandForm(words);
  const options = optionsOf(words, env);
  const has = (n: string) => options.names.includes(n);
  // `-no-color` is the daemon's `--color` negated.
  const base = name.replace(/^no-/, '');
  const hint =
    has(base) && base !== 'lock' ? null : terraformOptionHint(base, arg.includes('=') ? value : '');
  if (hint) return new UserError(`${arg}: ${hint}.`);
  const twoDashes = `${arg}: poolsync's options take two dashes: did you mean`;
  if (has(name) || (base !== name && options.flags.includes(base)))
    return new UserError(`${twoDashes} \`-${arg.replace(written, name)}\`?`);
  if (name === 'json' && options.outputs.includes('json'))
    return new UserError(`${twoDashes} \`--output json\`?`);
  // `-ojson`: -o's value attached, as other tools take it; poolsync's parser would read o, j, s…
  const output = name.slice(1);
  if (name.startsWith('o') && options.outputs.includes(output))
    return new UserError(
      `${arg}: did you mean \`-o ${output}\`? (-o takes its value after a space)`,
    );
  if (!form)
    return words.length > 0
      ? null // an unknown command, said first by yargs
      : new UserError(
          `${arg}: poolsync's options take two dashes (\`-${arg}\`), after a command; \`poolsync <command> --help\` lists them`,
        );
  const usageName = form.split(/ [<[]/)[0]!;
  const hit = closest(name, options.names);
  return new UserError(
    `${arg}: \`poolsync ${usageName}\` has no --${name} option${hit ? ` (did you mean --${hit}?)` : ''}; \`poolsync ${usageName} --help\` lists them`,
  );
}

/** The options of the (sub)command `words` names, as yargs builds them, and the global ones. */
function optionsOf(words: readonly string[], env: NodeJS.ProcessEnv) {
  const top = commandNamed(Object.values(COMMANDS), words[0]);
  const command = commandNamed(top?.subcommands ?? [], words[1]) ?? top;
  const built = (command?.builder?.(yargs([]), env) ?? yargs([])) as unknown as {
    getOptions(): {
      key: Record<string, unknown>;
      boolean: string[];
      choices: Record<string, unknown[]>;
    };
  };
  const o = built.getOptions();
  const globals = globalNames(top?.command.split(' ')[0]);
  return {
    names: [...globals, ...Object.keys(o.key).filter((n) => n.length > 1)],
    flags: [...o.boolean, ...(globals.includes('color') ? ['color'] : [])],
    outputs: (o.choices.output ?? []).map(String),
  };
}

export function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // missing, or not to be read: no hint
  }
}
