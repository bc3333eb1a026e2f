/**
 * The planner as one call, without I/O: a valid desired state planned against a live state the
 * caller has read, with the options that shape a plan (`--replace`, `--accept-cascade`,
 * `--target`) and the backend's manual steps. The edge that loads a repository and reads the
 * live state is src/ops/plan-run.ts; the CLI's disk memory (src/incremental/) calls this too.
 */
import type { BackendInfo } from '../model/backend.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import { checkReplaceAddresses, targetPlan } from './target.js';
import { withExecution } from './execution.js';
import { planForBackend } from './backend.js';
import type { PlanOptions } from './index.js';

/**
 * What shapes a plan besides the desired and live states: the planner's options
 * (src/plan/index.ts; the backend's config-only pools are planForBackend's), `--target` and
 * the backend (its kinds are checked, its `manualStep`: the steps a person runs).
 */
export interface PlanShapeOptions extends Omit<PlanOptions, 'configOnlyPools'> {
  /** `--target ADDRESS`: only these and what they depend on (a partial plan, target.ts). */
  targets?: readonly string[];
  backend?: BackendInfo;
}

export function planAgainst(
  desired: DesiredState,
  live: LiveState,
  opts: PlanShapeOptions = {},
): Plan {
  if (opts.replace?.length) checkReplaceAddresses(opts.replace, desired, live);
  const { backend } = opts;
  const planned = planForBackend(desired, live, backend, opts);
  // After planning: the planner stays pure; only the backend knows what has no public API.
  const full = withExecution(planned, backend?.manualStep?.bind(backend));
  return opts.targets?.length ? targetPlan(full, opts.targets) : full;
}
