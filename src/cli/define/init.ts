/** `poolsync init [DIR] [--from-live]`: its options; the work is in ../commands/init.ts. */
import type { InitArgs } from '../commands/init.js';
import {
  apiKeyFileOption,
  controlPlaneOption,
  inventoryStateDirOption,
  tokenFileOption,
} from '../options.js';
import type { Command } from './command.js';

export const init: Command<InitArgs> = {
  command: 'init [dir]',
  describe:
    'Start a config repository: a commented poolsync.yaml, and with --from-live the manifests of what the control plane holds',
  builder: (y, env) =>
    y
      .positional('dir', {
        type: 'string',
        default: '.',
        describe: 'Folder to start it in (created if missing; must have no poolsync.yaml)',
      })
      .option('from-live', {
        type: 'boolean',
        default: false,
        describe:
          'Also write the control plane’s pools, clusters, queues and assignments as manifests (as `poolsync export`), so the first plan shows no changes',
      })
      .option('control-plane', controlPlaneOption(env))
      .option('token-file', tokenFileOption)
      .option('api-key-file', apiKeyFileOption)
      .option('state-dir', inventoryStateDirOption)
      .example('$0 init pools', 'A new, empty config repository in ./pools')
      .example(
        '$0 init pools --from-live --control-plane union+https://acme.hosted.unionai.cloud',
        'Adopt what an organisation already has',
      ),
  run: async (args, io) => (await import('../commands/init.js')).init(args, io),
};
