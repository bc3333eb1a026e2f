/** `poolsync approve [FINGERPRINT]`: its options; the work is in ../commands/approve.ts. */
import type { Argv, CommandModule } from 'yargs';

export interface ApproveArgs {
  fingerprint?: string;
  daemon: string;
  'admin-token-file'?: string;
  as?: string;
}

export const approveCommand: CommandModule<object, ApproveArgs> = {
  command: 'approve [fingerprint]',
  describe:
    'Approve the destructive changes a daemon holds under policy safe (exactly their fingerprint)',
  builder: (y: Argv) =>
    y
      .positional('fingerprint', {
        type: 'string',
        describe: 'sha256:… of the held changes (GET /status approval.pending); omit to see them',
      })
      .option('daemon', {
        type: 'string',
        default: process.env.POOLSYNC_DAEMON_URL ?? 'http://127.0.0.1:8080',
        describe:
          'The daemon: any replica with --leader-elect (a follower hands the approval to the leader) (env POOLSYNC_DAEMON_URL)',
      })
      .option('admin-token-file', {
        type: 'string',
        describe:
          'File holding the daemon admin token (or env POOLSYNC_ADMIN_TOKEN_FILE / POOLSYNC_ADMIN_TOKEN)',
      })
      .option('as', {
        type: 'string',
        describe: 'Approver name recorded in /status and the run log (default: user@host)',
      })
      .example('$0 approve --daemon http://poolsync:8080', 'Show what waits for approval')
      .example(
        '$0 approve sha256:3f… --daemon http://poolsync:8080',
        'Approve exactly those changes',
      ) as Argv<ApproveArgs>,
  handler: async (args) => (await import('../commands/approve.js')).approve(args),
};
