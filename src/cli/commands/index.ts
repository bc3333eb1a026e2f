import type { CommandModule } from 'yargs';
import { controlPlaneCommand } from './control-plane.js';
import { validateCommand } from './validate.js';

/** Every command of the CLI; each lives in its own module beside this one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [controlPlaneCommand, validateCommand];
