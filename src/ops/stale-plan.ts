/**
 * Whether a plan made earlier may still be applied (docs/apply.md#saved-plans-and-staleness):
 * the one check of `apply PLANFILE`, of the daemon's apply of a plan read apart from it, and of
 * a pull-request approval. Stale: another control plane, other capabilities, or another live
 * fingerprint (of the settings the plan read). Each caller words the refusal.
 */
import {
  describeControlPlane,
  sameControlPlane,
  type ControlPlaneIdentity,
} from '../controlplane/identity.js';
import { formatCapabilities, sameCapabilities } from '../model/capabilities.js';
import type { Capabilities } from '../model/common.js';
import type { LiveState, SettingsNeed } from '../model/live.js';
import { isActionable, type Plan } from '../model/plan.js';
import { liveFingerprint, settingsOfPlan } from '../plan/fingerprint.js';
import { sameObjects } from '../incremental/plan-reuse.js';
import { liveChanges, type LiveChanges } from '../plan/live-changes.js';
import { UserError } from '../util/user-error.js';

/** Why a plan is stale: what differs, as it is now. */
export type Staleness =
  | { reason: 'control_plane'; here: ControlPlaneIdentity }
  | { reason: 'capabilities'; now: Capabilities }
  | { reason: 'live_state'; now: string; changed: LiveChanges };

/** A refusal of a stale plan: the reason as data, the caller's words as the message. */
export class StalePlanError extends UserError {
  constructor(
    readonly stale: Staleness,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Why `plan` may no longer be applied, or the live state now (with the settings the plan read).
 * `here`: the control plane's identity, when the plan may have been made for another (saved).
 * `planned`: the state the plan was made from; read again as the same frozen objects (the
 * daemon's state cache: no write came between), it is that state, fingerprint and all.
 */
export async function recheckPlan(
  plan: Plan,
  read: (need: SettingsNeed) => Promise<LiveState>,
  opts: { here?: ControlPlaneIdentity; planned?: LiveState | null } = {},
): Promise<{ stale: Staleness } | { stale: null; live: LiveState }> {
  const { here, planned } = opts;
  if (here && plan.control_plane && !sameControlPlane(here, plan.control_plane))
    return { stale: { reason: 'control_plane', here } };
  const live = await read(settingsOfPlan(plan));
  if (plan.capabilities && !sameCapabilities(plan.capabilities, live.capabilities))
    return { stale: { reason: 'capabilities', now: live.capabilities } };
  if (planned && sameObjects(planned, live)) return { stale: null, live };
  const now = liveFingerprint(live);
  return now === plan.live_fingerprint
    ? { stale: null, live }
    : { stale: { reason: 'live_state', now, changed: liveChanges(plan, live, planned) } };
}

/** `apply PLANFILE`'s words for a stale saved plan at `path`. */
export function stalePlanError(path: string, plan: Plan, stale: Staleness): StalePlanError {
  switch (stale.reason) {
    case 'control_plane':
      return new StalePlanError(stale, madeElsewhere(path, plan, describeControlPlane(stale.here)));
    case 'capabilities':
      return new StalePlanError(
        stale,
        `stale plan: ${path} was made with control-plane capabilities ${formatCapabilities(plan.capabilities!)}, ` +
          `the control plane now has ${formatCapabilities(stale.now)}. Nothing was applied; run \`poolsync plan\` again`,
      );
    case 'live_state':
      if (stale.changed.applied)
        return new StalePlanError(
          stale,
          `stale plan: ${path} was already applied: ${appliedWords(plan)}, and nothing else changed since it was made (or the same changes were made another way). Nothing was applied; run \`poolsync plan\` to see what is left to do`,
        );
      if (stale.changed.partly) {
        const { made = [], partWay = [] } = stale.changed;
        const both = [...made, ...partWay].sort();
        const named = (a: string) => (partWay.includes(a) ? `${a} (part way)` : a);
        return new StalePlanError(
          stale,
          `stale plan: ${path} was partly applied: ${changedList(both, named)} ${both.length === 1 ? 'is' : 'are'} as this plan makes ${both.length === 1 ? 'it' : 'them'} (an apply of it that did not finish, or the same change made another way?), its other changes are not made, and nothing else changed since it was made. Nothing was applied; run \`poolsync plan\` again to finish`,
        );
      }
      return new StalePlanError(
        stale,
        `stale plan: the control plane changed since ${path} was made: ${changedWords(stale.changed)} ` +
          `(live state ${stale.now}, plan made against ${plan.live_fingerprint}). Nothing was applied; run \`poolsync plan\` again`,
      );
  }
}

/**
 * A folder's plan refused after it waited for a person's answer (docs/apply.md#approval): the
 * control plane moved meanwhile, so what was approved is not what would be done.
 */
export function changedWhileAsked(plan: Plan, stale: Staleness): StalePlanError {
  const what =
    stale.reason === 'live_state'
      ? `${changedWords(stale.changed)} (live state ${stale.now}, the plan was made against ${plan.live_fingerprint})`
      : stale.reason === 'capabilities'
        ? `its capabilities are now ${formatCapabilities(stale.now)}`
        : `it is now ${describeControlPlane(stale.here)}`;
  return new StalePlanError(
    stale,
    `the control plane changed while the plan waited for an answer: ${what}. Nothing was applied; run \`poolsync apply\` again to see the new plan`,
  );
}

/**
 * What a stale plan's refusal names: the first addresses and their count (a queue's serving state
 * as was → now), and how poolsync's inventory moved.
 */
export function changedWords(changed: LiveChanges): string {
  const { addresses, states, fields, appeared, gone, deleted, made, partWay, inventory } = changed;
  const list = changedList;
  const parts: string[] = [];
  if (addresses.length > 0) {
    const named = (a: string) => {
      const s = states?.[a];
      const moved = (fields?.[a] ?? []).map(
        (d) => `${d.path} ${value(d.before)} → ${value(d.after)}`,
      );
      // Being deleted, not by this plan's own delete: another client's.
      if (s?.now === 'deleting' && !partWay?.includes(a))
        moved.push('being deleted by another client since the plan');
      else if (s)
        moved.push(`state ${s.was === 'drained' ? 'draining or drained' : s.was} → ${s.now}`);
      if (made?.includes(a))
        moved.push('as this plan makes it: an apply of it that did not finish?');
      if (partWay?.includes(a))
        moved.push('as this plan makes it part way: an apply of it that did not finish?');
      if (deleted?.includes(a)) moved.push('soft-deleted since the plan: its name stays reserved');
      else if (gone?.includes(a)) moved.push('gone since the plan');
      if (appeared?.includes(a)) moved.push('made since the plan');
      return moved.length > 0 ? `${a} (${moved.join(', ')})` : a;
    };
    parts.push(
      `${addresses.length === 1 ? 'this object differs' : `${addresses.length} objects differ`} from the plan: ${list(addresses, named)}`,
    );
  }
  const deployed = changed.flyteadmin?.deployed ?? [];
  if (deployed.length > 0) parts.push(deployed.join('; '));
  if (inventory === 'maybe')
    parts.push(
      `no object the plan shows differs, so poolsync's inventory (what applies record) or a setting the plan read changed (${settingsWords(changed)})`,
    );
  else if (inventory === 'changed')
    parts.push("poolsync's inventory changed (its owners, marks or forgotten addresses)");
  else if (inventory !== null) {
    const { added, removed, began, forgotten } = inventory;
    const what = [
      added.length > 0
        ? `it now records ${list(added)} (${began ? 'an apply that did not finish records what it declares before its first step: `poolsync plan --refresh-only` says whether one began' : 'another apply recorded it'})`
        : '',
      removed.length > 0
        ? `it no longer records ${list(removed)}${forgottenWords(removed, forgotten, list)}`
        : '',
    ].filter(Boolean);
    parts.push(`poolsync's inventory changed: ${what.join('; ')}`);
  }
  return parts.length > 0
    ? parts.join('; ')
    : `no object the plan shows differs; a setting the plan read changed (${settingsWords(changed)})`;
}

/** The settings beside the objects a live state of this backend holds, as a plan reads them. */
function settingsWords({ flyteadmin }: LiveChanges): string {
  if (!flyteadmin) return 'a queue drained, a broader default-queue setting or a project';
  const causes = [
    'a project or domain',
    "a row at a level poolsync does not write (project-wide, domain-wide, a launch plan's)",
  ];
  // Its routing named, or known to be the same: not a cause left.
  if (!flyteadmin.deployed)
    causes.push('the cluster configuration flyteadmin runs with (its clusters ConfigMap)');
  return `${causes.slice(0, -1).join(', ')}, or ${causes.at(-1)!}`;
}

/** What shows a plan applied: its changes made, and what it adopts recorded. */
function appliedWords(plan: Plan): string {
  const made = madeBy(plan);
  const n = plan.inventory?.adopts?.length ?? 0;
  const adopts = n === 1 ? 'the object it adopts' : `the ${n} objects it adopts`;
  if (made.length === 0) return `poolsync's inventory records ${adopts}`;
  return `the control plane shows its changes made (${changedList(made)}) and poolsync's inventory records them${n > 0 ? ` and ${adopts}` : ''}`;
}

/** The addresses `plan` changes, sorted. */
const madeBy = (plan: Plan): string[] =>
  [...new Set(plan.changes.filter((c) => isActionable(c.action)).map((c) => c.address))].sort();

/** The first NAMED of `xs`, each as `word` says it, and how many more. */
function changedList(xs: string[], word = (x: string) => x): string {
  return (
    xs.slice(0, NAMED).map(word).join(', ') +
    (xs.length > NAMED ? ` and ${xs.length - NAMED} more` : '')
  );
}

/** Which of the addresses the inventory no longer records `state forget` took out. */
function forgottenWords(
  removed: string[],
  forgotten: string[] | undefined,
  list: (xs: string[]) => string,
): string {
  if (!forgotten) return '';
  if (forgotten.length === removed.length)
    return ` (\`poolsync state forget\` took ${removed.length === 1 ? 'it' : 'them'} out of management)`;
  return ` (\`poolsync state forget\` took out ${list(forgotten)})`;
}

/** A field's value as a refusal names it: JSON, the middle of a long one left out. */
function value(v: unknown): string {
  const json = JSON.stringify(v) ?? 'null';
  return json.length > VALUE_CHARS ? `${json.slice(0, VALUE_CHARS - 1)}…` : json;
}

const VALUE_CHARS = 60;

/** How many addresses a refusal names. */
const NAMED = 20;

/** The words of a saved plan made for another control plane than `here`. */
export function madeElsewhere(path: string, plan: Plan, here: string): string {
  return (
    `${path} was made for another control plane: ${describeControlPlane(plan.control_plane!)}, ` +
    `not ${here}. Nothing was applied; apply it with --control-plane naming that one, ` +
    `or run \`poolsync plan\` against this one`
  );
}
