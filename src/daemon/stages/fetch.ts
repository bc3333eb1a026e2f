/**
 * Stage fetch: bring the source up to date (git fetch + hard move, or the folder as it is).
 * A failed fetch schedules a retry and ends the run, except for a drift check, which keeps
 * reconciling the last fetched commit (Git being down must not stop drift correction).
 * A Git-only trigger (poll, retry, webhook) of a commit already evaluated ends the run as
 * `unchanged`: nothing is planned again.
 */
import type { SourceSnapshot } from '../git-source.js';
import type { TriggerReason } from '../loop.js';
import type { RunResult } from '../metrics.js';
import { short, type Outcome, type RunContext } from './context.js';

const GIT_ONLY = new Set<TriggerReason>(['poll', 'retry', 'webhook']);
/** Outcomes that a re-run of the same commit would only repeat (drift is the drift timer's job). */
const SETTLED = new Set<RunResult>(['in_sync', 'applied', 'invalid', 'planned']);

export async function fetchStage(ctx: RunContext): Promise<SourceSnapshot | Outcome> {
  const snapshot = await sync(ctx);
  if ('result' in snapshot) return snapshot;
  const { commit } = snapshot;
  ctx.update({ commit });
  const gitOnly = [...ctx.reasons].every((r) => GIT_ONLY.has(r));
  if (
    gitOnly &&
    commit !== null &&
    commit === ctx.memory.lastEvaluatedCommit &&
    ctx.state.outcome !== null &&
    SETTLED.has(ctx.state.outcome)
  ) {
    return { result: 'unchanged', commit, message: `no new commit (${short(commit)})` };
  }
  return snapshot;
}

async function sync(ctx: RunContext): Promise<SourceSnapshot | Outcome> {
  const { o, state } = ctx;
  try {
    const snapshot = await o.source.sync();
    ctx.update({
      git: {
        lastFetchAt: ctx.now().toISOString(),
        lastError: null,
        consecutiveFailures: 0,
        nextRetryAt: null,
      },
    });
    return snapshot;
  } catch (err) {
    const message = o.redactor.errorMessage(err);
    const failures = state.git.consecutiveFailures + 1;
    o.metrics.gitFetchFailures.inc();
    const retryAt = o.onFetchFailure?.(failures) ?? null;
    ctx.update({
      git: {
        ...state.git,
        lastError: message,
        consecutiveFailures: failures,
        nextRetryAt: retryAt?.toISOString() ?? null,
      },
    });
    const last = o.source.last;
    if (last && ctx.reasons.has('drift')) {
      o.logger.warn(
        { commit: last.commit },
        `fetch failed, checking drift against the last fetched commit: ${message}`,
      );
      return last;
    }
    ctx.problems([{ code: 'GIT_FETCH', message, location: null, address: null }]);
    return {
      result: 'failed',
      commit: state.commit,
      message: `fetch failed (attempt ${failures}); the control plane keeps its state: ${message}`,
    };
  }
}
