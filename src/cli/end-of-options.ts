/**
 * POSIX's `--`: the options end there and the words after it are positionals, after those given
 * before it (`apply -- plan.json`, `state show Queue/a -- DIR`). yargs keeps them apart and never
 * fills a positional from them, so they are moved to where it reads them as positionals.
 */
import yargs, { type Argv } from 'yargs';
import { Parser } from 'yargs/helpers';
import { UserError } from '../util/user-error.js';
import { COMMANDS, type Command } from './define.js';
import { commandNamed } from './usage-error.js';

export function endOfOptions(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const line = positionalsAfterEnd(argv, env);
  // yargs turns a lone "-" into an empty positional (`show -` said "plan file  does not exist").
  if (line.includes('-'))
    throw new UserError(
      '"-" names no file or folder: poolsync reads no plan or folder from stdin; name the file or folder (a file named - is ./-)',
    );
  return line;
}

function positionalsAfterEnd(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const end = argv.indexOf('--');
  if (end < 0) return [...argv];
  const before = argv.slice(0, end);
  const after = argv.slice(end + 1);
  // yargs reads a word starting with "-" as an option wherever it stands.
  const dashed = after.find((w) => /^-./.test(w));
  if (dashed !== undefined)
    throw new UserError(
      `"${dashed}" comes after --, where only positionals go, and poolsync reads a word starting with "-" as an option: put options before --; a file of that name is ./${dashed}`,
    );
  const found = commandIn(before);
  if (!found) return [...before, ...after];
  // Right after the last positional before `--` (else the command's words), no option takes them as its value.
  const count = positionalCounter(found.command, env);
  let at = found.end;
  for (let i = found.end; i < before.length; i++)
    if (count(before.slice(found.end, i + 1)) > count(before.slice(found.end, i))) at = i + 1;
  return [...before.slice(0, at), ...after, ...before.slice(at)];
}

/** The (sub)command `words` name and the index after its words. */
function commandIn(words: readonly string[]): { command: Command; end: number } | null {
  const i = words.findIndex((w) => commandNamed(Object.values(COMMANDS), w));
  if (i < 0) return null;
  const top = commandNamed(Object.values(COMMANDS), words[i])!;
  const sub = commandNamed(top.subcommands ?? [], words[i + 1]);
  return sub ? { command: sub, end: i + 2 } : { command: top, end: i + 1 };
}

/** How many positionals yargs reads in words given to `command`, by its own options. */
function positionalCounter(command: Command, env: NodeJS.ProcessEnv) {
  const built = (command.builder?.(yargs([]), env) ?? yargs([])) as Argv & {
    getOptions(): Parser.Options & { boolean: string[] };
  };
  const o = built.getOptions();
  const options: Parser.Options = {
    alias: { ...o.alias, help: ['h'] },
    array: o.array,
    boolean: [...o.boolean, 'help', 'version'],
    count: o.count,
    narg: o.narg,
    number: o.number,
    string: o.string,
  };
  return (words: string[]) => Parser.detailed(words, options).argv._.length;
}
