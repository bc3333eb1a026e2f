/**
 * One reconcile run as named stages (src/daemon/stages/): fetch → load → plan → gate → apply
 * → record. Each stage either hands its product to the next or ends the run with an outcome
 * (each stage's doc says the safety rule it holds: nothing invalid is applied, `safe` holds the
 * destructive part, only the leader applies under the apply lock). The record (recordStage,
 * below) writes the run down: /status, the metrics, one log line.
 */
import { applyStage, recording } from './stages/apply.js';
import { recordApply } from '../ops/apply-run.js';
import { inventoryBehind } from '../plan/inventory.js';
import { notMadeBy } from '../apply/inventory.js';
import { recheckPlan } from '../ops/stale-plan.js';
import { classify } from '../ops/plan-run.js';
import type { ControlPlane } from '../controlplane/types.js';
import {
  driftBaseStage,
  fetchStage,
  loadStage,
  renderStage,
  rulesStage,
} from './stages/repository.js';
import {
  applyStatusUpdate,
  isOutcome,
  type Outcome,
  problem,
  problemsUpdate,
  type ReconcilerOptions,
  RunContext,
  type RunMemory,
  type RunProducts,
  type Staged,
  type StatusUpdate,
  supersedable,
  unreachedUpdate,
} from './stages/context.js';
import { gateStage, managedUpdate, planStage } from './stages/plan.js';
import { policyGate, policyStage } from './stages/policies.js';
import type { TriggerReason } from './loop.js';
import {
  CHANGED_LISTED,
  type DaemonStatus,
  driftRecord,
  initialStatus,
  lastAppliedCommit,
  planDigest,
  type RecentRun,
  retained,
  type RunRecord,
  totalOf,
  withRecentRun,
} from './status.js';
import { deepFreeze } from '../util/deep-freeze.js';
import { joinedHistory, nextTerm } from './shared-history.js';
import { countPlan } from '../plan/counts.js';
import { approvalFields } from './approvals.js';
import { rollbackWords, runWords } from '../render/daemon-words.js';
import { isRenderKind, type UnnamedRender } from '../render/rendered-files.js';
import { SOLE_TERM, type Term } from '../lease/leader-elector.js';
import type { LiveState, SettingsNeed } from '../model/live.js';
import type { DesiredState } from '../model/desired.js';
import { cleanBeside, type SourceSnapshot } from './git-source.js';
import type { Change } from '../model/plan.js';
import { ObjectsView } from './objects.js';
import { firstErrors, type RunView } from '../notify/daemon-hook.js';
export class Reconciler {
  private readonly state: DaemonStatus;
  private runId = 0;
  /** Runs in a row that failed transiently (the retry backoff's exponent). */
  private transientFailures = 0;
  private memory: Readonly<RunMemory> = Object.freeze({
    lastEvaluatedCommit: null,
    loaded: null,
    converged: null,
    controlPlaneAnswered: false,
  });

  constructor(private readonly o: ReconcilerOptions) {
    this.state = initialStatus(o.source.describe(), o.config.policy);
    this.state.controlPlane.url = o.redactor.scrub(o.config.controlPlane.url);
    const kept = o.history?.kept;
    if (kept) {
      const age = { maxAgeMs: o.config.historyMaxAgeMs ?? 0, now: o.clock?.now() ?? Date.now() };
      const runs = retained(kept.runs, o.config.historyLimit, age);
      applyStatusUpdate(this.state, {
        runs: deepFreeze(runs),
        lastDrift: kept.lastDrift,
        appliedCommit: lastAppliedCommit(kept.runs),
      });
      this.runId = Math.max(0, ...kept.runs.map((r) => r.repeats?.lastId ?? r.id));
    }
    // A history set aside starts anew while the rollback kept still names its run: never reused.
    this.runId = Math.max(this.runId, o.rollback?.current?.run ?? 0);
  }

  /** One write of the history at a time. */
  private saving: Promise<void> = Promise.resolve();

  /**
   * A deep copy, safe to serialise. What is frozen is shared (a plan's lists and counts, made
   * once per plan by stages/plan.ts): copying a plan's warnings on every /status answer was
   * most of a no-op run's garbage (issue 23 item 11).
   */
  status(): DaemonStatus {
    if (this.managedOf !== null) {
      applyStatusUpdate(this.state, managedUpdate(...this.managedOf));
      this.managedOf = null;
    }
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this.state)) {
      const frozen = typeof value === 'object' && value !== null && Object.isFrozen(value);
      copy[key] = frozen ? value : structuredClone(value);
    }
    const c = this.current;
    return {
      ...(copy as unknown as DaemonStatus),
      approval: this.o.approvals.status(),
      ...(c
        ? {
            running: {
              id: c.id,
              trigger: c.trigger,
              startedAt: c.startedAt,
              phase: c.ctx.currentPhase,
            },
          }
        : {}),
    };
  }

  /** The run in progress (/status `running`), its phase read when asked. */
  private current: {
    id: number;
    trigger: TriggerReason[];
    startedAt: string;
    ctx: RunContext;
  } | null = null;

  /**
   * What notifications read of the last run: the fields as they are (each run replaces them,
   * never changes them in place), without the copy of status() nor its `managed`.
   */
  runView(): RunView {
    const { source, lastRun, waitingForApproval, errors } = this.state;
    return { source, lastRun, waitingForApproval, errors };
  }

  /** The last run's record itself: each run replaces it, never changes it in place. */
  get lastRun(): RunRecord | null {
    return this.state.lastRun;
  }

  get ready(): boolean {
    return this.state.ready;
  }

  /** The run in progress is in its apply stage (a shutdown lets its running steps finish). */
  get applying(): boolean {
    return this.current?.ctx.applying ?? false;
  }

  /** The look at the branch head under way: a poll and a webhook at once share it. */
  private looking: Promise<void> | null = null;

  /**
   * A trigger during a run (poll, webhook, sync): when the run applies the branch head and the
   * branch moved to a commit declaring something else, its apply starts no further step
   * (stages/apply.ts) and the follow-up run plans the new head (docs/daemon.md#triggers).
   */
  supersede(): Promise<void> {
    const ctx = this.current?.ctx;
    const applying = ctx?.applyingHead ?? null;
    const { source, logger, redactor } = this.o;
    if (!ctx || applying === null || !source.supersedes || ctx.superseded.signal.aborted)
      return Promise.resolve();
    return (this.looking ??= source
      .supersedes(applying.commit, applying.reads)
      .then(
        (head) => {
          if (head !== null) ctx.superseded.abort(head);
        },
        (err: unknown) =>
          logger.warn(
            { err: redactor.errorMessage(err) },
            'a newer head could not be looked for: the apply goes on',
          ),
      )
      .finally(() => (this.looking = null)));
  }

  /** The leadership term of the run in progress: once it ended the run writes nothing more. */
  private term: Term = SOLE_TERM;

  /**
   * The live state /status `managed` is made of, on the first status() after the run: a run
   * nobody asks about makes none (~6 ms at 10,000 objects). Only a state with an inventory read
   * replaces it, as managedUpdate changes nothing for one without.
   */
  private managedOf: [live: LiveState, repository: string | null] | null = null;

  /** The last run's objects, for the dashboard. */
  objects: ObjectsView | null = null;

  /** Never throws: every failure becomes a recorded result. */
  run = async (
    reasons: ReadonlySet<TriggerReason>,
    signal: AbortSignal,
    requestedAt = performance.now(),
  ): Promise<void> => {
    const ctx = new RunContext(this.o, this.state, () => this.memory, reasons, signal);
    await this.joinShared(ctx.term, signal);
    const id = ++this.runId;
    ctx.requestedAt = requestedAt;
    this.term = ctx.term;
    const products: RunProducts = {
      plan: null,
      liveInventory: undefined,
      drift: [],
      applied: null,
    };
    const startedAt = ctx.now();
    const trigger = [...reasons].sort();
    this.current = { id, trigger, startedAt: startedAt.toISOString(), ctx };
    let outcome: Outcome;
    try {
      outcome = await this.stages(ctx, products);
      if (products.invalidHead) outcome = this.headInvalid(ctx, outcome, products.invalidHead);
      else outcome = this.withRenderedFiles(outcome, products.unnamedRender ?? []);
    } catch (err) {
      // A bug or an unexpected failure of a module: recorded, never fatal to the daemon.
      const message = this.o.redactor.errorMessage(err);
      if (!ctx.term.signal.aborted)
        applyStatusUpdate(this.state, problemsUpdate([problem('INTERNAL', message)]));
      outcome = { result: 'failed', commit: this.state.commit, message };
    }
    // A term that ended during the run: never said as done, but the steps it did are kept in
    // this replica's own record (as a shutdown's incomplete apply keeps them); the shared copy
    // is the next leader's, never written after the term.
    if (ctx.term.signal.aborted) {
      const why = this.o.redactor.errorMessage(ctx.term.signal.reason);
      const { applied, changed } = outcome;
      outcome = {
        result: 'failed',
        commit: outcome.commit,
        message: runWords.deposed(why, ctx.applying ? (applied ?? NOTHING_APPLIED) : null),
        ...(ctx.applying && applied ? { applied, changed: changed ?? [] } : {}),
      };
    }
    // A shutdown before the apply cut the run's calls (unit.ts): nothing was applied, and no
    // failure is said (docs/daemon.md#shutdown).
    else if (shutBeforeApply(ctx, outcome))
      outcome = { result: 'stopped', commit: outcome.commit, message: runWords.shuttingDown() };
    ctx.enter('record');
    // /status `managed`: once a run, of the live state it ended with (read again after a write).
    if (products.live?.inventory !== undefined && !ctx.term.signal.aborted)
      // The repository as its plan names it (src/plan/index.ts, repositoryOfPlan).
      this.managedOf = [
        products.live,
        products.desired?.config.repository ?? this.o.pipeline.repository ?? null,
      ];
    this.scheduleRetry(ctx, outcome);
    // Under election only: `--lock` replicas all run at once, in no term.
    const joined = this.joined?.term.signal === ctx.term.signal ? this.joined : null;
    const term = ctx.term.id !== null ? joined?.place : undefined;
    const recorded = recordStage(ctx, products, { id, term }, outcome, startedAt);
    applyStatusUpdate(this.state, { ...recorded, ...this.applied });
    this.applied = {};
    this.current = null;
    const { plan, desired, live, applied } = products;
    if (plan && desired && !ctx.term.signal.aborted) {
      this.objects = new ObjectsView({
        run: id,
        commit: outcome.commit,
        plan,
        desired,
        live: live ?? null,
        held: new Set(this.state.waitingForApproval.map((c) => c.address)),
        applied,
        repoRelative: (file) => ctx.repoRelative(file),
      });
    }
    const history = this.o.history;
    if (history && recorded.runs) {
      const kept = { runs: this.state.runs, lastDrift: this.state.lastDrift };
      this.saving = this.saving
        .then(() => history.save(kept, ctx.term.signal))
        .catch((err: unknown) =>
          this.o.logger.warn(
            { err: this.o.redactor.errorMessage(err) },
            'cannot keep the run history',
          ),
        );
      await this.saving;
    }
  };

  /**
   * A run that evaluated its commit says what `poolsync plan` and `apply` say of the generated
   * files the commit changes (the render stage's /status `renderedFiles`) and of the objects of
   * kinds no file is named for (`unnamed`, the plan stage's): no plan sends them, so an `in sync`
   * or `applied` must not read as all done. Unknown is no change: the result stays (docs/plan.md).
   */
  private withRenderedFiles(outcome: Outcome, unnamed: readonly UnnamedRender[]): Outcome {
    const files = this.state.renderedFiles.flatMap((f) =>
      isRenderKind(f.kind) ? [{ ...f, kind: f.kind }] : [],
    );
    const none = files.length === 0 && unnamed.length === 0;
    if (none || ['failed', 'invalid', 'unchanged'].includes(outcome.result)) return outcome;
    const { source, controlPlane } = this.o.config;
    const dir = source.kind === 'git' ? source.path : source.dir;
    const where = { dir, ...(controlPlane.environment ? { env: controlPlane.environment } : {}) };
    return {
      ...outcome,
      message: runWords.renderedFiles(outcome.message, [...unnamed, ...files], where),
      ...(files.length > 0
        ? { renderedFiles: files.map(({ kind, path, status }) => ({ kind, path, status })) }
        : {}),
      ...(unnamed.length > 0 ? { unnamedRender: [...unnamed] } : {}),
    };
  }

  /**
   * The term whose copy of the history beside the Lease was merged in (shared-history.ts), and
   * its place among the terms that wrote it, recorded in each of its runs.
   */
  private joined: { term: Term; place: number } | null = null;

  /**
   * Before a term's first run records: the runs earlier leaders kept beside the Lease that this
   * replica lacks, so ids go on from theirs; a run of its own under a number the copy gives
   * another run (recorded after its term ended, or never copied) is renumbered after them
   * (joinedHistory). Unread (the API server did not answer): the run goes on and the next one
   * tries again.
   */
  private async joinShared(term: Term, shutdown: AbortSignal): Promise<void> {
    const history = this.o.history;
    // By its signal: each read of the current term is a new object (LeaderElector.currentTerm).
    if (!history?.shared || this.joined?.term.signal === term.signal || term.signal.aborted) return;
    try {
      const copy = await history.shared(AbortSignal.any([term.signal, shutdown]));
      let place = nextTerm(this.state.runs);
      if (copy !== null && !term.signal.aborted) {
        const age = {
          maxAgeMs: this.o.config.historyMaxAgeMs ?? 0,
          now: this.o.clock?.now() ?? Date.now(),
        };
        const own = { runs: this.state.runs, lastDrift: this.state.lastDrift };
        const joined = joinedHistory(own, copy, this.o.config.historyLimit, age);
        applyStatusUpdate(this.state, {
          runs: deepFreeze(joined.runs),
          lastDrift: joined.lastDrift,
          // Another leader may have applied since this replica last did: the newest of both.
          appliedCommit: lastAppliedCommit(joined.runs) ?? this.state.appliedCommit,
        });
        this.runId = Math.max(this.runId, joined.highest);
        place = joined.term;
        // Another leader may have applied since this replica's last term: measured from the history.
        this.memory = Object.freeze({ ...this.memory, converged: null });
        if (joined.renumbered.size > 0)
          this.o.logger.warn(
            { renumbered: Object.fromEntries(joined.renumbered) },
            'runs of this replica renumbered: the run history kept beside the Lease gives their numbers to runs of another leader',
          );
      }
      this.joined = { term, place };
    } catch (err) {
      // A shutdown cut it: there is no next run to try again.
      if (shutdown.aborted) return;
      this.o.logger.warn(
        { err: this.o.redactor.errorMessage(err) },
        'cannot read the run history kept beside the Lease: the next run tries again',
      );
    }
  }

  /**
   * A drift run of an invalid head (driftBaseStage) is the head's: recorded `invalid` (`failed`:
   * plan errors) with its errors before the drift check's, saying what that check did; polls of
   * an `invalid` head stay `unchanged`.
   */
  private headInvalid(
    ctx: RunContext,
    checked: Outcome,
    head: NonNullable<RunProducts['invalidHead']>,
  ): Outcome {
    if (!ctx.term.signal.aborted) {
      const errorsTotal = head.errorsTotal + totalOf(this.state.errors, this.state.errorsTotal);
      applyStatusUpdate(this.state, {
        errors: [...head.errors, ...this.state.errors],
        errorsTotal,
      });
      this.memory = Object.freeze({ ...this.memory, lastEvaluatedCommit: head.commit });
    }
    const { transient: _, ...outcome } = checked;
    const message = runWords.driftChecked(head, checked.message);
    return { ...outcome, result: head.result, commit: head.commit, message };
  }

  /**
   * Before its apply starts, the run is kept as cut off, until its own record replaces it: a
   * daemon killed while it applies (kill -9) leaves that line, and the next start numbers its
   * runs after it, so every run number /status showed is one the history answers.
   */
  private async keepStarted(
    ctx: RunContext,
    commit: string | null,
    products: RunProducts,
  ): Promise<void> {
    const { history, config } = this.o;
    const c = this.current;
    if (!history || c === null || ctx.term.signal.aborted) return;
    const { id, trigger, startedAt } = c;
    // The plan it began to apply (planDigest makes a new one: the planner's plan is not kept).
    const digest = products.plan
      ? planDigest(products.plan)
      : { plan: null, omitted: 0, problemsOmitted: 0 };
    // Until its apply began, the last time known of it: a kill leaves no later one.
    const applyAt = ctx.now();
    const run: RecentRun = {
      id,
      trigger,
      startedAt,
      finishedAt: applyAt.toISOString(),
      durationMs: applyAt.getTime() - Date.parse(startedAt),
      result: 'failed',
      commit,
      message: runWords.cutOff,
      applied: NOTHING_APPLIED,
      changed: [],
      changedTotal: 0,
      phasesMs: {},
      plan: digest.plan,
      planChangesOmitted: digest.omitted,
      ...(digest.problemsOmitted > 0 && { planProblemsOmitted: digest.problemsOmitted }),
      counts: products.counts ?? null,
      drift: null,
    };
    const age = { maxAgeMs: config.historyMaxAgeMs ?? 0, now: applyAt.getTime() };
    const runs = withRecentRun(this.state.runs, run, config.historyLimit, age);
    this.saving = this.saving
      .then(() => history.save({ runs, lastDrift: this.state.lastDrift }, ctx.term.signal))
      .catch((err: unknown) =>
        this.o.logger.warn(
          { err: this.o.redactor.errorMessage(err) },
          'cannot keep the run history',
        ),
      );
    await this.saving;
  }

  /** The run's `appliedCommit`, published with its `lastRun`: never beside the run before. */
  private applied: Pick<StatusUpdate, 'appliedCommit'> = {};

  private take<T>(staged: Staged<T>, products?: RunProducts): T | Outcome {
    if (this.term.signal.aborted) return staged.value;
    if (staged.status) {
      const { appliedCommit, ...status } = staged.status;
      applyStatusUpdate(this.state, status);
      if (appliedCommit !== undefined) this.applied = { appliedCommit };
    }
    if (products && staged.products) Object.assign(products, staged.products);
    if (staged.remember) this.memory = Object.freeze({ ...this.memory, ...staged.remember });
    return staged.value;
  }

  private scheduleRetry(ctx: RunContext, outcome: Outcome): void {
    if (outcome.transient && !ctx.signal.aborted) {
      const failures = ++this.transientFailures;
      // --once exits after its run: no retry would ever run.
      if (this.o.config.once) {
        outcome.message += runWords.onceNotRetried;
        return;
      }
      const at = this.o.retry?.schedule(failures) ?? null;
      if (at) {
        const inSeconds = Math.max(0, Math.round((at.getTime() - ctx.now().getTime()) / 1000));
        outcome.message += `; retrying in ${inSeconds}s (transient failure ${failures} in a row)`;
      }
    } else if (outcome.result !== 'failed') {
      this.transientFailures = 0;
      if (this.state.git.consecutiveFailures === 0) this.o.retry?.cancel();
    }
  }

  /**
   * Most runs only read: the plan is made on the control plane opened for reading, the apply (and
   * an in-sync run's inventory record) on it opened for writing, re-checked when the two were
   * opened separately (ControlPlaneAccess.separateReads).
   */
  private async stages(ctx: RunContext, products: RunProducts): Promise<Outcome> {
    const head = this.take(await fetchStage(ctx), products);
    if (isOutcome(head)) return head;
    const loaded = this.take(await loadStage(ctx, head));
    const judged = isOutcome(loaded) ? loaded : await this.planned(ctx, products, head, loaded);
    const pending = products.rollbackPending;
    // docs/daemon.md#rollback: nothing is applied from a plan with errors, nor held against the branch.
    if (pending && (judged.result === 'invalid' || judged.planFailed)) {
      const total = totalOf(ctx.state.errors, ctx.state.errorsTotal);
      const why = rollbackWords.refused(pending.run, pending.commit, ctx.state.errors, total);
      await this.o.rollback!.refuse(pending, why);
      this.o.logger.warn({ rollback: pending }, why);
      return { ...judged, message: runWords.rollbackRefused(pending.run, judged.message) };
    }
    // An invalid head, by a validation error or a plan error: a drift run checks the last applied.
    if (judged.result !== 'invalid' && !judged.planFailed) {
      // Only a rollback and an invalid head's drift run read an earlier commit's checkout.
      if (products.rollback === undefined)
        await cleanBeside(this.o.source, this.o.logger, this.o.redactor);
      return judged;
    }
    const rolledBack = products.rollback !== undefined;
    const base = this.take(await driftBaseStage(ctx, head, judged, rolledBack), products);
    if (isOutcome(base)) return base;
    const desired = this.take(await loadStage(ctx, base));
    if (isOutcome(desired)) return desired;
    return this.planned(ctx, products, base, desired);
  }

  /** From a commit's loaded manifests on: its rules, render, plan, policies, gate and apply. */
  private async planned(
    ctx: RunContext,
    products: RunProducts,
    snapshot: SourceSnapshot,
    loaded: DesiredState,
  ): Promise<Outcome> {
    const { commit } = snapshot;
    const desired = this.take(
      await rulesStage(ctx, loaded, products.branch, products.branch ?? snapshot),
      products,
    );
    if (isOutcome(desired)) return desired;
    // docs/policies.md: pull requests are checked by the branch's policies as of now, even when
    // this run has nothing to apply; a rollback's policy files are the branch's, as its rules are.
    this.o.policies?.follow(desired, products.branch ?? snapshot);
    // An invalid head's drift run renders nothing: its files are the head's to render.
    if (!products.invalidHead) {
      ctx.enter('render');
      this.take(await renderStage(ctx, snapshot, desired));
    }
    const { controlPlane: access, pipeline } = this.o;
    const { term } = ctx;
    // Planned from the checkout beside the branch's, which the policies may still read.
    const aside = products.rollback !== undefined || products.invalidHead !== undefined;
    let opened = false;
    const open = <T>(how: 'read' | 'use', fn: (cp: ControlPlane) => Promise<T>): Promise<T> => {
      opened = false;
      ctx.enter('open');
      return access[how](async (cp) => {
        opened = true;
        const value = await fn(cp);
        ctx.enter('close');
        return value;
      }, term);
    };
    try {
      const plan = await open('read', async (cp) =>
        this.take(await planStage(ctx, cp, desired, commit, !aside), products),
      );
      if (isOutcome(plan)) return plan;
      // docs/policies.md: a plan the policies deny or cannot judge goes no further than here.
      const policies = this.take(await policyStage(ctx, plan, desired), products);
      ctx.enter('gate');
      const ruled = products.policy ?? { policy: this.o.config.policy, lastApplied: null };
      const stopped =
        classify(plan) === 'no_changes' || ruled.policy === 'none' || isOutcome(policies)
          ? null
          : policyGate(policies, commit);
      const decision =
        stopped ?? this.take(await gateStage(ctx, plan, desired, commit, ruled, products.counts));
      let outcome: Outcome;
      if (!isOutcome(decision)) {
        outcome = await open('use', async (cp) => {
          if (access.separateReads) {
            ctx.enter('recheck');
            const read = (need: SettingsNeed) => pipeline.readLiveState(cp, need);
            const { stale } = await recheckPlan(plan, read, { planned: products.live });
            const message =
              'the control plane changed between the plan and the apply (another writer): nothing applied, planning again';
            if (stale) return { result: 'failed', commit, message, transient: true };
          }
          await ctx.timed('record', () => this.keepStarted(ctx, commit, products));
          ctx.applyingHead = supersedable(products, commit, desired.config);
          const applied = this.take(await applyStage(ctx, cp, decision, commit), products);
          if (applied.result === 'applied') {
            // The owner approved this deployment, not every later plan with the same failures.
            if (policies && !isOutcome(policies) && policies.approval)
              this.o.policyApprovals?.use(policies.approval);
            await this.rereadManaged(ctx, cp, products);
          }
          return applied;
        });
      } else {
        outcome = decision;
        // In sync, but the inventory lacks declared objects (applied before it or by another tool).
        const { liveInventory, live } = products;
        const behind =
          liveInventory !== undefined &&
          live != null &&
          plan.inventory !== undefined &&
          inventoryBehind(live, plan.inventory, notMadeBy(plan, null));
        if ((decision.result === 'in_sync' || decision.result === 'left_unpruned') && behind) {
          opened = false;
          await access.use(async (cp) => {
            opened = true;
            await recordApply(recording(ctx, cp), null, plan, null);
            await this.rereadManaged(ctx, cp, products);
          }, term);
        }
      }
      return outcome;
    } catch (err) {
      if (opened || term.signal.aborted) throw err;
      // Opening the control plane failed (unreachable, embedded state in use by `poolsync apply`).
      const message = runWords.cannotOpen(this.o.redactor.errorMessage(err));
      applyStatusUpdate(this.state, unreachedUpdate(null, err, message, ctx.now()));
      return { result: 'failed', commit, message };
    }
  }

  /**
   * What is managed moved with this run's writes: the live state read again for /status
   * `managed`, on the control plane the run wrote with, still open (an embedded state is not
   * opened a third time); a failed read leaves the last.
   */
  private async rereadManaged(ctx: RunContext, cp: ControlPlane, products: RunProducts) {
    if (ctx.term.signal.aborted || ctx.signal.aborted) return;
    try {
      products.live = await ctx.timed('live', () => this.o.pipeline.readLiveState(cp));
    } catch {
      // Said by the next run, which reads the live state first.
    }
  }
}

/** The run failed once the shutdown had cut its calls, before its apply: a plan's errors are its own. */
function shutBeforeApply(ctx: RunContext, outcome: Outcome): boolean {
  return ctx.signal.aborted && !ctx.applying && outcome.result === 'failed' && !outcome.planFailed;
}

const NOTHING_APPLIED = Object.freeze({
  create: 0,
  update: 0,
  replace: 0,
  delete: 0,
  side_effects: 0,
});

/** Stage record: the run written down in /status (returned), the metrics and one log line. */
function recordStage(
  ctx: RunContext,
  products: RunProducts,
  { id, term }: { id: number; term: number | undefined },
  outcome: Outcome,
  startedAt: Date,
): StatusUpdate {
  // Recording itself is the last phase; the clock stops before the status is written.
  const { phases, durationMs } = ctx.finish();
  // The fields each update set, from the plan (`poolsync history ADDRESS`): of the objects the
  // run changed only, not a map of the plan's every change (10,000 at 10,000 objects).
  const touched = new Set(outcome.changed?.map((c) => c.address));
  const planned = new Map<string, Change>();
  // A noop is never applied: the 10,000 of them are passed over without a look-up.
  if (touched.size > 0)
    products.plan?.changes.forEach(
      (c) => c.action !== 'noop' && touched.has(c.address) && planned.set(c.address, c),
    );
  const changedObjects = (outcome.changed ?? []).map((c) => {
    const updated = c.action === 'update' || c.action === 'replace';
    const diff = (updated && planned.get(c.address)?.diff) || [];
    return {
      address: c.address,
      action: c.action,
      sideEffect: c.side_effect,
      ...(diff.length > 0 ? { fields: diff.map((d) => d.path) } : {}),
    };
  });
  const lastRun: RunRecord = {
    id,
    trigger: [...ctx.reasons].sort(),
    startedAt: startedAt.toISOString(),
    finishedAt: ctx.now().toISOString(),
    durationMs,
    result: outcome.result,
    commit: outcome.commit,
    message: outcome.message,
    applied: outcome.applied ?? { ...NOTHING_APPLIED },
    changed: changedObjects.slice(0, CHANGED_LISTED),
    changedTotal: changedObjects.length,
    ...(outcome.stopped
      ? {
          stopped: {
            by: outcome.stopped.by,
            notRun: outcome.stopped.notRun.slice(0, CHANGED_LISTED),
            notRunTotal: outcome.stopped.notRun.length,
          },
        }
      : {}),
    phasesMs: { ...phases },
    ...(outcome.approvedBy !== undefined ? { approvedBy: outcome.approvedBy } : {}),
    ...(outcome.heldFingerprint !== undefined ? { heldFingerprint: outcome.heldFingerprint } : {}),
    ...(products.rollback ? { rollback: products.rollback } : {}),
    ...(products.invalidHead ? { checkedAgainst: products.invalidHead.base } : {}),
    ...(outcome.renderedFiles ? { renderedFiles: outcome.renderedFiles } : {}),
    ...(outcome.unnamedRender ? { unnamedRender: outcome.unnamedRender } : {}),
    ...(term !== undefined ? { term } : {}),
  };
  const { o, state } = ctx;
  const changed = outcome.result !== 'unchanged';
  const update: StatusUpdate = {
    lastRun,
    ...(changed ? { outcome: outcome.result } : {}),
    ...keptRun(ctx, products, lastRun),
  };
  // The plan's count less what the apply corrected: a self-heal leaves no drift behind to alert on.
  if (update.lastDrift)
    o.metrics.driftObjects.set(update.lastDrift.changes.filter((c) => !c.corrected).length);
  // `unchanged` confirms the last outcome (Git has not moved), so it counts when that did.
  const success = ['applied', 'in_sync', 'left_unpruned', 'planned'].includes(
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

/** The one log line of a run, which alone says what happened and what to fix. */
function logRun(ctx: RunContext, outcome: Outcome, run: RunRecord, startedAt: Date): void {
  const { o, state } = ctx;
  const { pending, lastApplied } = o.approvals.status();
  const held = state.waitingForApproval.length > 0;
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
    errors: totalOf(state.errors, state.errorsTotal),
    // The first few, so the log alone says what to fix; /status lists more.
    firstErrors:
      state.errors.length === 0 || outcome.result === 'unchanged'
        ? undefined
        : firstErrors(state.errors),
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
        ? approvalFields(lastApplied)
        : undefined,
  };
  const level = outcome.result === 'failed' || outcome.result === 'invalid' ? 'warn' : 'info';
  if (outcome.result === 'unchanged') o.logger.debug(line, outcome.message);
  else o.logger[level](line, outcome.message);
}

/** /status `runs` and `lastDrift`, frozen: /status shares them (Reconciler.status). */
function keptRun(
  ctx: RunContext,
  products: RunProducts,
  run: RunRecord,
): Pick<StatusUpdate, 'lastDrift' | 'runs'> {
  // A frozen copy of the plan's digest (the plan itself stays as the planner made it).
  const { plan } = products;
  const digest = plan ? deepFreeze(structuredClone(planDigest(plan))) : null;
  // An invalid head's drift was measured against the commit it planned (driftBaseStage).
  const measured = { ...run, commit: run.checkedAgainst ?? run.commit };
  const drift = driftRecord(measured, products.drift, products.applied);
  const recent = {
    ...run,
    plan: digest?.plan ?? null,
    planChangesOmitted: digest?.omitted ?? 0,
    ...(digest && digest.problemsOmitted > 0 && { planProblemsOmitted: digest.problemsOmitted }),
    counts: plan ? (products.counts ?? countPlan(plan)) : null,
    drift,
  };
  return {
    ...(drift ? { lastDrift: drift } : {}),
    runs: deepFreeze(
      withRecentRun(ctx.state.runs, recent, ctx.o.config.historyLimit, {
        maxAgeMs: ctx.o.config.historyMaxAgeMs ?? 0,
        now: ctx.now().getTime(),
      }),
    ),
  };
}
