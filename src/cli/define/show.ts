/** `poolsync show PLANFILE`: its options; the work is in ../commands/show.ts. */
import type { ShowArgs } from '../commands/show.js';
import { colorOption, planOutputOption } from '../options.js';
import type { Command } from './command.js';

export const show: Command<ShowArgs> = {
  command: 'show <planfile>',
  describe: 'Render a plan saved with `poolsync plan --out FILE`',
  builder: (yargs) =>
    yargs
      .positional('planfile', {
        type: 'string',
        demandOption: true,
        describe: 'A plan file (JSON)',
      })
      .option('output', planOutputOption)
      .option('color', colorOption())
      .example('$0 show plan.json', 'Review a saved plan'),
  run: async (args, io) => (await import('../commands/show.js')).show(args, io),
};
