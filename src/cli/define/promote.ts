/** `poolsync promote FROM [DIR]`: its options; the work is in ../commands/promote.ts. */
import type { PromoteArgs } from '../commands/promote.js';
import {
  apiKeyFileOption,
  colorOption,
  configDirPositional,
  maxRetriesOption,
  STATE_DIR,
  tokenFileOption,
} from '../options.js';
import type { Command } from './command.js';

export const promote: Command<PromoteArgs> = {
  command: 'promote <from> [dir]',
  describe:
    "Show what promoting an environment's own manifests to the next environment would plan there (docs/environments.md)",
  builder: (yargs) =>
    yargs
      .positional('from', {
        type: 'string',
        demandOption: true,
        describe: 'The environment whose own folder is promoted',
      })
      .positional('dir', configDirPositional)
      .option('to', {
        type: 'string',
        requiresArg: true,
        describe: 'The environment promoted to (default: the promotesTo of FROM in poolsync.yaml)',
      })
      .option('write', {
        type: 'boolean',
        default: false,
        describe: "Also make the change: copy the manifests into the next environment's folder",
      })
      .option('detailed-exitcode', {
        type: 'boolean',
        default: false,
        describe: 'Exit 0 when promoting changes nothing, 2 when it would, 1 on error',
      })
      .option('output', {
        alias: 'o',
        choices: ['text', 'markdown'] as const,
        default: 'text' as const,
        describe: 'text, or markdown for a pull-request comment',
      })
      .option('color', colorOption())
      .option('max-retries', maxRetriesOption)
      .option('token-file', {
        ...tokenFileOption,
        describe: "The next environment's token file, over its tokenFile in poolsync.yaml",
      })
      .option('api-key-file', {
        ...apiKeyFileOption,
        describe: "The next environment's Union API key file, over its apiKeyFile in poolsync.yaml",
      })
      .option('state-dir', {
        type: 'string',
        default: STATE_DIR,
        describe: 'Where the inventory of a control plane that cannot keep it is kept',
      })
      .example('$0 promote staging', 'What promoting staging to production would plan there')
      .example(
        '$0 promote staging --write',
        'Make the change (then commit it and open a pull request)',
      ),
  run: async (args, io) => (await import('../commands/promote.js')).promote(args, io),
};
