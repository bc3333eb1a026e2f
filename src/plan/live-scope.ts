/**
 * Which default-queue settings a plan needs read (docs/union.md, Round trips). Union has no call
 * that lists settings: each project/domain is one call, so a plan reads only those it needs:
 *
 * - the ones the repository declares (their create, update or no-op);
 * - with prune, the ones the inventory lists (what poolsync applied, which prune deletes), and
 *   every one when prune may delete settings poolsync did not apply (`manage:` claims
 *   DefaultQueue, or no inventory is recorded and the rule falls back to the kinds: prune-scope.ts);
 * - every one when the plan drains, deletes or moves a live queue (`needsEverySetting`): Union
 *   refuses that for a queue a setting of any scope names, and only every project/domain's
 *   answer (which carries the organisation's and its domain's level too) tells which.
 *
 * Pure; the edge (src/ops/plan-run.ts) reads what it says and plans again with every setting
 * when the first plan needs them. Backends that list settings read them all either way.
 */
import { address, defaultQueueKeyString } from '../model/common.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState, SettingsNeed } from '../model/live.js';
import type { Plan, Step } from '../model/plan.js';
import { pruneScope } from './prune-scope.js';

const PREFIX = address('DefaultQueue', '');

/** The settings `desired` needs read, given the inventory (null: none recorded; undefined: not read). */
export function settingsNeed(desired: DesiredState): SettingsNeed {
  const declared = (desired.default_queues ?? []).map(({ project, domain }) => ({
    project,
    domain,
  }));
  const prune = pruneScope(desired.config);
  return (inventory) => {
    if (prune === undefined) return declared;
    const claimed = desired.config.manage?.includes('DefaultQueue') === true;
    if (claimed || (inventory == null && prune.kinds.includes('DefaultQueue'))) return 'all';
    const keys = new Map(declared.map((k) => [defaultQueueKeyString(k), k]));
    for (const a of inventory ?? []) {
      if (!a.startsWith(PREFIX)) continue;
      // DefaultQueue/PROJECT/DOMAIN: names carry no "/" (V12).
      const [project, domain] = a.slice(PREFIX.length).split('/');
      if (project && domain) keys.set(`${project}/${domain}`, { project, domain });
    }
    return [...keys.values()];
  };
}

/** Steps that Union refuses for a queue a default-queue setting names (its co-named queue too). */
const BLOCKED_BY_SETTINGS: ReadonlySet<Step['op']> = new Set([
  'drain_queue',
  'delete_queue',
  'move_queue',
  'delete_cluster',
  'move_cluster',
]);

/** Whether `plan`, made with some settings only, must be made again with every one. */
export function needsEverySetting(plan: Plan): boolean {
  return (
    plan.default_queues_read !== undefined && plan.steps.some((s) => BLOCKED_BY_SETTINGS.has(s.op))
  );
}

/** What a check of `plan`'s live fingerprint reads: the settings the plan read. */
export function settingsOfPlan(plan: Plan): SettingsNeed {
  return () => plan.default_queues_read ?? 'all';
}

/**
 * The plan of `desired` with the settings it needs: `read(need)` (or `first`, a state read
 * already, when it holds just those), planned; read again with every setting when that plan
 * needs them (`needsEverySetting`). The reads are the caller's; nothing is kept.
 */
export async function planWithSettings(
  desired: DesiredState,
  read: (need: SettingsNeed) => Promise<LiveState>,
  plan: (live: LiveState) => Plan,
  first: LiveState | null = null,
): Promise<{ plan: Plan; live: LiveState }> {
  const need = settingsNeed(desired);
  // A state that read every setting (or a backend that lists them) holds what any plan needs.
  const read0 = first?.default_queues_read;
  const wanted = first ? need(first.inventory) : 'all';
  const fits =
    first !== null &&
    (read0 === undefined || (wanted !== 'all' && keysOf(read0) === keysOf(wanted)));
  let live = fits ? first : await read(need);
  let made = plan(live);
  if (needsEverySetting(made)) {
    live = await read(() => 'all');
    made = plan(live);
  }
  return { plan: made, live };
}

/** The project/domains of a scope, in order, as one string. */
const keysOf = (scope: readonly { project: string; domain: string }[]) =>
  scope.map(defaultQueueKeyString).sort().join('\n');
