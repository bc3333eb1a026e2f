/** What every command definition is (./index.ts lists them; ../run.ts gives them to yargs). */
import type { Argv } from 'yargs';
import type { Io } from '../io.js';

/** One command: its yargs definition (options from `env` where they default to it), its work. */
export interface Command<A = never> {
  command: string;
  describe: string;
  builder?: (y: Argv, env: NodeJS.ProcessEnv) => Argv;
  /** The work, loaded when the command runs: its exit code. */
  run?: (args: A, io: Io) => Promise<number>;
  /** A command of commands (`state list`): each one its own. */
  subcommands?: Command<never>[];
}
