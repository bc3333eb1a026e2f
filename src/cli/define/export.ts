/**
 * `poolsync export --dir DIR` and `poolsync import ADDRESS`: their options; the work of both
 * is in ../commands/export.ts.
 */
import type { ExportArgs, ImportArgs } from '../commands/export.js';
import {
  apiKeyFileOption,
  controlPlaneOption,
  inventoryOption,
  inventoryStateDirOption,
  tokenFileOption,
  configDirOption,
  envOption,
} from '../options.js';
import type { Command } from './command.js';

export const exportCommand: Command<ExportArgs> = {
  command: 'export',
  describe: 'Write the live control-plane state as manifests (to adopt poolsync)',
  builder: (y, env) =>
    y
      .option('env', envOption(false))
      .option('config-dir', configDirOption)
      .option('control-plane', controlPlaneOption(env))
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
      ),
  run: async (args, io) => (await import('../commands/export.js')).exportTo(args, io),
};

export const importCommand: Command<ImportArgs> = {
  command: 'import <address>',
  describe: 'Write one live object (Kind/name) as a manifest in the config repository',
  builder: (y, env) =>
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
      .option('control-plane', controlPlaneOption(env))
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
      ),
  run: async (args, io) => (await import('../commands/export.js')).importObject(args, io),
};
