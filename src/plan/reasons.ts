/**
 * Reasons as data (docs/plan.md, One voice): a code and its parameters, never words; the catalog
 * (src/render/reasons.ts) words every code (test/plan/reason-catalog.test.ts reads each call).
 */
import type { PlanError, PlanWarning, PruneScope, Reason, ReasonParams } from '../model/plan.js';

export function reasonOf(code: string, params: ReasonParams): Reason {
  return { code, params };
}

export function warning(code: string, address: string, params: ReasonParams): PlanWarning {
  return { code, address, params };
}

export function planError(
  code: string,
  address: string | null,
  params: ReasonParams,
  location: string | null,
): PlanError {
  return { code, address, location, params };
}

/** The prune scope as reason parameters (the catalog reads them back). */
export function scopeParams(scope: PruneScope): ReasonParams {
  return {
    kinds: [...scope.kinds],
    source: scope.source,
    ...(scope.inventory !== undefined ? { inventory: scope.inventory } : {}),
  };
}
