/**
 * Stage record: write one run down — /status (last run, outcome, readiness, approvals), the
 * metrics and one log line per run carrying commit, duration, phases, summary, the first
 * errors, blocked and held changes, so the log alone says what happened and what to fix.
 * Runs that evaluated the repository are kept in /status `runs` with their plans and drift.
 */
import {
  CHANGED_LISTED,
  driftRecord,
  planDigest,
  type RunRecord,
  withRecentRun,
} from '../status.js';
import { deepFreeze } from '../../util/deep-freeze.js';
import type { Outcome, RunContext, RunProducts, StatusUpdate } from './context.js';

/** Writes the run down; returns what it sets in /status (the reconcile loop applies it). */
export function recordStage(
  ctx: RunContext,
  products: RunProducts,
  id: number,
  outcome: Outcome,
  startedAt: Date,
): StatusUpdate {
  // Recording itself is the last phase; the clock stops before the status is written.
  const { phases, durationMs } = ctx.finish();
  const changedObjects = (outcome.changed ?? []).map((c) => ({
    address: c.address,
    action: c.action,
    sideEffect: c.side_effect,
  }));
  const lastRun: RunRecord = {
    id,
    trigger: [...ctx.reasons].sort(),
    startedAt: startedAt.toISOString(),
    finishedAt: ctx.now().toISOString(),
    durationMs,
    result: outcome.result,
    commit: outcome.commit,
    message: outcome.message,
    applied: outcome.applied ?? { create: 0, update: 0, replace: 0, delete: 0, side_effects: 0 },
    changed: changedObjects.slice(0, CHANGED_LISTED),
    changedTotal: changedObjects.length,
    phasesMs: { ...phases },
  };
  const { o, state } = ctx;
  const changed = outcome.result !== 'unchanged';
  const update: StatusUpdate = {
    lastRun,
    ...(changed ? { outcome: outcome.result, ...keptRun(ctx, products, lastRun) } : {}),
  };
  // `unchanged` confirms the last outcome (Git has not moved), so it counts when that did.
  const success = ['applied', 'in_sync', 'planned'].includes(
    (changed ? outcome.result : state.outcome) ?? '',
  );
  if (success) {
    update.lastSuccessAt = ctx.now().toISOString();
    o.metrics.lastSuccess.set(ctx.now().getTime() / 1000);
  }
  if (ctx.memory.controlPlaneAnswered && !state.ready) {
    update.ready = true;
    o.metrics.up.set(1);
  }
  o.metrics.reconcileRuns.inc({ result: outcome.result });
  o.metrics.reconcileDuration.observe({ result: outcome.result }, durationMs / 1000);
  for (const [phase, ms] of Object.entries(phases))
    o.metrics.phaseDuration.observe({ phase }, ms / 1000);
  logRun(ctx, outcome, lastRun, startedAt);
  return update;
}

/** The one log line of a run: what happened and what to fix. */
function logRun(ctx: RunContext, outcome: Outcome, run: RunRecord, startedAt: Date): void {
  const { o, state } = ctx;
  const { pending, lastApplied } = o.approvals.status();
  const held = state.waitingForApproval.length > 0;
  // Absent fields (undefined) are left out of the JSON line.
  const line = {
    run: run.id,
    trigger: run.trigger,
    commit: outcome.commit,
    result: outcome.result,
    durationMs: run.durationMs,
    phasesMs: run.phasesMs,
    summary: state.summary,
    counts: state.counts,
    applied: run.applied,
    errors: state.errors.length,
    // The first few, so the log alone says what to fix; /status has them all.
    firstErrors:
      state.errors.length === 0 || outcome.result === 'unchanged'
        ? undefined
        : state.errors
            .slice(0, 5)
            .map((e) => `${e.location ?? e.address ?? '-'}: ${e.code}: ${e.message}`),
    // plan.md: blocked changes are reported on every run until the repo or control plane changes.
    blocked:
      state.blocked.length > 0
        ? state.blocked.map((b) => `${b.address}: ${b.reason ?? 'blocked'}`)
        : undefined,
    waitingForApproval: held
      ? state.waitingForApproval.map((c) => `${c.action} ${c.address}`)
      : undefined,
    heldFingerprint: held ? (pending?.fingerprint ?? null) : undefined,
    approval:
      lastApplied && lastApplied.appliedAt >= startedAt.toISOString()
        ? {
            fingerprint: lastApplied.fingerprint,
            approver: lastApplied.approver,
            via: lastApplied.via,
            source: lastApplied.source,
          }
        : undefined,
  };
  const level = outcome.result === 'failed' || outcome.result === 'invalid' ? 'warn' : 'info';
  if (outcome.result === 'unchanged') o.logger.debug(line, outcome.message);
  else o.logger[level](line, outcome.message);
}

/**
 * /status `runs` and `lastDrift` (status.ts): what the dashboard shows of past runs. The
 * records are frozen: /status shares them instead of copying ten runs' plans per answer
 * (Reconciler.status; issue 23 item 11).
 */
function keptRun(
  ctx: RunContext,
  products: RunProducts,
  run: RunRecord,
): Pick<StatusUpdate, 'lastDrift' | 'runs'> {
  // A frozen copy of the plan's digest (the plan itself stays as the planner made it).
  const digest = products.plan ? deepFreeze(structuredClone(planDigest(products.plan))) : null;
  const drift = driftRecord(run, products.drift, products.applied);
  return {
    ...(drift ? { lastDrift: drift } : {}),
    runs: deepFreeze(
      withRecentRun(ctx.state.runs, {
        ...run,
        plan: digest?.plan ?? null,
        planChangesOmitted: digest?.omitted ?? 0,
        drift,
      }),
    ),
  };
}
