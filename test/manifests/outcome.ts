/**
 * Everything a user sees of a load and its plan against a live state, as text: the load's
 * result (errors included), the desired state, the plan as JSON and as text. The incremental
 * tests (issue 25) compare it between a cold run and the incremental paths, byte for byte.
 */
import type { PlanReuse } from '../../src/incremental/plan-reuse.js';
import type { LoadResult } from '../../src/manifests/types.js';
import type { LiveState } from '../../src/model/live.js';
import { planDesired } from '../../src/ops/plan-run.js';
import { renderJson } from '../../src/render/json.js';
import { renderText } from '../../src/render/text.js';

export async function outcome(
  result: LoadResult,
  live: LiveState,
  plans?: PlanReuse,
): Promise<string> {
  if (!result.valid) return JSON.stringify(result);
  const { plan } = await planDesired(result.desired, async () => live, {
    plan: { commit: null },
    plans,
  });
  return [
    JSON.stringify({ ...result, desired: null }),
    JSON.stringify(result.desired),
    renderJson(plan),
    renderText(plan, { color: false }),
  ].join('\n');
}
