/**
 * Every command of the CLI: what it is called, what it takes and what it says in `--help`.
 * These modules import no command's work: each command's `run` loads its module in
 * ../commands/ when it runs, so `--help`, completion and an unknown command load none of them,
 * and a command loads only its own. A new option shared by several commands belongs in
 * ../options.ts.
 */
import type { Command } from './command.js';
import { apply } from './apply.js';
import { check } from './check.js';
import { completion } from './completion.js';
import { controlPlane } from './control-plane.js';
import { daemon } from './daemon.js';
import { approve, history, status, sync } from './daemon-client.js';
import { exportCommand, importCommand } from './export.js';
import { init } from './init.js';
import { plan } from './plan.js';
import { promote } from './promote.js';
import { render } from './render.js';
import { show } from './show.js';
import { state } from './state.js';
import { validate } from './validate.js';

/** By name, in the order `--help` lists them. */
export const COMMANDS: Record<string, Command> = {
  init,
  validate,
  check,
  plan,
  apply,
  promote,
  show,
  state,
  render,
  export: exportCommand,
  import: importCommand,
  daemon,
  status,
  sync,
  history,
  approve,
  'control-plane': controlPlane,
  completion,
};
