/** `poolsync export --dir DIR`: its options; the work is in ../commands/export.ts. */
import type { Argv, CommandModule } from 'yargs';
import {
  apiKeyFileOption,
  controlPlaneOption,
  inventoryOption,
  inventoryStateDirOption,
  tokenFileOption,
  configDirOption,
  envOption,
} from '../options.js';

export interface ExportArgs {
  env?: string;
  'config-dir'?: string;
  'control-plane': string;
  dir: string;
  'token-file'?: string;
  'api-key-file'?: string;
  force: boolean;
  'state-dir': string;
  inventory?: string;
}

export const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: 'Write the live control-plane state as manifests (to adopt poolsync)',
  builder: (y: Argv) =>
    y
      .option('env', envOption(false))
      .option('config-dir', configDirOption)
      .option('control-plane', controlPlaneOption)
      .option('dir', {
        type: 'string',
        // Required: writing into whatever folder the shell is in scattered four folders there.
        demandOption: 'name the folder to write into, e.g. --dir ./config (created if missing)',
        describe: 'Folder to write pools/, clusters/, queues/, assignments/ into (required)',
      })
      .option('token-file', tokenFileOption)
      .option('api-key-file', apiKeyFileOption)
      .option('state-dir', inventoryStateDirOption)
      .option('inventory', inventoryOption)
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'Overwrite manifest files that already exist',
      })
      .example(
        '$0 export --control-plane https://cp.example.com --dir ./config',
        'adopt an existing organisation',
      ) as Argv<ExportArgs>,
  handler: async (args) => (await import('../commands/export.js')).exportTo(args),
};
