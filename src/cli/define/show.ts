/** `poolsync show PLANFILE`: its options; the work is in ../commands/show.ts. */
import type { Argv, CommandModule } from 'yargs';
import { colorOption, planOutputOption, type OutputFormat } from '../options.js';

export interface ShowArgs {
  planfile: string;
  output: OutputFormat;
  color?: boolean;
}

export const showCommand: CommandModule<object, ShowArgs> = {
  command: 'show <planfile>',
  describe: 'Render a plan saved with `poolsync plan --out FILE`',
  builder: (yargs: Argv) =>
    yargs
      .positional('planfile', {
        type: 'string',
        demandOption: true,
        describe: 'A plan file (JSON)',
      })
      .option('output', planOutputOption)
      .option('color', colorOption())
      .example('$0 show plan.json', 'Review a saved plan') as unknown as Argv<ShowArgs>,
  handler: async (args) => (await import('../commands/show.js')).show(args),
};
