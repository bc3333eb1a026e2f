/** `poolsync import ADDRESS`: its options; the work is in ../commands/import.ts. */
import type { Argv, CommandModule } from 'yargs';
import {
  controlPlaneOption,
  inventoryOption,
  inventoryStateDirOption,
  tokenFileOption,
} from '../options.js';

export interface ImportArgs {
  address: string;
  dir: string;
  'control-plane': string;
  'token-file'?: string;
  force: boolean;
  'state-dir': string;
  inventory?: string;
}

export const importCommand: CommandModule<object, ImportArgs> = {
  command: 'import <address>',
  describe: 'Write one live object (Kind/name) as a manifest in the config repository',
  builder: (y: Argv) =>
    y
      .positional('address', {
        type: 'string',
        describe: 'Kind/name, e.g. Cluster/prod-1, Queue/batch, PoolAssignment/project/domain',
      })
      .option('dir', {
        type: 'string',
        default: '.',
        describe: 'Config folder to write the manifest into (<kind folder>/<name>.yaml)',
      })
      .option('control-plane', controlPlaneOption)
      .option('token-file', tokenFileOption)
      .option('state-dir', inventoryStateDirOption)
      .option('inventory', inventoryOption)
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'Overwrite the manifest file when it exists',
      })
      .example('$0 import Cluster/legacy-1 --dir ./config', 'Adopt one unmanaged cluster')
      .example(
        '$0 import PoolAssignment/flytesnacks/development',
        'Adopt one assignment (project/domain[/workflow])',
      ) as unknown as Argv<ImportArgs>,
  handler: async (args) => (await import('../commands/import.js')).importObject(args),
};
