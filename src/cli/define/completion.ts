/**
 * `poolsync completion bash|zsh|fish`: its options, and what the shell completes with file
 * names (main.ts asks completesPath on every `--get-yargs-completions`); the script itself is
 * made in ../commands/completion.ts.
 */
import type { Argv, CommandModule } from 'yargs';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const INSTALL: Record<Shell, string> = {
  bash: 'poolsync completion bash >> ~/.bashrc   (or: source <(poolsync completion bash))',
  zsh: 'poolsync completion zsh > "${fpath[1]}/_poolsync"   (or append it to ~/.zshrc)',
  fish: 'poolsync completion fish > ~/.config/fish/completions/poolsync.fish',
};

export interface CompletionArgs {
  shell: Shell;
}

export const completionCommand: CommandModule<object, CompletionArgs> = {
  command: 'completion <shell>',
  describe: 'Print the shell completion script for bash, zsh or fish',
  builder: (y: Argv) =>
    y
      .positional('shell', { choices: SHELLS, describe: 'The shell' })
      .example('source <(poolsync completion bash)', 'Completion in this bash session')
      .example(
        'poolsync completion fish > ~/.config/fish/completions/poolsync.fish',
        'Install for fish',
      )
      .epilog(`Install:\n  ${SHELLS.map((s) => INSTALL[s]).join('\n  ')}`) as Argv<CompletionArgs>,
  handler: async (args) => (await import('../commands/completion.js')).completion(args),
};

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
