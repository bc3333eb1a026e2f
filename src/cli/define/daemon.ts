/** `poolsync daemon`: its options (one per daemon setting); the work is in ../commands/daemon.ts. */
import type { Options } from 'yargs';
import { OPTIONS } from '../../daemon/config-options.js';
import { notifyOptions } from '../../notify/config.js';
import type { DaemonArgs } from '../commands/daemon.js';
import type { Command } from './command.js';

export const daemon: Command<DaemonArgs> = {
  command: 'daemon',
  describe:
    'Run the GitOps reconciler: follow a Git branch (or watch a folder), plan and apply changes, serve /status and /metrics',
  builder: (yargs) => {
    let y = yargs
      .option('config', {
        type: 'string',
        describe: 'YAML file of settings (keys are the flag names); flags and env win over it',
      })
      .option('quickstart', {
        type: 'boolean',
        describe:
          'Demo: embedded control plane (file:.poolsync/control-plane.json), watch examples/config-repo, policy all, print each applied plan, serve on 127.0.0.1:8080 (or --listen / POOLSYNC_LISTEN)',
      });
    for (const opt of OPTIONS) {
      const o: Options = {
        type: opt.kind === 'bool' ? 'boolean' : 'string',
        describe: `${opt.describe} [env ${opt.env}]`,
        group: 'Daemon settings:',
      };
      if (opt.default !== undefined) o.defaultDescription = String(opt.default);
      if (opt.choices) o.choices = [...opt.choices];
      y = y.option(opt.name, o);
    }
    return y
      .options(notifyOptions)
      .example('$0 daemon --quickstart', 'Local demo on the embedded control plane')
      .example(
        'POOLSYNC_GITHUB_WEBHOOK_SECRET_FILE=/run/secrets/gh $0 daemon --repo https://github.com/acme/pools.git --control-plane https://cp.example.com',
        'Follow main of a repository and apply it to a control plane',
      )
      .example('$0 daemon --watch ./pools --policy none', 'Plan every change of a folder on disk');
  },
  run: async (args, io) => (await import('../commands/daemon.js')).daemon(args, io),
};
