/** `poolsync show PLANFILE`: render a plan saved with `plan --out FILE`, once its seal verifies. */
import { writeParts, type Io } from '../io.js';
import type { ShowArgs } from '../define.js';
import { useColor } from '../options.js';
import { readSavedPlan } from '../saved-plan.js';
import { renderParts } from './plan.js';

export async function show(args: ShowArgs, io: Io): Promise<number> {
  const plan = await readSavedPlan(args.planfile, io.env);
  // JSON: the plan as read, its seal included, so the output is again a plan file.
  await writeParts(io.stdout, renderParts(plan, args.output, useColor(args.color, io)));
  return 0;
}
