/** `poolsync validate [DIR]`: its options; the work is in ../commands/validate.ts. */
import type { ValidateArgs } from '../commands/validate.js';
import { configDirPositional, envOption } from '../options.js';
import type { Command } from './command.js';

export const validate: Command<ValidateArgs> = {
  command: 'validate [dir]',
  describe:
    'Check the manifests of a config folder and report every error with its file:line:column',
  builder: (yargs) =>
    yargs
      .positional('dir', configDirPositional)
      .option('env', {
        ...envOption(true),
        describe: `${envOption(true).describe} (default: all of them)`,
      })
      .option('output', {
        alias: 'o',
        choices: ['text', 'json'] as const,
        default: 'text' as const,
        describe: 'text: one line per error; json: {valid, errors, counts}',
      })
      .example('$0 validate examples/config-repo', 'Validate the bundled example')
      .example('$0 validate . --output json', 'Machine-readable result for CI'),
  run: async (args, io) => (await import('../commands/validate.js')).validate(args, io),
};
