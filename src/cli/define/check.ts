/** `poolsync check [DIR]`: its options; the work is in ../commands/check.ts. */
import type { CheckArgs } from '../commands/check.js';
import {
  apiKeyFileOption,
  controlPlaneOption,
  maxRetriesOption,
  tokenFileOption,
} from '../options.js';
import type { Command } from './command.js';

export const check: Command<CheckArgs> = {
  command: 'check [dir]',
  describe:
    'Check the setup before the first plan: the config folder, the control plane’s endpoint and credentials, and what poolsync may do there per kind',
  builder: (y, env) =>
    y
      .positional('dir', {
        type: 'string',
        default: '.',
        describe: 'Config folder to validate too',
      })
      .option('control-plane', controlPlaneOption(env))
      .option('token-file', tokenFileOption)
      .option('api-key-file', apiKeyFileOption)
      .option('max-retries', { ...maxRetriesOption, default: 0 })
      .option('probe', {
        type: 'boolean',
        default: true,
        describe:
          'Read every kind the control plane manages (reads only, never writes); --no-probe checks the folder, the URL and that the credentials can be read',
      })
      .example(
        '$0 check pools --control-plane union+https://acme.hosted.unionai.cloud --api-key-file key',
        'Before the first plan against Union',
      ),
  run: async (args, io) => (await import('../commands/check.js')).check(args, io),
};
