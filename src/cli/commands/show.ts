/** `poolsync show PLANFILE`: render a plan saved with `plan --out FILE`, once its seal verifies. */
import { PlanFileError, readPlanFile } from '../../render/plan-file.js';
import { UserError } from '../../util/user-error.js';
import type { Io } from '../io.js';
import { useColor, type OutputFormat } from '../options.js';
import { resolvePlanKey } from '../plan-key.js';
import { renderParts } from './plan.js';
import { writeParts } from '../write-parts.js';

export interface ShowArgs {
  planfile: string;
  output: OutputFormat;
  color?: boolean;
}

export async function show(args: ShowArgs, io: Io): Promise<number> {
  let plan;
  try {
    plan = await readPlanFile(args.planfile, { key: await resolvePlanKey(io.env) });
  } catch (err) {
    if (err instanceof PlanFileError) throw new UserError(err.message);
    throw err;
  }
  // JSON: the plan as read, its seal included, so the output is again a plan file.
  await writeParts(io.stdout, renderParts(plan, args.output, useColor(args.color, io)));
  return 0;
}
