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
import type { QueuePass } from './queue-pass.js';

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
  /** What the backend manages (its kinds are checked) and its `manualStep` (the steps a person runs). */
  backend?: BackendInfo;
  /** The queue pass (PlanOptions.queuePass): src/incremental/plan-reuse.ts passes one with memory. */
  queuePass?: QueuePass;
  /** How the live fingerprint is taken (PlanOptions.liveFingerprint): src/incremental/plan-reuse.ts passes one with memory. */
  liveFingerprint?: (live: LiveState) => string;
}

export function planAgainst(
  desired: DesiredState,
  live: LiveState,
  opts: PlanShapeOptions = {},
): Plan {
  if (opts.replace?.length) checkReplaceAddresses(opts.replace, desired, live);
  const { backend, commit, replace, acceptCascade, queuePass, liveFingerprint } = opts;
  const planned = planForBackend(desired, live, backend, {
    commit,
    replace,
    acceptCascade,
    queuePass,
    liveFingerprint,
  });
  // After planning: the planner stays pure; only the backend knows what has no public API.
  const full = withExecution(planned, backend?.manualStep?.bind(backend));
  return opts.targets?.length ? targetPlan(full, opts.targets) : full;
}
