/** `poolsync show PLANFILE`: render a plan saved with `plan --out FILE`. */
import type { Argv, CommandModule } from 'yargs';
import { SavedPlanError, readSavedPlan } from '../../plan/saved.js';
import { UserError } from '../errors.js';
import { render, type OutputFormat } from './plan.js';

interface ShowArgs {
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
      .option('output', {
        alias: 'o',
        choices: ['text', 'json', 'markdown'] as const,
        default: 'text' as const,
        describe:
          'text: Terraform-like; json: the plan.md format; markdown: for a pull-request comment',
      })
      .option('color', {
        type: 'boolean',
        describe: 'Colour the text output (default: when stdout is a terminal)',
      })
      .example('$0 show plan.json', 'Review a saved plan') as unknown as Argv<ShowArgs>,
  handler: async (args) => {
    let plan;
    try {
      plan = await readSavedPlan(args.planfile);
    } catch (err) {
      if (err instanceof SavedPlanError) throw new UserError(err.message);
      throw err;
    }
    const color = args.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
    process.stdout.write(render(plan, args.output, color));
    process.exitCode = 0;
  },
};
