/** `poolsync apply [DIR|PLANFILE]`: its options; the work is in ../commands/apply.ts. */
import type { Options } from 'yargs';
import { DEFAULT_PARALLELISM, FILE_PARALLELISM } from '../../apply/types.js';
import {
  acceptCascadeOption,
  apiKeyFileOption,
  colorOption,
  controlPlaneOption,
  inventoryOption,
  lockTimeoutOption,
  maxRetriesOption,
  replaceOption,
  STATE_DIR,
  targetOption,
  tokenFileOption,
  wholeNumber,
  configDirOption,
  envOption,
} from '../options.js';
import type { ApplyArgs } from '../commands/apply.js';
import type { Command } from './command.js';

/** apply's own options (the shared ones are in ../options.ts), in the order of its help. */
const OWN = {
  'auto-approve': {
    type: 'boolean',
    default: false,
    describe: 'Apply without asking for confirmation',
  },
  parallelism: {
    type: 'string',
    coerce: wholeNumber('parallelism', 1),
    describe: `Most steps running at once (default ${DEFAULT_PARALLELISM}; ${FILE_PARALLELISM} for a file: control plane, whose calls share fsyncs)`,
  },
  'wait-timeout': {
    type: 'string',
    default: '30m',
    describe: 'How long to wait for in-flight work before deleting a cluster (e.g. 90s, 30m, 1h)',
  },
  'state-dir': {
    type: 'string',
    default: STATE_DIR,
    describe:
      'Where apply locks and the last applied state of HTTP control planes are kept (file: ones: beside the state file)',
  },
  lock: {
    type: 'string',
    describe:
      'k8s:NAMESPACE/NAME: hold this Kubernetes Lease while applying, for control planes with no apply lock of their own (env POOLSYNC_LOCK)',
  },
  'flyte-cli': {
    type: 'string',
    describe:
      'Run the manual steps (no public API) with this flyte CLI binary instead of stopping at them',
  },
  output: {
    alias: 'o',
    choices: ['text', 'json'] as const,
    default: 'text' as const,
    describe:
      'text: the plan, progress and summary; json: one document on stdout when done (progress on stderr)',
  },
} satisfies Record<string, Options>;

const EXAMPLES: [string, string][] = [
  ['$0 apply . --target Cluster/prod-1', 'Apply one cluster and what it depends on'],
  ['$0 apply . --replace Cluster/prod-1', 'Delete and register a cluster again'],
];

export const apply: Command<ApplyArgs> = {
  command: 'apply [path]',
  describe: 'Apply the changes of a config repository (DIR) or of a saved JSON plan (PLANFILE)',
  builder: (y, env) =>
    y
      .positional('path', {
        type: 'string',
        default: '.',
        describe:
          'A config repository folder, or a plan saved with `plan --output json --out FILE`',
      })
      .option('env', envOption(false))
      .option('config-dir', configDirOption)
      .option('control-plane', controlPlaneOption(env))
      .option('auto-approve', OWN['auto-approve'])
      .option('parallelism', OWN.parallelism)
      .option('wait-timeout', OWN['wait-timeout'])
      .option('lock-timeout', lockTimeoutOption)
      .option('max-retries', maxRetriesOption)
      .option('token-file', tokenFileOption)
      .option('api-key-file', apiKeyFileOption)
      .option('state-dir', OWN['state-dir'])
      .option('lock', OWN.lock)
      .option('inventory', inventoryOption)
      .option('flyte-cli', OWN['flyte-cli'])
      .option('color', colorOption('the output'))
      .option('output', OWN.output)
      .option('target', targetOption)
      .option('replace', replaceOption)
      .option('accept-cascade', acceptCascadeOption)
      .example(EXAMPLES),
  run: async (args, io) => (await import('../commands/apply.js')).apply(args, io),
};
