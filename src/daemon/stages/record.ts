/**
 * Stage record: write one run down — /status (last run, outcome, readiness, approvals), the
 * metrics and one log line per run carrying commit, duration, phases, summary, the first
 * errors, blocked and held changes, so the log alone says what happened and what to fix.
 */
import type { DaemonStatus } from '../status.js';
import type { Outcome, RunContext } from './context.js';

export function recordStage(ctx: RunContext, id: number, outcome: Outcome, startedAt: Date): void {
  const { o, state, reasons } = ctx;
  // Recording itself is the last phase; the clock stops before the status is written.
  const { phases, durationMs } = ctx.finish();
  const applied = outcome.applied ?? { create: 0, update: 0, replace: 0, delete: 0 };
  state.lastRun = {
    id,
    trigger: [...reasons].sort(),
    startedAt: startedAt.toISOString(),
    finishedAt: ctx.now().toISOString(),
    durationMs,
    result: outcome.result,
    commit: outcome.commit,
    message: outcome.message,
    applied,
    phasesMs: { ...phases },
  };
  if (outcome.result !== 'unchanged') state.outcome = outcome.result;
  // `unchanged` confirms the last outcome (Git has not moved), so it counts when that did.
  const success = ['applied', 'in_sync', 'planned'].includes(state.outcome ?? '');
  if (success) {
    state.lastSuccessAt = ctx.now().toISOString();
    o.metrics.lastSuccess.set(ctx.now().getTime() / 1000);
  }
  if (ctx.memory.controlPlaneAnswered && !state.ready) {
    state.ready = true;
    o.metrics.up.set(1);
  }
  o.metrics.reconcileRuns.inc({ result: outcome.result });
  o.metrics.reconcileDuration.observe({ result: outcome.result }, durationMs / 1000);
  for (const [phase, ms] of Object.entries(phases))
    o.metrics.phaseDuration.observe({ phase }, ms / 1000);

  const approvals = o.approvals.status();
  const line = {
    run: id,
    trigger: [...reasons].sort(),
    commit: outcome.commit,
    result: outcome.result,
    durationMs,
    phasesMs: phases,
    summary: state.summary,
    applied,
    errors: state.errors.length,
    ...firstErrors(state, outcome),
    // plan.md: blocked changes are reported on every run until the repo or control plane changes.
    ...(state.blocked.length > 0
      ? { blocked: state.blocked.map((b) => `${b.address}: ${b.reason ?? 'blocked'}`) }
      : {}),
    ...(state.waitingForApproval.length > 0
      ? {
          waitingForApproval: state.waitingForApproval.map((c) => `${c.action} ${c.address}`),
          heldFingerprint: approvals.pending?.fingerprint ?? null,
        }
      : {}),
    ...(approvals.lastApplied && approvals.lastApplied.appliedAt >= startedAt.toISOString()
      ? {
          approval: {
            fingerprint: approvals.lastApplied.fingerprint,
            approver: approvals.lastApplied.approver,
            via: approvals.lastApplied.via,
            source: approvals.lastApplied.source,
          },
        }
      : {}),
  };
  const level = outcome.result === 'failed' || outcome.result === 'invalid' ? 'warn' : 'info';
  if (outcome.result === 'unchanged') o.logger.debug(line, outcome.message);
  else o.logger[level](line, outcome.message);
}

function firstErrors(state: DaemonStatus, outcome: Outcome): { firstErrors?: string[] } {
  if (state.errors.length === 0 || outcome.result === 'unchanged') return {};
  // The first few, so the log alone says what to fix; /status has them all.
  return {
    firstErrors: state.errors
      .slice(0, 5)
      .map((e) => `${e.location ?? e.address ?? '-'}: ${e.code}: ${e.message}`),
  };
}
