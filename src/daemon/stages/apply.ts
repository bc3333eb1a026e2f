/**
 * Stage apply: the gate's plan applied as `poolsync apply` does (src/ops/apply-run.ts), under its
 * apply lock, which records the inventory (what prune may delete). No new step starts once the
 * daemon shuts down or loses the lock, or applies freeze (a suspension, told before `poolsync
 * suspend` is answered; a sync window, read at each step boundary), and a step in flight
 * finishes; once the leadership term ends its calls in flight are abandoned too, and nothing more
 * is recorded. The lock held elsewhere, or the executor refusing the plan, fail the run for a
 * retry; a run the freeze stopped is `frozen`, with what ran and what did not. A newer head that
 * declares something else (Reconciler.supersede) stops it the same way: `superseded`.
 */
import type { ApplyEvent, ApplyResult } from '../../apply/types.js';
import { applyOutcome, doneCounts } from '../../apply/report.js';
import type { ControlPlane } from '../../controlplane/types.js';
import { ACTIONABLE_ACTIONS } from '../../model/plan.js';
import { countsText, heldForApproval, repositoryConflictLines } from '../../render/common.js';
import { heldByOtherRepository } from '../../plan/counts.js';
import { runWords, stopWords } from '../../render/daemon-words.js';
import { errorCode, problem, reachedUpdate, type RunContext, type Staged } from './context.js';
import type { GateDecision } from './plan.js';
import { applyRun, type ApplyPhase, type ApplyRecording } from '../../ops/apply-run.js';

/** Step error codes a later attempt may not meet (the client's retries ran out). */
const TRANSIENT_CODES = new Set([
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
  'UNKNOWN',
  'ABORTED',
]);

export async function applyStage(
  ctx: RunContext,
  cp: ControlPlane,
  decision: GateDecision,
  commit: string | null,
): Promise<Staged<never>> {
  const { o } = ctx;
  const notLeading = o.leadership?.notLeading() ?? null;
  if (notLeading !== null)
    return { value: { result: 'failed', commit, message: runWords.notApplied(notLeading) } };
  if (ctx.signal.aborted)
    return { value: { result: 'stopped', commit, message: runWords.shuttingDown() } };
  ctx.applying = true;
  let lost!: AbortSignal;
  let phase: ApplyPhase | null = null;
  let result: ApplyResult;
  // A freeze that begins while the steps run stops the next step (issue 74 item 6). A run that
  // overrides the freeze is stopped by a new suspension only, not by the windows it overrode.
  const frozen = new AbortController();
  const override = ctx.reasons.has('override');
  const atBoundary = () => {
    const why = override || frozen.signal.aborted ? null : (o.freeze?.why() ?? null);
    if (why !== null) frozen.abort(why);
  };
  const unsubscribe = o.freeze?.onSuspend?.((why) => frozen.abort(why)) ?? (() => {});
  try {
    const ran = await applyRun(
      { kind: 'planned', plan: decision.plan },
      {
        locks: {
          kind: 'daemon',
          cp,
          lock: { ...o.pipeline.applyLock, term: ctx.term },
          record: recording(ctx, cp),
        },
        // `apply` is the executor alone: the inventory written before and after it is the run's
        // record, so a shutdown cut off there is not said to cut steps off (docs/daemon.md#shutdown).
        phase: (p) => ctx.enter((phase = p) === 'apply' ? 'record' : p),
        stderr: (text) => o.logger.warn(o.redactor.scrub(text.trimEnd())),
        execute: (p, on, lockLost) => {
          lost = lockLost;
          o.onApplyPlan?.(decision.whole, decision.held);
          ctx.enter('apply');
          const steps = o.pipeline.executePlan(p, on, {
            parallelism: o.config.parallelism,
            waitTimeoutMs: o.config.waitTimeoutMs,
            signal: AbortSignal.any([
              ctx.signal,
              lockLost,
              ctx.term.signal,
              frozen.signal,
              ctx.superseded.signal,
            ]),
            // Without the lock or the term no call may be made, a registration's disable included.
            halt: AbortSignal.any([lockLost, ctx.term.signal]),
            onEvent: (e) => {
              // Told before the executor starts the next step: a window that closed stops it.
              if (e.type === 'step_finished') atBoundary();
              logEvent(ctx, lockLost, frozen.signal, e);
            },
          });
          return steps.finally(() => ctx.enter('record'));
        },
      },
    );
    // A planned source always runs its steps: there is a result.
    result = ran.result!;
  } catch (err) {
    const message = o.redactor.errorMessage(err);
    const locked = phase === 'lock';
    return {
      value: {
        result: 'failed',
        commit,
        message: locked ? runWords.notApplied(message) : runWords.applyRefused(message),
        transient: true,
      },
      status: { errors: [problem(locked ? 'LOCKED' : errorCode(err, 'APPLY'), message)] },
    };
  } finally {
    unsubscribe();
  }
  const products = {
    applied: {
      notDone: new Set(result.steps.filter((s) => s.status !== 'done').map((s) => s.target)),
      held: new Set(decision.held.map((c) => c.address)),
    },
  };
  const { blocked: _blocked, ...applied } = result.counts;
  for (const action of ACTIONABLE_ACTIONS) {
    if (applied[action] > 0) o.metrics.changesApplied.inc({ action }, applied[action]);
  }
  const approvedBy = decision.approval?.approver;
  const done = {
    commit,
    applied,
    changed: result.applied,
    ...(approvedBy !== undefined && result.applied.length > 0 ? { approvedBy } : {}),
  };
  // The one classification of a result (src/apply/report.ts), as `poolsync apply` makes it.
  const outcome = applyOutcome(result);
  if (outcome === 'applied') {
    // Every step done (the gate may hold some): what they changed, in the one count
    // (src/plan/counts.ts) as `poolsync apply` says it; what is held, not applied, after it.
    const summaryText = countsText(result.counts, doneCounts);
    if (decision.held.length > 0 && decision.heldFingerprint !== null) {
      // docs/daemon.md#guardrails: a guardrail holding them whatever the policy is named.
      const { heldBy, heldFingerprint } = decision;
      const policy = decision.heldByPolicy === null ? '' : `${decision.heldByPolicy}: `;
      const by = heldBy.length > 0 ? `${runWords.heldByGuardrails(heldBy)}: ` : policy;
      const unapproved = decision.unapproved.map((w) => `; ${w}`).join('');
      const message = `applied: ${summaryText}; ${by}${heldForApproval(decision.held, heldFingerprint)}${unapproved}`;
      const value = { message, heldFingerprint, ...done };
      return { value: { result: 'waiting_for_approval', ...value }, products };
    }
    const message = runWords.applied(summaryText, decision.approval?.approver ?? null);
    // docs/daemon.md#status: what another repository's record holds back leaves the commit not
    // applied, as when it is all there is to do (stages/plan.ts gateStage): `failed`, never `applied`.
    const other = heldByOtherRepository(decision.whole);
    if (other.length > 0) {
      const why = runWords.heldByOtherRepository(other, repositoryConflictLines(decision.whole));
      return { value: { result: 'failed', ...done, message: `${message}; ${why}` }, products };
    }
    return {
      value: { result: 'applied', message, ...done },
      status: { appliedCommit: commit },
      remember: { converged: decision.desired },
      products,
    };
  }
  if (outcome === 'manual_steps_left') {
    // The daemon never runs manual commands: a person runs the runbook (`poolsync apply`).
    const manual = decision.plan.steps.filter((s) => result.manual.includes(s.id));
    const errors = manual.map((s) =>
      problem('MANUAL_STEP', runWords.manualStep(s.op, s.manual?.command), s.target),
    );
    const waiting = result.steps.filter((s) => s.status === 'waiting').length;
    const message = runWords.manualSteps(manual.length, waiting);
    return { value: { result: 'failed', message, ...done }, status: { errors }, products };
  }
  // Steps failed, or the run was stopped: the next run continues from the live state.
  const failed = result.steps.filter((s) => s.status === 'failed');
  const notRun = result.steps.filter((s) => s.status === 'not_run').length;
  const errors = failed.map((s) =>
    problem(
      s.error?.code ?? 'APPLY',
      o.redactor.scrub(runWords.stepFailed(s.op, s.error?.message)),
      s.target,
    ),
  );
  // Calls that got no answer past their retries: /status says so, not the last read's "reachable".
  const unanswered = failed.find((s) => s.error?.code === 'UNAVAILABLE')?.error?.message ?? null;
  const reach = unanswered === null ? {} : reachedUpdate(cp.backend.name, unanswered, ctx.now());
  const stopped = result.aborted ? stopReason(ctx, lost, frozen.signal) : null;
  const byUs = result.aborted && !ctx.signal.aborted && !ctx.term.signal.aborted && !lost.aborted;
  // Stopped by a newer head or the freeze: a wait it ended is no failure, its step is said as stopped.
  const notStarted = result.steps.filter((s) => s.status === 'not_run');
  const waits = failed.filter((s) => s.error?.code === 'ABORTED').length;
  const counts = {
    ran: result.steps.filter((s) => s.status === 'done').length,
    waits,
    failed: failed.length - waits,
    notRun: notStarted.length,
  };
  const stopErrors = errors.filter((e) => e.code !== 'ABORTED');
  if (byUs && !frozen.signal.aborted && ctx.superseded.signal.aborted) {
    // docs/daemon.md#triggers: the branch no longer asks for this commit; the follow-up run plans its head.
    const head = String(ctx.superseded.signal.reason);
    return {
      value: {
        result: 'superseded',
        message: runWords.superseded(head, counts),
        ...done,
        stopped: {
          by: stopWords.superseded(head),
          notRun: notStarted.map((s) => `${s.op} ${s.target}`),
        },
      },
      status: { errors: stopErrors, ...reach },
      products,
    };
  }
  if (stopped !== null && byUs && frozen.signal.aborted) {
    // Stopped by the freeze: recorded as frozen, with what ran (`changed`) and what did not; after
    // a suspension `poolsync resume` plans again, after a sync window the first run once it ends.
    o.metrics.stoppedByFreeze.inc();
    return {
      value: {
        result: 'frozen',
        message: runWords.stoppedByFreeze(stopped, counts, o.freeze?.windowsOpenAt?.()),
        ...done,
        stopped: { by: 'freeze', notRun: notStarted.map((s) => `${s.op} ${s.target}`) },
      },
      status: { errors: stopErrors, ...reach },
      products,
    };
  }
  return {
    value: {
      result: stopped === stopWords.shutdown && failed.length === 0 ? 'stopped' : 'failed',
      message: runWords.incomplete(stopped, failed.length, notRun),
      ...done,
      // Steps the control plane refused for good (FAILED_PRECONDITION ...) fail the same way
      // next time; UNAVAILABLE, timeouts and lost connections may pass.
      transient: !result.aborted && failed.some((s) => TRANSIENT_CODES.has(s.error?.code ?? '')),
    },
    status: { errors, ...reach },
    products,
  };
}

function logEvent(ctx: RunContext, lost: AbortSignal, frozen: AbortSignal, e: ApplyEvent): void {
  const { o } = ctx;
  if (e.type === 'step_finished') {
    const fields = {
      step: e.step.id,
      op: e.step.op,
      target: e.step.target,
      durationMs: Math.round(e.duration_ms),
    };
    if (e.status === 'failed') {
      o.logger.warn(
        { ...fields, error: e.error && o.redactor.scrub(`${e.error.code}: ${e.error.message}`) },
        'step failed',
      );
    } else o.logger.info(fields, 'step done');
  } else if (e.type === 'wait_progress') {
    o.logger.info(
      {
        step: e.step.id,
        queue: e.queue,
        runs: e.runs_in_flight,
        actions: e.actions_in_flight,
        state: e.state,
        elapsedMs: e.elapsed_ms,
      },
      'waiting for in-flight work to finish',
    );
  } else if (e.type === 'stopping') {
    o.logger.warn(
      { reason: e.reason, why: stopReason(ctx, lost, frozen) },
      'no new steps will start',
    );
  }
}

function stopReason(ctx: RunContext, lost: AbortSignal, frozen: AbortSignal): string {
  if (ctx.signal.aborted) return stopWords.shutdown;
  if (ctx.term.signal.aborted) return stopWords.leadership;
  if (lost.aborted) return stopWords.lock;
  // Aborted with the freeze's words (freezeWords).
  if (frozen.aborted) return stopWords.freeze(String(frozen.reason));
  if (ctx.superseded.signal.aborted)
    return stopWords.superseded(String(ctx.superseded.signal.reason));
  return stopWords.failure;
}

/**
 * The inventory only (no last-applied state); a failure to write it is logged, not fatal. No
 * write starts once the run's term ended, and one in flight is abandoned (its calls carry it).
 */
export function recording(ctx: RunContext, cp: ControlPlane): ApplyRecording {
  const { o } = ctx;
  const store = o.pipeline.inventoryOf?.(cp, ctx.term.signal) ?? null;
  return {
    inventory: store && {
      where: store.where,
      controlPlane: store.controlPlane,
      read: () => store.read(),
      // What its plan read as pending (a CLI apply from here never completed), its record reads too.
      began: store.began,
      write: (record) => {
        ctx.term.signal.throwIfAborted();
        return store.write(record);
      },
    },
    lastApplied: null,
    ...(o.pipeline.applier ? { applier: o.pipeline.applier } : {}),
    warn: ({ err }) =>
      o.logger.warn(
        { err: o.redactor.errorMessage(err) },
        'could not record the inventory (what prune may delete)',
      ),
    recorded: (addresses) => o.logger.info({ objects: addresses.length }, 'inventory recorded'),
    takenBack: () =>
      o.logger.info(
        'no step was sent: the inventory written ahead of the first one was taken back',
      ),
  };
}
