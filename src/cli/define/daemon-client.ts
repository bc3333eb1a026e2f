/**
 * `poolsync status`, `poolsync sync`, `poolsync history` and `poolsync approve`: a running
 * daemon asked from the command line (Argo CD's `app get` / `app sync` / `app history`, Flux's
 * `reconcile`), at `--daemon URL` with the daemon admin token. The work is in
 * ../commands/daemon-client.ts.
 */
import type { DaemonClientArgs } from '../commands/daemon-client.js';
import { adminTokenFileOption, daemonOption } from '../options.js';
import type { Command } from './command.js';

const output = {
  type: 'string',
  choices: ['text', 'json'],
  default: 'text',
  describe: 'text, or the daemon’s own JSON',
} as const;

const oneEnvironment = {
  alias: 'e',
  type: 'string',
  describe: 'With environments: only this one',
} as const;

function run(name: 'status' | 'sync' | 'history' | 'approve'): Command<DaemonClientArgs>['run'] {
  return async (args, io) => (await import('../commands/daemon-client.js'))[name](args, io);
}

export const status: Command<DaemonClientArgs> = {
  command: 'status',
  describe: 'What a running daemon reports: outcome, commit, control plane, last run, held changes',
  builder: (y, env) =>
    y
      .option('daemon', daemonOption(env))
      .option('env', oneEnvironment)
      .option('output', output)
      .example('$0 status --daemon http://poolsync:8080', 'Is the control plane in sync?'),
  run: run('status'),
};

export const sync: Command<DaemonClientArgs> = {
  command: 'sync',
  describe: 'Ask a running daemon to fetch and reconcile now, and show what the run did',
  builder: (y, env) =>
    y
      .option('daemon', daemonOption(env))
      .option('admin-token-file', adminTokenFileOption)
      .option('wait', {
        type: 'boolean',
        default: true,
        describe: 'Wait for the run and show its result (--no-wait: only ask)',
      })
      .option('output', output)
      .example('$0 sync --daemon http://poolsync:8080', 'Apply the newest commit now'),
  run: run('sync'),
};

export const history: Command<DaemonClientArgs> = {
  command: 'history [run]',
  describe: 'The runs a daemon kept (across restarts), or one run with its plan',
  builder: (y, env) =>
    y
      .positional('run', { type: 'number', describe: 'A run’s number: its plan' })
      .option('daemon', daemonOption(env))
      .option('env', oneEnvironment)
      .option('output', output)
      .example('$0 history --daemon http://poolsync:8080', 'The last runs, newest first')
      .example('$0 history 12 --daemon http://poolsync:8080', 'What run 12 planned'),
  run: run('history'),
};

export const approve: Command<DaemonClientArgs> = {
  command: 'approve [fingerprint]',
  describe:
    'Approve the destructive changes a daemon holds under policy safe (exactly their fingerprint)',
  builder: (y, env) =>
    y
      .positional('fingerprint', {
        type: 'string',
        describe: 'sha256:… of the held changes (GET /status approval.pending); omit to see them',
      })
      .option('daemon', daemonOption(env))
      .option('admin-token-file', adminTokenFileOption)
      .option('as', {
        type: 'string',
        describe: 'Approver name recorded in /status and the run log (default: user@host)',
      })
      .example('$0 approve --daemon http://poolsync:8080', 'Show what waits for approval')
      .example(
        '$0 approve sha256:3f… --daemon http://poolsync:8080',
        'Approve exactly those changes',
      ),
  run: run('approve'),
};
