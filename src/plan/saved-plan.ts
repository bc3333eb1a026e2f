/**
 * What a saved plan (`plan --out`) may do beyond its steps, held to its own changes and to the
 * inventory as it is now (docs/plan.md, Sealed plan files): an unkeyed seal can be made again
 * after an edit, so the counts `show` prints and what `apply PLANFILE` records are never taken
 * from the file. The steps' own checks are steps.ts (unaccountedStep, unplannedStep).
 */
import type { Guardrails } from '../model/desired.js';
import { PROTECTION_MARKS, protectionFields } from '../model/inventory.js';
import type { LiveState } from '../model/live.js';
import {
  isTargeted,
  type Change,
  type Plan,
  type PlanInventory,
  type Step,
} from '../model/plan.js';
import { ascending, sortedHas, sortedUnion } from '../util/sorted.js';
import { sameJson } from '../util/same-json.js';
import { summarizeChanges } from './forms.js';
import { recordedBudget } from './guardrails.js';
import { inventoryOf, withFolderRecords } from './inventory.js';
import { ownership } from './prune-scope.js';

/**
 * Why a plan file is no plan poolsync made, from its content alone (null: none): a `summary` its
 * changes do not count (what `show` and `apply` say of it), a step id twice, or one call twice.
 */
export function editedPlanPart(plan: Pick<Plan, 'summary' | 'changes' | 'steps'>): string | null {
  const counted = summarizeChanges(plan.changes);
  for (const action of Object.keys(counted) as (keyof typeof counted)[])
    if (plan.summary[action] !== counted[action])
      return `its summary says ${plan.summary[action]} ${action}, but its changes show ${counted[action]}`;
  const ids = new Set<string>();
  // By op and target, the arguments compared only where those repeat (not a JSON text a step).
  const calls = new Map<string, Step['args'][]>();
  for (const s of plan.steps) {
    if (ids.has(s.id)) return `step id ${s.id} is given to two steps`;
    const key = `${s.op}\u0000${s.target}`;
    const earlier = calls.get(key);
    if (earlier?.some((args) => sameJson(args, s.args)))
      return `step ${s.id} (${s.op} ${s.target}) makes the same call as an earlier step`;
    ids.add(s.id);
    if (earlier) earlier.push(s.args);
    else calls.set(key, [s.args]);
  }
  return null;
}

/**
 * The inventory `apply PLANFILE` records, derived from the file's declared addresses and the
 * inventory now (`live`, read under the apply's lock), or why the file is refused: what it
 * adopts, forgets and renames must be what that derivation gives (`show` prints the adoption);
 * it may neither declare nor delete what another repository applied (its name picks the budget),
 * nor delete what an earlier build recorded without one (`unprunable`);
 * a mark is never lifted and a recorded budget never raised (no change shows either: a lift or a
 * raise is recorded by `poolsync apply DIR` or the daemon, which read the commit itself).
 */
export function savedPlanInventory(
  plan: Pick<Plan, 'inventory' | 'changes' | 'warnings'>,
  live: LiveState,
): { inventory: PlanInventory | undefined } | { refused: string } | { unprunable: string[] } {
  const given = plan.inventory;
  if (!given) return { inventory: undefined };
  const repository = given.repository ?? null;
  const declared = [...ascending(given.declared)];
  const { live: planned, renamedFrom } = withFolderRecords(live, repository, given.renamed_from);
  const { other, own } = ownership(planned, repository);
  const named = repository === null ? 'no repository' : repository;
  const deletes = plan.changes.filter((c) => c.action === 'delete' || c.action === 'replace');
  // What an earlier build recorded without a repository (format 1): no repository prunes it
  // (docs/plan.md, Prune scope), though a file that build made deletes it, as it pruned all it
  // recorded. Refused first, all of them named (sorted).
  const unprunable = deletes.map((c) => c.address).filter((a) => other(a) === '');
  if (unprunable.length > 0) return { unprunable: unprunable.sort() };
  for (const [what, addresses] of [
    ['declares', declared],
    ['deletes', deletes.map((c) => c.address)],
  ] as const)
    for (const a of addresses) {
      const by = other(a);
      if (by)
        return {
          refused: `its inventory names ${named} as the repository, but the inventory records ${a}, which it ${what}, as applied by ${by}`,
        };
    }
  const derived = inventoryOf(declared, planned, {
    marks: kept(given, planned, declared),
    repository,
    renamedFrom,
    guardrails: tightest(given.guardrails, recordedBudget(planned, repository).guardrails),
  });
  for (const field of [
    'found',
    'renamed_from',
    'gone',
    'adopts',
    'adopts_recorded_without_repository',
  ] as const) {
    if (sameJson(given[field] ?? null, derived[field] ?? null)) continue;
    const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);
    const odd =
      list(given[field]).find((a) => !list(derived[field]).includes(a)) ??
      list(derived[field]).find((a) => !list(given[field]).includes(a));
    return {
      refused: `its inventory.${field} is ${JSON.stringify(given[field] ?? null).slice(0, 200)}, but the inventory now gives ${JSON.stringify(derived[field] ?? null).slice(0, 200)}${odd ? ` (${odd})` : ''}`,
    };
  }
  const partial = isTargeted(plan);
  const actions = new Map(plan.changes.map((c) => [c.address, c.action]));
  if (partial) {
    const unshown = derived.adopts?.find((a) => !actions.has(a));
    if (unshown !== undefined)
      return {
        refused: `its inventory declares ${unshown}, which it adopts, but no change of this --target plan shows it: a targeted plan adopts only what its changes show`,
      };
  }
  const undeclared = undeclaredAddress(actions, declared, own ?? [], partial);
  if (undeclared !== null)
    return {
      refused: `its inventory declares ${undeclared}, but its changes show it as no object of the repository and the inventory does not record it as ${named}'s`,
    };
  return { inventory: derived };
}

/**
 * An address the file declares that neither its changes show as declared (an undeclared live
 * object is listed as `unmanaged`) nor the inventory records as this repository's, or null:
 * declaring it would record another client's object as this repository's, to be updated and
 * pruned. A `--target` plan (PARTIAL_PLAN) lists only some changes but declares every address
 * (what it adopts, its changes show: checked before).
 */
function undeclaredAddress(
  actions: ReadonlyMap<string, Change['action']>,
  declared: readonly string[],
  own: readonly string[],
  partial: boolean,
): string | null {
  const recorded = sortedHas(ascending(own));
  const shown = (a: string) => {
    const action = actions.get(a);
    return action === undefined ? partial : action !== 'unmanaged';
  };
  return declared.find((a) => !shown(a) && !recorded(a)) ?? null;
}

/** The file's marks, with every mark the inventory keeps on an address it declares: none is lifted. */
function kept(given: PlanInventory, live: LiveState, declared: string[]) {
  const has = sortedHas(declared);
  return protectionFields(
    Object.fromEntries(
      PROTECTION_MARKS.map((m) => [
        m,
        sortedUnion(ascending(given[m] ?? []), ascending((live[m] ?? []).filter(has))),
      ]),
    ),
  );
}

/** Each bound the stricter of the file's and the one recorded: a file lowers one, never raises it. */
function tightest(
  file: Guardrails | undefined,
  recorded: Guardrails | undefined,
): Guardrails | undefined {
  if (!recorded) return file;
  const out: Guardrails = { ...recorded, ...file };
  for (const k of ['max_destroy', 'max_replace'] as const)
    if (recorded[k] !== undefined) out[k] = Math.min(recorded[k], file?.[k] ?? recorded[k]);
  return out;
}
