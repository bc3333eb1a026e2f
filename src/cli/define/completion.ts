/**
 * `poolsync completion bash|zsh|fish`: prints the shell's completion script, from yargs's own
 * templates (yargs 18 has bash, zsh and fish). The script asks `poolsync
 * --get-yargs-completions …` for candidates: commands, options and their choices, and file
 * names where a path goes (completesPath, asked by run.ts). Only yargs is needed: the work is
 * here, not in ../commands/.
 */
import yargs, { type Argv } from 'yargs';
import type { Command } from './command.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

const INSTALL: Record<Shell, string> = {
  bash: 'poolsync completion bash >> ~/.bashrc   (or: source <(poolsync completion bash))',
  zsh: 'poolsync completion zsh > "${fpath[1]}/_poolsync"   (or append it to ~/.zshrc)',
  fish: 'poolsync completion fish > ~/.config/fish/completions/poolsync.fish',
};

export const completion: Command<{ shell: Shell }> = {
  command: 'completion <shell>',
  describe: 'Print the shell completion script for bash, zsh or fish',
  builder: (y) =>
    y
      .positional('shell', { choices: SHELLS, describe: 'The shell' })
      .example('source <(poolsync completion bash)', 'Completion in this bash session')
      .example(
        'poolsync completion fish > ~/.config/fish/completions/poolsync.fish',
        'Install for fish',
      )
      .epilog(`Install:\n  ${SHELLS.map((s) => INSTALL[s]).join('\n  ')}`),
  run: (args, io) => {
    const y = yargsUnder({ SHELL: `/bin/${args.shell}` }, []).scriptName('poolsync');
    // The script goes to the logger (console.log): collect it instead.
    let out = '';
    const log = console.log;
    console.log = (text: string) => (out += `${text}\n`);
    try {
      // @types/yargs 17 omits the parameters yargs 18 takes ($0, the command named in the comment).
      (y.showCompletionScript as ($0: string, cmd: string) => unknown)(
        'poolsync',
        `completion ${args.shell}`,
      );
    } finally {
      console.log = log;
    }
    io.stdout.write(out);
    return Promise.resolve(0);
  },
};

/**
 * A yargs instance made under `env`'s shell: yargs reads the format of its completion script
 * and answers (bash, zsh, fish) from SHELL and ZSH_NAME when an instance is made.
 */
export function yargsUnder(env: NodeJS.ProcessEnv, argv: string[]): Argv {
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

/** Options whose value is a path: after them the shell should complete file names. */
const PATH_OPTION = /^--(out|dir|state|state-dir|config|watch|flyte-cli|[a-z-]+-file)$/;
/** Commands whose first positional is a path (a folder or a plan file). */
const PATH_COMMANDS = new Set(['plan', 'apply', 'show', 'validate', 'export']);

/**
 * True when the word being completed is a path: the value of a path option (`--out ▮`), or a
 * command's path positional (`show ▮`). The answer is then empty, and the bash and zsh scripts
 * fall back to completing file names (their templates do on an empty answer).
 * `words` are the command line after the program name, the last being completed.
 */
export function completesPath(words: readonly string[]): boolean {
  const current = words.at(-1) ?? '';
  const previous = words.length >= 2 ? words[words.length - 2]! : null;
  if (previous !== null && PATH_OPTION.test(previous)) return true;
  // After another option, its choices (or the options) are what yargs offers.
  if (previous !== null && previous.startsWith('-')) return false;
  if (current.startsWith('-')) return false;
  const command = words.find((w) => !w.startsWith('-'));
  return words.length >= 2 && command !== undefined && PATH_COMMANDS.has(command);
}
