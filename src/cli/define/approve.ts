/** `poolsync approve [FINGERPRINT]`: its options; the work is in ../commands/approve.ts. */
import type { Argv, CommandModule } from 'yargs';
import { adminTokenFileOption, daemonOption } from '../options.js';

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
      .option('daemon', daemonOption)
      .option('admin-token-file', adminTokenFileOption)
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
