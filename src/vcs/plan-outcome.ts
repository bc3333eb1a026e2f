/**
 * Validate and plan one checked-out commit against live state, as a PublishOutcome. Never
 * applies anything: a pull request only ever gets a comment and a status.
 */
import { posix } from 'node:path';
import type { LiveState, SettingsNeed } from '../model/live.js';
import { formatValidationText } from '../manifests/index.js';
import type { ValidationError } from '../manifests/types.js';
import type { Plan, PlanControlPlane } from '../model/plan.js';
import { planRun } from '../ops/plan-run.js';
import type { BackendInfo } from '../controlplane/types.js';
import { renderMarkdown } from '../render/index.js';
import type { EnvironmentOutcome } from './types.js';

export interface PlanOutcomeOptions {
  /** The folder to plan (inside the checkout). */
  dir: string;
  commit: string | null;
  /** Reads the control plane's live state (the daemon opens its control plane per use). */
  readLiveState: (need?: SettingsNeed) => Promise<LiveState>;
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

/** The pull request's adapter over planRun (src/ops/plan-run.ts): its outcome as a comment's. */
export async function planOutcome(opts: PlanOutcomeOptions): Promise<EnvironmentOutcome> {
  const outcome = await planRun({
    source: {
      kind: 'open',
      readLive: opts.readLiveState,
      backend: opts.backend,
      controlPlane: opts.controlPlane,
    },
    desired: { kind: 'folder', dir: opts.dir },
    commit: opts.commit,
    environment: opts.environment ?? null,
  });
  // plan.md: unreadable live state makes the plan fail; the reason goes in the comment.
  if (outcome.kind === 'unreadable') {
    const err = outcome.error;
    const message = err instanceof Error ? err.message : String(err);
    return { kind: 'error', message: `cannot read live state from the control plane: ${message}` };
  }
  if (outcome.kind === 'invalid') return outcomeForInvalid(outcome.errors, opts.repoPath);
  return outcomeForPlan(outcome.plan, opts.render);
}
