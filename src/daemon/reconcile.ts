/**
 * One reconcile run as named stages (src/daemon/stages/): fetch → load → plan → gate → apply
 * → record. Each stage either hands its product to the next or ends the run with an outcome.
 *
 * Safety rules the stages hold:
 * - a commit with any validation or plan error is never applied; the control plane keeps the
 *   last applied state and /status shows the errors with file:line:col (load, plan);
 * - policy `safe` applies the non-destructive part and holds the destructive changes and what
 *   depends on them until exactly their fingerprint is approved (gate, approvals.ts);
 * - only the leader applies, under the apply lock shared with `poolsync apply`; shutdown,
 *   a lost lease or a lost lock stop new steps, running ones finish (apply).
 */
import { liveFingerprint } from '../plan/fingerprint.js';
import { applyStage, recording } from './stages/apply.js';
import { recordApply } from '../ops/apply-record.js';
import { nextInventory } from '../plan/inventory.js';
import type { Plan } from '../model/plan.js';
import { renderStage } from './stages/render.js';
import {
  errorCode,
  isOutcome,
  RunContext,
  type Outcome,
  type ReconcilerOptions,
  type RunMemory,
} from './stages/context.js';
import { applyStatusUpdate } from './stages/status-update.js';
import { fetchStage } from './stages/fetch.js';
import { gateStage } from './stages/gate.js';
import { loadStage } from './stages/load.js';
import { planStage } from './stages/plan.js';
import { recordStage } from './stages/record.js';
import type { TriggerReason } from './loop.js';
import { initialStatus, type DaemonStatus } from './status.js';

export type {
  ControlPlaneAccess,
  HeldLock,
  Leadership,
  Pipeline,
  ReconcilerOptions,
} from './stages/context.js';

export class Reconciler {
  private readonly state: DaemonStatus;
  private runId = 0;
  /** Runs in a row that failed transiently (the retry backoff's exponent). */
  private transientFailures = 0;
  private readonly memory: RunMemory = {
    lastEvaluatedCommit: null,
    loaded: null,
    converged: false,
    controlPlaneAnswered: false,
  };

  constructor(private readonly o: ReconcilerOptions) {
    this.state = initialStatus(o.source.describe(), o.policy);
    if (o.controlPlaneUrl)
      applyStatusUpdate(this.state, {
        controlPlane: { url: o.redactor.scrub(o.controlPlaneUrl) },
      });
  }

  /**
   * A deep copy, safe to serialise. What is frozen is shared (a plan's lists and counts, made
   * once per plan by stages/plan.ts): copying a plan's warnings on every /status answer was
   * most of a no-op run's garbage (issue 23 item 11).
   */
  status(): DaemonStatus {
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this.state)) {
      const frozen = typeof value === 'object' && value !== null && Object.isFrozen(value);
      copy[key] = frozen ? value : structuredClone(value);
    }
    return { ...(copy as unknown as DaemonStatus), approval: this.o.approvals.status() };
  }

  get ready(): boolean {
    return this.state.ready;
  }

  /** The loop's run function. Never throws: every failure becomes a recorded result. */
  run = async (reasons: ReadonlySet<TriggerReason>, signal: AbortSignal): Promise<void> => {
    const id = ++this.runId;
    const ctx = new RunContext(this.o, this.state, this.memory, reasons, signal);
    const startedAt = ctx.now();
    let outcome: Outcome;
    try {
      outcome = await this.stages(ctx);
    } catch (err) {
      // A bug or an unexpected failure of a module: recorded, never fatal to the daemon.
      const message = this.o.redactor.errorMessage(err);
      ctx.problems([{ code: 'INTERNAL', message, location: null, address: null }]);
      outcome = { result: 'failed', commit: this.state.commit, message };
    }
    ctx.enter('record');
    this.scheduleRetry(ctx, outcome);
    recordStage(ctx, id, outcome, startedAt);
  };

  /** A failure that may pass is tried again with backoff; the next run resumes from live state. */
  private scheduleRetry(ctx: RunContext, outcome: Outcome): void {
    if (outcome.transient && !ctx.signal.aborted) {
      const failures = ++this.transientFailures;
      const at = this.o.onRunFailure?.(failures) ?? null;
      if (at) {
        const inSeconds = Math.max(0, Math.round((at.getTime() - ctx.now().getTime()) / 1000));
        outcome.message += `; retrying in ${inSeconds}s (transient failure ${failures} in a row)`;
      }
    } else if (outcome.result !== 'failed') {
      this.transientFailures = 0;
      if (this.state.git.consecutiveFailures === 0) this.o.onRunRecovered?.();
    }
  }

  private async stages(ctx: RunContext): Promise<Outcome> {
    const snapshot = await fetchStage(ctx);
    if (isOutcome(snapshot)) return snapshot;
    const { commit } = snapshot;
    const desired = await loadStage(ctx, snapshot);
    if (isOutcome(desired)) return desired;
    ctx.enter('render');
    await renderStage(ctx, snapshot, desired);
    const access = this.o.controlPlane;
    let opened = false;
    try {
      // Most runs find nothing to do: they only read (an embedded state without its lock).
      ctx.enter('open');
      const plan = await access.read(async (cp) => {
        opened = true;
        const planned = await planStage(ctx, cp, desired, commit);
        ctx.enter('close');
        return planned;
      });
      if (isOutcome(plan)) return plan;
      ctx.enter('gate');
      const decision = gateStage(ctx, plan, commit);
      if (isOutcome(decision)) {
        // In sync, and the inventory does not list yet what the repository declares (objects
        // applied before the inventory existed, or by another tool): record it.
        if (decision.result === 'in_sync' && inventoryBehind(ctx.liveInventory, plan)) {
          opened = false;
          await access.use(async (cp) => {
            opened = true;
            await recordApply(recording(ctx, cp), cp, plan, null);
          });
        }
        return decision;
      }
      opened = false;
      ctx.enter('open');
      return await access.use(async (cp) => {
        opened = true;
        if (access.separateReads) {
          ctx.enter('recheck');
          const now = liveFingerprint(await this.o.pipeline.readLiveState(cp));
          if (now !== plan.live_fingerprint) {
            return {
              result: 'failed',
              commit,
              message:
                'the control plane changed between the plan and the apply (another writer): nothing applied, planning again',
              transient: true,
            } satisfies Outcome;
          }
        }
        const applied = await applyStage(ctx, cp, decision, commit);
        ctx.enter('close');
        return applied;
      });
    } catch (err) {
      if (opened) throw err;
      // Opening the control plane failed (unreachable, embedded state in use by `poolsync apply`).
      const message = `cannot open the control plane: ${this.o.redactor.errorMessage(err)}`;
      ctx.reached(null, message);
      ctx.problems([
        { code: errorCode(err, 'CONTROL_PLANE'), message, location: null, address: null },
      ]);
      return { result: 'failed', commit, message };
    }
  }
}

/** The inventory a plan was made with would change if recorded now. */
function inventoryBehind(current: readonly string[] | null | undefined, plan: Plan): boolean {
  if (current === undefined || !plan.inventory) return false;
  return nextInventory(current, plan.inventory, new Set()) !== null;
}
