/** The daemon client commands' arguments (`status`, `sync`, `rollback`, …) as yargs gives them: text output, waiting for the run. */
import type { DaemonClientArgs } from '../../src/cli/define.js';

export const daemonClientArgs = (
  url: string,
  over: Partial<DaemonClientArgs> = {},
): DaemonClientArgs => ({ daemon: url, output: 'text', wait: true, ...over });
