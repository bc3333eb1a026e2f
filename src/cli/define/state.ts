/**
 * `poolsync state list|show|forget` (Terraform's `state list` / `show` / `rm`): what poolsync
 * manages on a control plane (its inventory) with each object's live status, and forgetting
 * an object without deleting it. The control plane is chosen as `plan` chooses it (--env,
 * --control-plane). The work is in ../commands/state.ts.
 */
import type { Argv } from 'yargs';
import type { StateArgs } from '../commands/state.js';
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
import type { Command } from './command.js';

function options(y: Argv, env: NodeJS.ProcessEnv): Argv {
  return y
    .positional('dir', configDirPositional)
    .option('env', envOption(false))
    .option('control-plane', controlPlaneOption(env))
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

function run(name: 'list' | 'show' | 'forget'): Command<StateArgs>['run'] {
  return async (args, io) => (await import('../commands/state.js'))[name](args, io);
}

const list: Command<StateArgs> = {
  command: 'list [dir]',
  describe: 'What poolsync manages on the control plane (its inventory), with live status',
  builder: options,
  run: run('list'),
};

const show: Command<StateArgs> = {
  command: 'show <address> [dir]',
  describe: 'One managed object: its live fields and status',
  builder: (y, env) => options(y.positional('address', address), env),
  run: run('show'),
};

const forget: Command<StateArgs> = {
  command: 'forget <address> [dir]',
  describe:
    'Take an object out of management without deleting it: nothing is sent, and no later prune deletes it',
  builder: (y, env) => options(y.positional('address', address), env),
  run: run('forget'),
};

export const state: Command = {
  command: 'state',
  describe: 'What poolsync manages: list, show, forget',
  subcommands: [list, show, forget],
  builder: (y) =>
    y
      .demandCommand(
        1,
        'Name a subcommand: `poolsync state list`, `state show ADDRESS` or `state forget ADDRESS`.',
      )
      .example('$0 state list', 'Everything poolsync applied here, and how it is now')
      .example('$0 state forget Queue/legacy', 'Leave Queue/legacy alone from now on'),
};
