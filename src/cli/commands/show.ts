/** `poolsync show PLANFILE`: render a plan saved with `plan --out FILE`, once its seal verifies. */
import type { Argv, CommandModule } from 'yargs';
import { PlanFileError, readPlanFile } from '../../render/plan-file.js';
import { UserError } from '../../util/user-error.js';
import { colorOption, planOutputOption, useColor } from '../options.js';
import { resolvePlanKey } from '../plan-key.js';
import { renderParts, type OutputFormat } from './plan.js';
import { writeParts } from '../write-parts.js';

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
      .option('output', planOutputOption)
      .option('color', colorOption())
      .example('$0 show plan.json', 'Review a saved plan') as unknown as Argv<ShowArgs>,
  handler: async (args) => {
    let plan;
    try {
      plan = await readPlanFile(args.planfile, { key: await resolvePlanKey() });
    } catch (err) {
      if (err instanceof PlanFileError) throw new UserError(err.message);
      throw err;
    }
    // JSON: the plan as read, its seal included, so the output is again a plan file.
    await writeParts(process.stdout, renderParts(plan, args.output, useColor(args.color)));
    process.exitCode = 0;
  },
};
