/**
 * Every command of the CLI: what it is called, what it takes and what it says in `--help`.
 * These modules import no command's work: each handler loads its module in ../commands/ when
 * it runs, so `--help`, completion and an unknown command load none of them, and a command
 * loads only its own. A new option shared by several commands belongs in ../options.ts.
 */
import type { CommandModule } from 'yargs';
import { applyCommand } from './apply.js';
import { approveCommand } from './approve.js';
import { checkCommand } from './check.js';
import { completionCommand } from './completion.js';
import { controlPlaneCommand } from './control-plane.js';
import { daemonCommand } from './daemon.js';
import { historyCommand, statusCommand, syncCommand } from './daemon-client.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { initCommand } from './init.js';
import { planCommand } from './plan.js';
import { promoteCommand } from './promote.js';
import { renderCommand } from './render.js';
import { showCommand } from './show.js';
import { stateCommand } from './state.js';
import { validateCommand } from './validate.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<any, any>;

/** By name, in the order `--help` lists them. */
export const COMMANDS: Record<string, AnyCommand> = {
  init: initCommand,
  validate: validateCommand,
  check: checkCommand,
  plan: planCommand,
  apply: applyCommand,
  promote: promoteCommand,
  show: showCommand,
  state: stateCommand,
  render: renderCommand,
  export: exportCommand,
  import: importCommand,
  daemon: daemonCommand,
  status: statusCommand,
  sync: syncCommand,
  history: historyCommand,
  approve: approveCommand,
  'control-plane': controlPlaneCommand,
  completion: completionCommand,
};
