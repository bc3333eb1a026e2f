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
import { runWords } from '../../render/daemon-words.js';
import { isOutcome, type RunContext, type Staged } from './context.js';
import { mergeUpdates, problemsUpdate } from './status-update.js';

const GIT_ONLY = new Set<TriggerReason>(['poll', 'retry', 'webhook']);
/** Outcomes that a re-run of the same commit would only repeat (drift is the drift timer's job). */
const SETTLED = new Set<RunResult>(['in_sync', 'applied', 'invalid', 'planned']);

export async function fetchStage(ctx: RunContext): Promise<Staged<SourceSnapshot>> {
  const { value: snapshot, status } = await sync(ctx);
  if (isOutcome(snapshot)) return { value: snapshot, status };
  const { commit } = snapshot;
  const fetched = mergeUpdates(status, { commit });
  const gitOnly = [...ctx.reasons].every((r) => GIT_ONLY.has(r));
  if (
    gitOnly &&
    commit !== null &&
    commit === ctx.memory.lastEvaluatedCommit &&
    ctx.state.outcome !== null &&
    SETTLED.has(ctx.state.outcome)
  ) {
    return {
      value: { result: 'unchanged', commit, message: runWords.unchanged(commit) },
      status: fetched,
    };
  }
  return { value: snapshot, status: fetched };
}

async function sync(ctx: RunContext): Promise<Staged<SourceSnapshot>> {
  const { o, state } = ctx;
  try {
    const snapshot = await o.source.sync();
    const git = {
      lastFetchAt: ctx.now().toISOString(),
      lastError: null,
      consecutiveFailures: 0,
      nextRetryAt: null,
    };
    return { value: snapshot, status: { git } };
  } catch (err) {
    const message = o.redactor.errorMessage(err);
    const failures = state.git.consecutiveFailures + 1;
    o.metrics.gitFetchFailures.inc();
    const retryAt = o.retry?.schedule(failures) ?? null;
    const status = {
      git: {
        ...state.git,
        lastError: message,
        consecutiveFailures: failures,
        nextRetryAt: retryAt?.toISOString() ?? null,
      },
    };
    const last = o.source.last;
    if (last && ctx.reasons.has('drift')) {
      o.logger.warn(
        { commit: last.commit },
        `fetch failed, checking drift against the last fetched commit: ${message}`,
      );
      return { value: last, status };
    }
    return {
      value: {
        result: 'failed',
        commit: state.commit,
        message: runWords.fetchFailed(failures, message),
      },
      status: mergeUpdates(
        status,
        problemsUpdate([{ code: 'GIT_FETCH', message, location: null, address: null }]),
      ),
    };
  }
}
