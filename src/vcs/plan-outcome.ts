/**
 * Validate and plan one checked-out commit against live state, as a PublishOutcome. Never
 * applies anything: a pull request only ever gets a comment and a status.
 */
import { posix } from 'node:path';
import { readLiveState, type ControlPlane } from '../controlplane/types.js';
import { formatValidationText, loadRepository } from '../manifests/index.js';
import type { Plan } from '../model/plan.js';
import { computePlan } from '../plan/index.js';
import { renderMarkdown } from '../render/index.js';
import type { PublishOutcome } from './types.js';

export interface PlanOutcomeOptions {
  /** The folder to plan (inside the checkout). */
  dir: string;
  commit: string | null;
  controlPlane: ControlPlane;
  /** The folder's path inside the repository, prefixed to error locations so reviewers can find them. */
  repoPath?: string;
  /** Markdown renderer (plan.md); the real one by default. */
  render?: (plan: Plan) => string;
}

export async function planOutcome(opts: PlanOutcomeOptions): Promise<PublishOutcome> {
  const loaded = await loadRepository(opts.dir, { commit: opts.commit });
  if (!loaded.valid) {
    const prefix = opts.repoPath && opts.repoPath !== '.' ? opts.repoPath : '';
    const errors = prefix
      ? loaded.errors.map((e) => ({ ...e, file: posix.join(prefix, e.file) }))
      : loaded.errors;
    return {
      kind: 'invalid',
      errorsText: formatValidationText(errors),
      errorCount: errors.length,
    };
  }
  let live;
  try {
    live = await readLiveState(opts.controlPlane);
  } catch (err) {
    // plan.md: unreadable live state makes the plan fail; the reason goes in the comment.
    return {
      kind: 'error',
      message: `cannot read live state from the control plane: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  const plan = computePlan(loaded.desired, live, { commit: opts.commit });
  return { kind: 'plan', plan, markdown: (opts.render ?? renderMarkdown)(plan) };
}
