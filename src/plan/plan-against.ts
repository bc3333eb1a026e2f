/**
 * The planner as one call, without I/O: a valid desired state planned against a live state the
 * caller has read, with the options that shape a plan (`--replace`, `--accept-cascade`,
 * `--target`) and the backend's manual steps. The edge that loads a repository and reads the
 * live state is src/ops/pipeline.ts; the CLI's disk memory (src/incremental/) calls this too.
 */
import type { BackendInfo } from '../model/backend.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import { checkReplaceAddresses, targetPlan } from './target.js';
import { withExecution } from './execution.js';
import { planForBackend } from './backend.js';
import { planMemoKey, rememberPlan, rememberedPlan } from './memo.js';
import { capHeapGrowthIfLarge } from '../util/heap-growth.js';

/** What shapes a plan besides the desired and live states. */
export interface PlanShapeOptions {
  /** Git commit the folder was read from, recorded in the plan. */
  commit?: string | null;
  /** `--replace ADDRESS`: delete and create again (refused for queues, Q6). */
  replace?: readonly string[];
  /** `--accept-cascade ADDRESS`: deletes that may take unmanaged flyteadmin rows along (cascade.ts). */
  acceptCascade?: readonly string[];
  /** `--target ADDRESS`: only these and what they depend on (a partial plan, target.ts). */
  targets?: readonly string[];
  /**
   * Reuse the plan of the same desired state object against an identical live state (memo.ts):
   * long-running processes that plan one validated commit again and again.
   */
  reusePlans?: boolean;
  /** What the backend manages (its kinds are checked) and its `manualStep` (the steps a person runs). */
  backend?: BackendInfo;
}

export function planAgainst(
  desired: DesiredState,
  live: LiveState,
  opts: PlanShapeOptions = {},
): Plan {
  if (opts.replace?.length) checkReplaceAddresses(opts.replace, desired, live);
  const { backend } = opts;
  // Every option that shapes the plan is in the key (memo.ts: exact, or it misses).
  const shape = [opts.commit, opts.replace ?? [], opts.targets ?? [], opts.acceptCascade ?? []];
  const memoKey = opts.reusePlans ? planMemoKey(live, shape, backend) : null;
  const reused = memoKey && rememberedPlan(desired, memoKey);
  if (reused) return reused;
  // The planner runs without a break for seconds at 100,000 objects: cap the heap's growth
  // before it, when the process asked for that on a large heap (util/heap-growth.ts).
  capHeapGrowthIfLarge();
  const planned = planForBackend(desired, live, backend, {
    ...(opts.commit !== undefined ? { commit: opts.commit } : {}),
    ...(opts.replace?.length ? { replace: opts.replace } : {}),
    ...(opts.acceptCascade?.length ? { acceptCascade: opts.acceptCascade } : {}),
  });
  // After planning: the planner stays pure; only the backend knows what has no public API.
  const full = withExecution(planned, backend?.manualStep?.bind(backend));
  const plan = opts.targets?.length ? targetPlan(full, opts.targets) : full;
  if (memoKey) rememberPlan(desired, memoKey, plan);
  return plan;
}
