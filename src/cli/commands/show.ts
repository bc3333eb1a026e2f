/** `poolsync show PLANFILE`: render a plan saved with `plan --out FILE`, once its seal verifies. */
import { PlanFileError, readPlanFile } from '../../render/plan-file.js';
import { UserError } from '../../util/user-error.js';
import { useColor } from '../options.js';
import { resolvePlanKey } from '../plan-key.js';
import { renderParts } from './plan.js';
import { writeParts } from '../write-parts.js';
import type { ShowArgs } from '../define/show.js';

export async function show(args: ShowArgs): Promise<void> {
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
}
