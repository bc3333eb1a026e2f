/**
 * Validate and plan one checked-out commit against live state, as a PublishOutcome. Never
 * applies anything: a pull request only ever gets a comment and a status.
 */
import { posix } from 'node:path';
import type { LiveState } from '../model/live.js';
import { formatValidationText } from '../manifests/index.js';
import type { ValidationError } from '../manifests/types.js';
import type { Plan, PlanControlPlane } from '../model/plan.js';
import { planRepository } from '../ops/pipeline.js';
import type { BackendInfo } from '../controlplane/types.js';
import { renderMarkdown } from '../render/index.js';
import type { EnvironmentOutcome, PublishOutcome } from './types.js';

export interface PlanOutcomeOptions {
  /** The folder to plan (inside the checkout). */
  dir: string;
  commit: string | null;
  /** Reads the control plane's live state (the daemon opens its control plane per use). */
  readLiveState: () => Promise<LiveState>;
  /** What that control plane manages (BACKEND_KIND errors, config-only kinds). */
  backend?: BackendInfo;
  /** The folder's path inside the repository, prefixed to error locations so reviewers can find them. */
  repoPath?: string;
  /** The control plane the plan names in its header (docs/plan.md). */
  controlPlane?: PlanControlPlane;
  /** The environment of poolsync.yaml to plan (docs/environments.md). */
  environment?: string;
  /** Markdown renderer (plan.md); the real one by default. */
  render?: (plan: Plan) => string;
}

/** The outcome of a computed plan (for `poolsync plan --comment`). */
export function outcomeForPlan(
  plan: Plan,
  render: (plan: Plan) => string = renderMarkdown,
): EnvironmentOutcome {
  return { kind: 'plan', plan, markdown: render(plan) };
}

/**
 * The outcome of an invalid repository. `repoPath` (the folder inside the repository) is
 * prefixed to each file so reviewers find it from the repository root.
 */
export function outcomeForInvalid(
  errors: ValidationError[],
  repoPath?: string,
): EnvironmentOutcome {
  const prefix = repoPath && repoPath !== '.' ? repoPath : '';
  const shown = prefix ? errors.map((e) => ({ ...e, file: posix.join(prefix, e.file) })) : errors;
  return { kind: 'invalid', errorsText: formatValidationText(shown), errorCount: errors.length };
}

/** A failure to read live state, told apart from other failures of the pipeline. */
class LiveStateUnreadable extends Error {}

export async function planOutcome(opts: PlanOutcomeOptions): Promise<PublishOutcome> {
  const readLive = () =>
    opts.readLiveState().catch((err: unknown) => {
      throw new LiveStateUnreadable(err instanceof Error ? err.message : String(err));
    });
  let result;
  try {
    result = await planRepository(opts.dir, readLive, {
      commit: opts.commit,
      ...(opts.backend ? { backend: opts.backend } : {}),
      ...(opts.environment !== undefined ? { environment: opts.environment } : {}),
    });
  } catch (err) {
    // plan.md: unreadable live state makes the plan fail; the reason goes in the comment.
    if (!(err instanceof LiveStateUnreadable)) throw err;
    return {
      kind: 'error',
      message: `cannot read live state from the control plane: ${err.message}`,
    };
  }
  if (!result.ok) return outcomeForInvalid(result.errors, opts.repoPath);
  const plan = opts.controlPlane
    ? { ...result.plan, control_plane: opts.controlPlane }
    : result.plan;
  return outcomeForPlan(plan, opts.render);
}
