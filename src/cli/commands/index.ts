import type { CommandModule } from 'yargs';
import { applyCommand } from './apply.js';
import { controlPlaneCommand } from './control-plane.js';
import { daemonCommand } from './daemon.js';
import { exportCommand } from './export.js';
import { planCommand } from './plan.js';
import { showCommand } from './show.js';
import { validateCommand } from './validate.js';

/** Every command of the CLI; each lives in its own module beside this one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  applyCommand,
  controlPlaneCommand,
  daemonCommand,
  exportCommand,
  planCommand,
  showCommand,
  validateCommand,
];
