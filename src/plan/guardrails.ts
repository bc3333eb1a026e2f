/**
 * Guardrails that outlive a manifest (docs/plan.md, Guardrails): protection recorded in the
 * inventory when applied (Terraform's prevent_destroy, kept where hashicorp/terraform#3116 asks;
 * Argo CD's `Delete=confirm`), and a bound on what one plan may destroy. Pure: the planner adds
 * their errors and the confirm list to the plan; the daemon's gate holds what they name.
 */
import type { Guardrails } from '../model/desired.js';
import type { Protection } from '../model/inventory.js';
import type { LiveState } from '../model/live.js';
import type { Change, Plan, PlanError } from '../model/plan.js';
import { isSideEffect } from './counts.js';
import { planError } from './reasons.js';

/** How many addresses an error lists (the count says the rest). */
const LISTED = 20;

/**
 * PREVENT_DESTROY for an object the inventory records as protected that the plan deletes or
 * replaces, where its manifest no longer says "true" (removed, renamed, or the annotation
 * dropped in the same change): `reported` already has the declared ones' errors.
 */
export function recordedProtectionErrors(
  changes: readonly Change[],
  live: LiveState,
  declared: Protection,
  reported: readonly PlanError[],
): PlanError[] {
  if (!live.prevent_destroy?.length) return [];
  const recorded = new Set(live.prevent_destroy);
  const done = new Set(reported.map((e) => e.address));
  const stillDeclared = new Set(declared.prevent_destroy ?? []);
  return changes
    .filter((c) => c.destructive && recorded.has(c.address) && !done.has(c.address))
    .filter((c) => !stillDeclared.has(c.address))
    .map((c) =>
      planError(
        'PREVENT_DESTROY',
        c.address,
        {
          address: c.address,
          action: c.action,
          fields: [],
          before: [],
          after: [],
          caused_by: c.caused_by ?? null,
          recorded: true,
        },
        null,
      ),
    );
}

/** The destroyed addresses a person must approve: marked confirm-destroy, declared or recorded. */
export function confirmDestroy(
  changes: readonly Change[],
  live: LiveState,
  declared: Protection,
): string[] {
  const marked = new Set([...(declared.confirm_destroy ?? []), ...(live.confirm_destroy ?? [])]);
  if (marked.size === 0) return [];
  return changes.filter((c) => c.destructive && marked.has(c.address)).map((c) => c.address);
}

/**
 * Where a bound comes from, in the error (docs/plan.md, Guardrails): `recorded_unnamed`, the
 * inventory's budget recorded without a repository (an earlier build's).
 */
export type BudgetSource = 'repository' | 'base' | 'recorded' | 'recorded_unnamed';

/**
 * The budget the inventory records for `repository` (docs/plan.md, The destroy budget): its own,
 * never another repository's; without one, the budget recorded without a repository binds it.
 */
export function recordedBudget(
  live: Pick<LiveState, 'guardrails' | 'repository_guardrails'>,
  repository: string | null,
): BudgetBound {
  const own = repository === null ? undefined : live.repository_guardrails?.[repository];
  if (own || repository === null) return { from: 'recorded', guardrails: own ?? live.guardrails };
  return { from: 'recorded_unnamed', guardrails: live.guardrails };
}

/** One bound on what a plan may destroy, and where it comes from. */
export interface BudgetBound {
  from: BudgetSource;
  guardrails: Guardrails | undefined;
}

const RULES = [
  ['max_destroy', 'delete'],
  ['max_replace', 'replace'],
] as const;

/**
 * DESTROY_BUDGET: each bound the plan exceeds, the strictest of those given (this commit's
 * poolsync.yaml, the base branch's in pull-request mode, the last apply's), with the count and
 * the first addresses. A bound only ever tightens: none of them can raise another.
 */
export function budgetErrors(
  plan: Pick<Plan, 'changes' | 'steps'>,
  bounds: readonly BudgetBound[],
): PlanError[] {
  const errors: PlanError[] = [];
  // Counted as the plan's summary counts them: a side effect (a co-named queue deleted with its
  // cluster, no step of its own) goes with its cause, so 5 clusters are 5 deletes.
  let targets: Set<string> | null = null;
  const own = (c: Change) =>
    !c.caused_by || !isSideEffect(c, (targets ??= new Set(plan.steps.map((s) => s.target))));
  for (const [rule, action] of RULES) {
    let limit: number | null = null;
    let from: BudgetSource[] = [];
    for (const b of bounds) {
      const n = b.guardrails?.[rule];
      if (n === undefined) continue;
      if (limit === null || n < limit) [limit, from] = [n, [b.from]];
      else if (n === limit) from.push(b.from);
    }
    if (limit === null) continue;
    const spent = plan.changes.filter((c) => c.action === action && own(c)).map((c) => c.address);
    if (spent.length <= limit) continue;
    errors.push(
      planError(
        'DESTROY_BUDGET',
        null,
        {
          rule,
          action,
          limit,
          count: spent.length,
          addresses: spent.slice(0, LISTED),
          more: Math.max(0, spent.length - LISTED),
          from,
        },
        null,
      ),
    );
  }
  return errors;
}

/** The errors the daemon holds for approval instead of failing the run (stages/plan.ts). */
const HELD_ERRORS: ReadonlySet<string> = new Set(['DESTROY_BUDGET']);

/** A guardrail that holds a plan's destructive changes for approval, whatever the policy. */
export const GUARD_RULES = ['max_destroy', 'max_replace', 'confirm_destroy'] as const;
export type GuardRule = (typeof GUARD_RULES)[number];

/** Whether the plan's errors are all ones the daemon holds for approval rather than fails on. */
export function onlyHeldErrors(plan: Pick<Plan, 'errors'>): boolean {
  return plan.errors.length > 0 && plan.errors.every((e) => HELD_ERRORS.has(e.code));
}

/**
 * The daemon's view (docs/daemon.md, Guardrails): the rules that hold this plan's destructive
 * changes for a person (a budget exceeded, a confirm-destroy mark), and the plan without the
 * budget's errors, which an approval of the held changes lifts.
 */
export function guardrailHold(plan: Plan): { rules: GuardRule[]; plan: Plan } {
  const rules = new Set<GuardRule>();
  for (const e of plan.errors) if (HELD_ERRORS.has(e.code)) rules.add(e.params?.rule as GuardRule);
  if (plan.confirm_destroy?.length) rules.add('confirm_destroy');
  if (!onlyHeldErrors(plan)) return { rules: [...rules], plan };
  return { rules: [...rules], plan: { ...plan, errors: [] } };
}
