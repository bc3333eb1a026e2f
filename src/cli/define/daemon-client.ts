/**
 * `poolsync status`, `poolsync sync` and `poolsync history`: a running daemon asked from the
 * command line (Argo CD's `app get` / `app sync` / `app history`, Flux's `reconcile`), at
 * `--daemon URL` with the admin token as `poolsync approve` takes it. The work is in
 * ../commands/daemon-client.ts.
 */
import type { Argv, CommandModule } from 'yargs';
import { processIo } from '../io.js';
import { adminTokenFileOption, daemonOption } from '../options.js';

export interface DaemonClientArgs {
  daemon: string;
  'admin-token-file'?: string;
  output: 'text' | 'json';
  env?: string;
  run?: number;
  wait: boolean;
}

const output = {
  type: 'string',
  choices: ['text', 'json'],
  default: 'text',
  describe: 'text, or the daemon’s own JSON',
} as const;

const env = {
  alias: 'e',
  type: 'string',
  describe: 'With environments: only this one',
} as const;

type Name = 'status' | 'sync' | 'history';

function handler(name: Name) {
  return async (args: DaemonClientArgs): Promise<void> => {
    const commands = await import('../commands/daemon-client.js');
    process.exitCode = await commands[name](args, processIo());
  };
}

export const statusCommand: CommandModule<object, DaemonClientArgs> = {
  command: 'status',
  describe: 'What a running daemon reports: outcome, commit, control plane, last run, held changes',
  builder: (y: Argv) =>
    y
      .option('daemon', daemonOption)
      .option('env', env)
      .option('output', output)
      .example(
        '$0 status --daemon http://poolsync:8080',
        'Is the control plane in sync?',
      ) as unknown as Argv<DaemonClientArgs>,
  handler: handler('status'),
};

export const syncCommand: CommandModule<object, DaemonClientArgs> = {
  command: 'sync',
  describe: 'Ask a running daemon to fetch and reconcile now, and show what the run did',
  builder: (y: Argv) =>
    y
      .option('daemon', daemonOption)
      .option('admin-token-file', adminTokenFileOption)
      .option('wait', {
        type: 'boolean',
        default: true,
        describe: 'Wait for the run and show its result (--no-wait: only ask)',
      })
      .option('output', output)
      .example(
        '$0 sync --daemon http://poolsync:8080',
        'Apply the newest commit now',
      ) as unknown as Argv<DaemonClientArgs>,
  handler: handler('sync'),
};

export const historyCommand: CommandModule<object, DaemonClientArgs> = {
  command: 'history [run]',
  describe: 'The runs a daemon kept (across restarts), or one run with its plan',
  builder: (y: Argv) =>
    y
      .positional('run', { type: 'number', describe: 'A run’s number: its plan' })
      .option('daemon', daemonOption)
      .option('env', env)
      .option('output', output)
      .example('$0 history --daemon http://poolsync:8080', 'The last runs, newest first')
      .example(
        '$0 history 12 --daemon http://poolsync:8080',
        'What run 12 planned',
      ) as unknown as Argv<DaemonClientArgs>,
  handler: handler('history'),
};
