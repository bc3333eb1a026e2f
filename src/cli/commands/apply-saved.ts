/**
 * A saved plan (`poolsync plan --out FILE`) is applied only where and as it was made
 * (docs/apply.md#saved-plans-and-staleness): on the control plane it names (backend, endpoint,
 * organisation), with the capabilities and the live state it was planned against
 * (src/ops/stale-plan.ts, checked under the lock). Each refusal says which of these differs;
 * nothing is applied.
 */
import { PlanFileError, readPlanFile } from '../../render/plan-file.js';
import { controlPlaneEndpoint } from '../../controlplane/identity.js';
import type { Plan } from '../../model/plan.js';
import { madeElsewhere } from '../../ops/stale-plan.js';
import { UserError } from '../../util/user-error.js';
import { resolvePlanKey } from '../plan-key.js';

/** The plan file read through the one reader: refused when it is not exactly what was written. */
export async function readSavedPlan(path: string, env: NodeJS.ProcessEnv): Promise<Plan> {
  try {
    return await readPlanFile(path, { key: await resolvePlanKey(env) });
  } catch (err) {
    if (err instanceof PlanFileError) throw new UserError(err.message);
    throw err;
  }
}

/**
 * Before anything is opened or locked: a plan made for another endpoint (another state file,
 * another URL) is refused without touching this one (opening a new `file:` state creates it).
 */
export function checkSavedPlanEndpoint(path: string, plan: Plan, url: string): void {
  if (!plan.control_plane) return;
  const endpoint = controlPlaneEndpoint(url);
  if (endpoint !== controlPlaneEndpoint(plan.control_plane.endpoint))
    throw new UserError(madeElsewhere(path, plan, endpoint));
}
