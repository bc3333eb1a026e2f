/**
 * `poolsync state list|show|forget` (Terraform's `state list` / `show` / `rm`): what poolsync
 * manages on a control plane (its inventory) with each object's live status, and forgetting
 * an object without deleting it. The control plane is chosen as `plan` chooses it (--env,
 * --control-plane). The work is in ../commands/state.ts.
 */
import type { Argv, CommandModule } from 'yargs';
import type { PlanArgs } from './plan.js';
import { processIo } from '../io.js';
import {
  apiKeyFileOption,
  configDirPositional,
  controlPlaneOption,
  envOption,
  inventoryOption,
  inventoryStateDirOption,
  maxRetriesOption,
  tokenFileOption,
} from '../options.js';

/** As `plan` picks its control plane, with its credentials and inventory. */
export interface StateArgs extends Pick<
  PlanArgs,
  | 'dir'
  | 'env'
  | 'control-plane'
  | 'token-file'
  | 'api-key-file'
  | 'max-retries'
  | 'state-dir'
  | 'lock'
  | 'inventory'
> {
  address?: string;
  output: 'text' | 'json';
}

function options(y: Argv): Argv {
  return y
    .positional('dir', configDirPositional)
    .option('env', envOption(false))
    .option('control-plane', controlPlaneOption)
    .option('token-file', tokenFileOption)
    .option('api-key-file', apiKeyFileOption)
    .option('max-retries', maxRetriesOption)
    .option('state-dir', inventoryStateDirOption)
    .option('lock', {
      type: 'string',
      describe: 'The --lock of your applies (env POOLSYNC_LOCK): the inventory is kept beside it',
    })
    .option('inventory', inventoryOption)
    .option('output', {
      alias: 'o',
      type: 'string',
      choices: ['text', 'json'],
      default: 'text',
      describe: 'text, or JSON',
    });
}

const address = {
  type: 'string',
  demandOption: true,
  describe: 'Kind/name, e.g. Queue/training',
} as const;

function handler(name: 'list' | 'show' | 'forget') {
  return async (args: StateArgs): Promise<void> => {
    const commands = await import('../commands/state.js');
    process.exitCode = await commands[name](args, processIo());
  };
}

const list: CommandModule<object, StateArgs> = {
  command: 'list [dir]',
  describe: 'What poolsync manages on the control plane (its inventory), with live status',
  builder: (y) => options(y) as unknown as Argv<StateArgs>,
  handler: handler('list'),
};

const show: CommandModule<object, StateArgs> = {
  command: 'show <address> [dir]',
  describe: 'One managed object: its live fields and status',
  builder: (y) => options(y.positional('address', address)) as unknown as Argv<StateArgs>,
  handler: handler('show'),
};

const forget: CommandModule<object, StateArgs> = {
  command: 'forget <address> [dir]',
  describe:
    'Take an object out of management without deleting it: nothing is sent, and no later prune deletes it',
  builder: (y) => options(y.positional('address', address)) as unknown as Argv<StateArgs>,
  handler: handler('forget'),
};

export const stateCommand: CommandModule<object, object> = {
  command: 'state',
  describe: 'What poolsync manages: list, show, forget',
  builder: (y: Argv) =>
    y
      .command(list)
      .command(show)
      .command(forget)
      .demandCommand(
        1,
        'Name a subcommand: `poolsync state list`, `state show ADDRESS` or `state forget ADDRESS`.',
      )
      .example('$0 state list', 'Everything poolsync applied here, and how it is now')
      .example('$0 state forget Queue/legacy', 'Leave Queue/legacy alone from now on'),
  handler: () => undefined,
};
