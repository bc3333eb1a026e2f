/** `poolsync plan [DIR]`: its options; the work is in ../commands/plan.ts. */
import type { Options } from 'yargs';
import { pullRequestCommentOptions } from '../../vcs/comment-options.js';
import type { PlanArgs } from '../commands/plan.js';
import type { Command } from './command.js';
import {
  acceptCascadeOption,
  apiKeyFileOption,
  colorOption,
  configDirPositional,
  controlPlaneOption,
  inventoryOption,
  lockTimeoutOption,
  maxRetriesOption,
  planOutputOption,
  replaceOption,
  targetOption,
  tokenFileOption,
  envOption,
  wholeNumber,
} from '../options.js';

/**
 * Calls in flight while `plan` reads a network control plane: a plan only reads, and Union
 * answers each default-queue setting in a call of its own (docs/union.md, Round trips).
 */
const PLAN_PARALLELISM = 256;

/** plan's own options (the shared ones are in ../options.ts), in the order of its help. */
const OWN = {
  out: {
    type: 'string',
    describe: 'Also save the plan (JSON) to FILE, for `apply FILE` and `show FILE`',
  },
  'detailed-exitcode': {
    type: 'boolean',
    default: false,
    describe: 'Exit 0 when there is nothing to apply, 2 when there are changes, 1 on error',
  },
  'refresh-only': {
    type: 'boolean',
    default: false,
    describe:
      'Show only what changed on the control plane since the last apply (drift), proposing nothing',
  },
  parallelism: {
    type: 'string',
    coerce: wholeNumber('parallelism', 1),
    default: PLAN_PARALLELISM,
    describe:
      'Most calls to a network control plane in flight while reading (lowered while it throttles); Union reads one default-queue setting per call',
  },
  'lock-timeout': {
    ...lockTimeoutOption,
    describe:
      "Accepted as Terraform's plan takes it: a plan takes no lock (it only reads), so it never waits",
  },
  'state-dir': {
    type: 'string',
    default: '.poolsync',
    describe:
      'Where apply recorded the last applied state of an HTTP control plane (--refresh-only), and the inventory of a control plane that cannot keep it (Union, flyteadmin)',
  },
  lock: {
    type: 'string',
    describe:
      'The --lock of the apply this plan is for (env POOLSYNC_LOCK): a plan takes no lock, but reads the inventory kept beside that Lease (see --inventory)',
  },
} satisfies Record<string, Options>;

const EXAMPLES: [string, string][] = [
  ['$0 plan examples/config-repo', 'Plan the example against the local embedded control plane'],
  ['$0 plan . --out plan.json && $0 apply plan.json', 'Review, then apply exactly that plan'],
  ['$0 plan . --target Cluster/prod-1', 'A partial plan: one cluster and what it needs'],
  ['$0 plan . --replace Cluster/prod-1', 'Plan deleting and registering a cluster again'],
  ['$0 plan --refresh-only', 'What changed on the control plane since the last apply'],
  [
    '$0 plan . --output markdown --detailed-exitcode',
    'In CI: a PR comment, and exit 2 when something would change',
  ],
];

export const plan: Command<PlanArgs> = {
  command: 'plan [dir]',
  describe: 'Show what apply would change on the control plane, without changing anything',
  builder: (yargs, env) =>
    yargs
      .positional('dir', configDirPositional)
      .option('env', envOption(true))
      .option('control-plane', controlPlaneOption(env))
      .option('token-file', tokenFileOption)
      .option('api-key-file', apiKeyFileOption)
      .option('max-retries', maxRetriesOption)
      .option('parallelism', OWN.parallelism)
      .option('output', planOutputOption)
      .option('out', OWN.out)
      .option('detailed-exitcode', OWN['detailed-exitcode'])
      .option('color', colorOption())
      .option('target', targetOption)
      .option('replace', replaceOption)
      .option('accept-cascade', acceptCascadeOption)
      .option('refresh-only', OWN['refresh-only'])
      .option('lock-timeout', OWN['lock-timeout'])
      .option('state-dir', OWN['state-dir'])
      .option('lock', OWN.lock)
      .option('inventory', inventoryOption)
      .options(pullRequestCommentOptions)
      .example(EXAMPLES),
  run: async (args, io) => (await import('../commands/plan.js')).plan(args, io),
};
