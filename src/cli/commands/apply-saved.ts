/**
 * A saved plan (`poolsync plan --out FILE`) is applied only where and as it was made
 * (docs/apply.md#saved-plans-and-staleness): on the control plane it names (backend, endpoint,
 * organisation), with the capabilities and the live state it was planned against. Each refusal
 * says which of these differs; nothing is applied.
 */
import { PlanFileError, readPlanFile } from '../../render/plan-file.js';
import {
  controlPlaneEndpoint,
  controlPlaneIdentity,
  describeControlPlane,
  sameControlPlane,
} from '../../controlplane/identity.js';
import { readLiveState, type ControlPlane } from '../../controlplane/types.js';
import type { LiveState } from '../../model/live.js';
import { readLiveWithInventory, type InventoryStore } from '../../apply/inventory.js';
import { formatCapabilities, sameCapabilities } from '../../model/capabilities.js';
import type { Plan } from '../../model/plan.js';
import { liveFingerprint } from '../../plan/fingerprint.js';
import { settingsOfPlan } from '../../plan/live-scope.js';
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

function elsewhere(path: string, plan: Plan, here: string): UserError {
  return new UserError(
    `${path} was made for another control plane: ${describeControlPlane(plan.control_plane!)}, ` +
      `not ${here}. Nothing was applied; apply it with --control-plane naming that one, ` +
      `or run \`poolsync plan\` against this one`,
  );
}

/**
 * Before anything is opened or locked: a plan made for another endpoint (another state file,
 * another URL) is refused without touching this one (opening a new `file:` state creates it).
 */
export function checkSavedPlanEndpoint(path: string, plan: Plan, url: string): void {
  if (!plan.control_plane) return;
  const endpoint = controlPlaneEndpoint(url);
  if (endpoint !== controlPlaneEndpoint(plan.control_plane.endpoint))
    throw elsewhere(path, plan, endpoint);
}

/**
 * The opened control plane is the plan's (backend, organisation), with its capabilities and live
 * state; that state.
 */
export async function checkSavedPlan(
  path: string,
  plan: Plan,
  url: string,
  cp: ControlPlane,
  inventory: InventoryStore,
): Promise<LiveState> {
  if (plan.control_plane) {
    const here = controlPlaneIdentity(url, cp);
    if (!sameControlPlane(here, plan.control_plane))
      throw elsewhere(path, plan, describeControlPlane(here));
  }
  // plan.md: re-read live state; a plan made against another state is refused before any call.
  // The inventory is part of what the plan was made against (what prune deletes), when it read
  // one (a plan made in-process without it did not depend on it). Of the default-queue
  // settings, those the plan read (live-scope.ts).
  const live = plan.inventory
    ? await readLiveWithInventory(cp, inventory, settingsOfPlan(plan))
    : await readLiveState(cp, plan.default_queues_read ?? 'all');
  const now = liveFingerprint(live);
  if (plan.capabilities && !sameCapabilities(plan.capabilities, live.capabilities)) {
    throw new UserError(
      `stale plan: ${path} was made with control-plane capabilities ${formatCapabilities(plan.capabilities)}, ` +
        `the control plane now has ${formatCapabilities(live.capabilities)}. Nothing was applied; run \`poolsync plan\` again`,
    );
  }
  if (now !== plan.live_fingerprint) {
    throw new UserError(
      `stale plan: the control plane changed since ${path} was made ` +
        `(live state ${now}, plan made against ${plan.live_fingerprint}). Nothing was applied; run \`poolsync plan\` again`,
    );
  }
  return live;
}
