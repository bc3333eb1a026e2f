/**
 * One reconcile run: fetch → load and validate → read live → plan → apply per policy → record.
 *
 * Safety rules this file holds:
 * - a commit with any validation or plan error is never applied; the control plane keeps the
 *   last applied state and /status shows the errors with file:line:col (manifests.md);
 * - policy `safe` holds a whole plan that has any replace or delete (a person runs
 *   `poolsync apply`, or the policy is `all`); `blocked` changes never stop the rest (plan.md);
 * - a shutdown aborts the signal handed to executePlan: no new step starts, running ones finish;
 * - one applier per control plane on this machine (the apply lock shared with `poolsync apply`).
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { BackendInfo, ControlPlane } from '../controlplane/types.js';
import type { LiveState } from '../model/live.js';
import type { Change, Plan } from '../model/plan.js';
import type { DesiredState } from '../model/desired.js';
import type { ApplyResult, ExecuteOptions } from '../apply/index.js';
import type { LoadResult } from '../manifests/types.js';
import type { ApplyPolicy } from './config.js';
import type { Source, SourceSnapshot } from './git-source.js';
import type { TriggerReason } from './loop.js';
import type { DaemonMetrics, RunResult } from './metrics.js';
import type { Redactor } from './redact.js';
import { summaryCounts } from '../render/index.js';
import { changesNeedingApproval } from '../plan/change.js';
import {
  initialStatus,
  type AppliedCounts,
  type ChangeBrief,
  type DaemonStatus,
  type StatusError,
} from './status.js';

/** The modules a run drives; injected so the daemon is wired to the real ones in one place. */
export interface Pipeline {
  loadRepository(dir: string, options: { commit: string | null }): Promise<LoadResult>;
  readLiveState(cp: ControlPlane): Promise<LiveState>;
  computePlan(
    desired: DesiredState,
    live: LiveState,
    options: { commit: string | null; backend?: BackendInfo },
  ): Plan;
  executePlan(plan: Plan, cp: ControlPlane, options: ExecuteOptions): Promise<ApplyResult>;
  /** Takes the apply lock; resolves to its release function. Throws when another apply holds it. */
  acquireLock(): Promise<() => Promise<void>>;
}

/**
 * How a run gets its control plane. A remote API stays connected; an embedded state file is
 * opened for each run and closed after it, so that between runs a person can `poolsync apply`
 * the held changes of policy `safe` against the same file (the store has a single writer).
 */
export interface ControlPlaneAccess {
  use<T>(fn: (cp: ControlPlane) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface ReconcilerOptions {
  source: Source;
  controlPlane: ControlPlaneAccess;
  pipeline: Pipeline;
  policy: ApplyPolicy;
  parallelism: number;
  waitTimeoutMs: number;
  /** Repository path of the manifests folder (`.` = root), to make error locations repo-relative. */
  repoPath: string;
  metrics: DaemonMetrics;
  logger: Logger;
  redactor: Redactor;
  /** Called with each plan that is about to be applied (quickstart prints it). */
  onApplyPlan?: (plan: Plan) => void;
  /** Called after a failed fetch with the number of consecutive failures (schedules a retry). */
  onFetchFailure?: (failures: number) => Date | null;
  now?: () => Date;
}

const ACTIONABLE = new Set(['create', 'update', 'replace', 'delete']);
/** Triggers that only ask "did Git move?": a commit already evaluated is not planned again. */
const GIT_ONLY = new Set<TriggerReason>(['poll', 'retry', 'webhook']);
/** Outcomes that a re-run of the same commit would only repeat (drift is the drift timer's job). */
const SETTLED = new Set<RunResult>(['in_sync', 'applied', 'invalid', 'planned']);

interface Outcome {
  result: RunResult;
  commit: string | null;
  message: string;
  applied?: AppliedCounts;
}

export class Reconciler {
  private readonly state: DaemonStatus;
  private runId = 0;
  private controlPlaneAnswered = false;
  private lastEvaluatedCommit: string | null = null;
  private loaded: { commit: string; result: LoadResult } | null = null;
  /** Milliseconds spent in each phase of the current run (fetch, load, live, plan, apply). */
  private phases: Record<string, number> = {};
  /** The control plane was equal to the repository at least once (drift is measured from there). */
  private converged = false;

  constructor(private readonly o: ReconcilerOptions) {
    this.state = initialStatus(o.source.describe(), o.policy);
  }

  /** A deep copy, safe to serialise. */
  status(): DaemonStatus {
    return structuredClone(this.state);
  }

  get ready(): boolean {
    return this.state.ready;
  }

  /** The loop's run function. Never throws: every failure becomes a recorded result. */
  run = async (reasons: ReadonlySet<TriggerReason>, signal: AbortSignal): Promise<void> => {
    const id = ++this.runId;
    const now = this.o.now ?? (() => new Date());
    const startedAt = now();
    const t0 = performance.now();
    let outcome: Outcome;
    this.phases = {};
    try {
      outcome = await this.evaluate(reasons, signal);
    } catch (err) {
      // A bug or an unexpected failure of a module: recorded, never fatal to the daemon.
      const message = this.o.redactor.errorMessage(err);
      this.setProblems([{ code: 'INTERNAL', message, location: null, address: null }]);
      outcome = { result: 'failed', commit: this.state.commit, message };
    }
    const durationMs = Math.round(performance.now() - t0);
    const applied = outcome.applied ?? { create: 0, update: 0, replace: 0, delete: 0 };
    this.state.lastRun = {
      id,
      trigger: [...reasons].sort(),
      startedAt: startedAt.toISOString(),
      finishedAt: now().toISOString(),
      durationMs,
      result: outcome.result,
      commit: outcome.commit,
      message: outcome.message,
      applied,
      phasesMs: { ...this.phases },
    };
    if (outcome.result !== 'unchanged') this.state.outcome = outcome.result;
    // `unchanged` confirms the last outcome (Git has not moved), so it counts when that did.
    const success = ['applied', 'in_sync', 'planned'].includes(this.state.outcome ?? '');
    if (success) {
      this.state.lastSuccessAt = now().toISOString();
      this.o.metrics.lastSuccess.set(now().getTime() / 1000);
    }
    if (this.controlPlaneAnswered && !this.state.ready) {
      this.state.ready = true;
      this.o.metrics.up.set(1);
    }
    this.o.metrics.reconcileRuns.inc({ result: outcome.result });
    this.o.metrics.reconcileDuration.observe({ result: outcome.result }, durationMs / 1000);

    const line = {
      run: id,
      trigger: [...reasons].sort(),
      commit: outcome.commit,
      result: outcome.result,
      durationMs,
      phasesMs: this.phases,
      summary: this.state.summary,
      applied,
      errors: this.state.errors.length,
      // The first few, so the log alone says what to fix; /status has them all.
      ...(this.state.errors.length > 0 && outcome.result !== 'unchanged'
        ? {
            firstErrors: this.state.errors
              .slice(0, 5)
              .map((e) => `${e.location ?? e.address ?? '-'}: ${e.code}: ${e.message}`),
          }
        : {}),
      // plan.md: blocked changes are reported on every run until the repo or control plane changes.
      ...(this.state.blocked.length > 0
        ? { blocked: this.state.blocked.map((b) => `${b.address}: ${b.reason ?? 'blocked'}`) }
        : {}),
      ...(this.state.waitingForApproval.length > 0
        ? {
            waitingForApproval: this.state.waitingForApproval.map(
              (c) => `${c.action} ${c.address}`,
            ),
          }
        : {}),
    };
    const level = outcome.result === 'failed' || outcome.result === 'invalid' ? 'warn' : 'info';
    if (outcome.result === 'unchanged') this.o.logger.debug(line, outcome.message);
    else this.o.logger[level](line, outcome.message);
  };

  private async evaluate(
    reasons: ReadonlySet<TriggerReason>,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const snapshot = await this.fetch(reasons);
    if ('result' in snapshot) return snapshot;
    const { commit } = snapshot;
    this.state.commit = commit;

    const gitOnly = [...reasons].every((r) => GIT_ONLY.has(r));
    if (
      gitOnly &&
      commit !== null &&
      commit === this.lastEvaluatedCommit &&
      this.state.outcome !== null &&
      SETTLED.has(this.state.outcome)
    ) {
      return { result: 'unchanged', commit, message: `no new commit (${short(commit)})` };
    }

    // Load and validate. Any error: nothing is applied, the previous state stays.
    const load = existsSync(snapshot.dir) ? await this.load(snapshot.dir, commit) : null;
    if (load === null || !load.valid) {
      this.lastEvaluatedCommit = commit;
      const errors: StatusError[] =
        load === null
          ? [
              {
                code: 'IO',
                message: `the folder ${this.o.repoPath} does not exist${commit ? ` at commit ${short(commit)}` : ''}; check --path`,
                location: null,
                address: null,
              },
            ]
          : load.errors.map((e) => ({
              code: e.code,
              message: e.message,
              location: `${this.repoRelative(e.file)}:${e.line}:${e.column}`,
              address: e.address,
            }));
      this.setProblems(errors);
      await this.pingControlPlane();
      return {
        result: 'invalid',
        commit,
        message: `${errors.length} validation error${errors.length === 1 ? '' : 's'}${commit ? ` in commit ${short(commit)}` : ''}; nothing applied`,
      };
    }

    const desired = load.desired;
    let opened = false;
    try {
      return await this.o.controlPlane.use((cp) => {
        opened = true;
        return this.planAndApply(cp, desired, commit, reasons, signal);
      });
    } catch (err) {
      if (opened) throw err;
      // Opening the control plane failed (unreachable, embedded state in use by `poolsync apply`).
      const message = `cannot open the control plane: ${this.o.redactor.errorMessage(err)}`;
      this.setProblems([
        { code: errorCode(err, 'CONTROL_PLANE'), message, location: null, address: null },
      ]);
      return { result: 'failed', commit, message };
    }
  }

  private async planAndApply(
    cp: ControlPlane,
    desired: DesiredState,
    commit: string | null,
    reasons: ReadonlySet<TriggerReason>,
    signal: AbortSignal,
  ): Promise<Outcome> {
    let live: LiveState;
    try {
      live = await this.timed('live', () => this.o.pipeline.readLiveState(cp));
      this.controlPlaneAnswered = true;
    } catch (err) {
      const message = `cannot read live state: ${this.o.redactor.errorMessage(err)}`;
      this.setProblems([
        { code: errorCode(err, 'CONTROL_PLANE'), message, location: null, address: null },
      ]);
      return { result: 'failed', commit, message };
    }

    const plan = await this.timed('plan', async () =>
      this.o.pipeline.computePlan(desired, live, { commit, backend: cp.backend }),
    );
    this.lastEvaluatedCommit = commit;
    this.recordPlan(plan);
    if (plan.errors.length > 0) {
      return {
        result: 'failed',
        commit,
        message: `the plan has ${plan.errors.length} error${plan.errors.length === 1 ? '' : 's'}; nothing applied`,
      };
    }

    const actionable = plan.changes.filter((c) => ACTIONABLE.has(c.action));
    // A folder on disk has no commit: it moved when the watcher (or startup) says so.
    const repoMoved =
      commit === null
        ? reasons.has('watch') || reasons.has('startup')
        : commit !== this.state.appliedCommit;
    if (actionable.length > 0 && this.converged && !repoMoved) {
      // The repository did not move since it was applied: the control plane did.
      this.o.metrics.driftDetected.inc(actionable.length);
      this.o.logger.warn(
        { commit, drift: actionable.map((c) => `${c.action} ${c.address}`) },
        `drift: ${actionable.length} object${actionable.length === 1 ? '' : 's'} differ from the repository`,
      );
    }
    if (actionable.length === 0) {
      this.state.appliedCommit = commit;
      this.converged = true;
      return { result: 'in_sync', commit, message: `in sync${describeBlocked(plan)}` };
    }
    const summaryText = summaryCounts(plan.summary);
    if (this.o.policy === 'none') {
      return { result: 'planned', commit, message: `policy none: planned only: ${summaryText}` };
    }
    const held = changesNeedingApproval(plan);
    if (this.o.policy === 'safe' && held.length > 0) {
      return {
        result: 'waiting_for_approval',
        commit,
        message: `policy safe: ${held.length} destructive change${held.length === 1 ? '' : 's'} (${held
          .map((c) => `${c.action} ${c.address}`)
          .join(', ')}) wait for a person to run \`poolsync apply\`; nothing applied`,
      };
    }
    if (signal.aborted) {
      return { result: 'failed', commit, message: 'shutting down: nothing applied' };
    }
    return this.apply(cp, plan, commit, signal, summaryText);
  }

  private async fetch(reasons: ReadonlySet<TriggerReason>): Promise<SourceSnapshot | Outcome> {
    const now = this.o.now ?? (() => new Date());
    try {
      const snapshot = await this.timed('fetch', () => this.o.source.sync());
      this.state.git = {
        lastFetchAt: now().toISOString(),
        lastError: null,
        consecutiveFailures: 0,
        nextRetryAt: null,
      };
      return snapshot;
    } catch (err) {
      const message = this.o.redactor.errorMessage(err);
      const failures = this.state.git.consecutiveFailures + 1;
      this.o.metrics.gitFetchFailures.inc();
      const retryAt = this.o.onFetchFailure?.(failures) ?? null;
      this.state.git = {
        ...this.state.git,
        lastError: message,
        consecutiveFailures: failures,
        nextRetryAt: retryAt?.toISOString() ?? null,
      };
      const last = this.o.source.last;
      // Git being down must not stop drift correction: keep reconciling the last good commit.
      if (last && reasons.has('drift')) {
        this.o.logger.warn(
          { commit: last.commit },
          `fetch failed, checking drift against the last fetched commit: ${message}`,
        );
        return last;
      }
      this.setProblems([{ code: 'GIT_FETCH', message, location: null, address: null }]);
      return {
        result: 'failed',
        commit: this.state.commit,
        message: `fetch failed (attempt ${failures}); the control plane keeps its state: ${message}`,
      };
    }
  }

  private async apply(
    cp: ControlPlane,
    plan: Plan,
    commit: string | null,
    signal: AbortSignal,
    summaryText: string,
  ): Promise<Outcome> {
    let release: () => Promise<void>;
    try {
      release = await this.o.pipeline.acquireLock();
    } catch (err) {
      const message = this.o.redactor.errorMessage(err);
      this.state.errors = [{ code: 'LOCKED', message, location: null, address: null }];
      return { result: 'failed', commit, message: `not applied: ${message}` };
    }
    let result: ApplyResult;
    try {
      this.o.onApplyPlan?.(plan);
      result = await this.timed('apply', () =>
        this.o.pipeline.executePlan(plan, cp, {
          parallelism: this.o.parallelism,
          waitTimeoutMs: this.o.waitTimeoutMs,
          signal,
          onEvent: (e) => {
            if (e.type === 'step_finished') {
              const fields = {
                step: e.step.id,
                op: e.step.op,
                target: e.step.target,
                durationMs: Math.round(e.duration_ms),
              };
              if (e.status === 'failed') {
                this.o.logger.warn(
                  {
                    ...fields,
                    error: e.error && this.o.redactor.scrub(`${e.error.code}: ${e.error.message}`),
                  },
                  'step failed',
                );
              } else this.o.logger.debug(fields, 'step done');
            } else if (e.type === 'wait_progress') {
              this.o.logger.info(
                {
                  step: e.step.id,
                  queue: e.queue,
                  runs: e.runs_in_flight,
                  actions: e.actions_in_flight,
                  elapsedMs: e.elapsed_ms,
                },
                'waiting for in-flight work to finish',
              );
            } else if (e.type === 'stopping') {
              this.o.logger.warn({ reason: e.reason }, 'no new steps will start');
            }
          },
        }),
      );
    } catch (err) {
      const message = this.o.redactor.errorMessage(err);
      this.state.errors = [
        { code: errorCode(err, 'APPLY'), message, location: null, address: null },
      ];
      return { result: 'failed', commit, message: `apply refused: ${message}` };
    } finally {
      await release();
    }
    const applied: AppliedCounts = {
      create: result.counts.created,
      update: result.counts.updated,
      replace: result.counts.replaced,
      delete: result.counts.deleted,
    };
    for (const [action, n] of Object.entries(applied)) {
      if (n > 0) this.o.metrics.changesApplied.inc({ action }, n);
    }
    if (result.ok) {
      this.state.appliedCommit = commit;
      this.converged = true;
      return { result: 'applied', commit, message: `applied: ${summaryText}`, applied };
    }
    const failed = result.steps.filter((s) => s.status === 'failed');
    const notRun = result.steps.filter((s) => s.status === 'not_run').length;
    this.state.errors = failed.map((s) => ({
      code: s.error?.code ?? 'APPLY',
      message: this.o.redactor.scrub(`${s.op} failed: ${s.error?.message ?? 'unknown error'}`),
      location: null,
      address: s.target,
    }));
    const why = result.aborted
      ? 'stopped by shutdown'
      : `${failed.length} step${failed.length === 1 ? '' : 's'} failed`;
    return {
      result: 'failed',
      commit,
      message: `apply incomplete (${why}; ${notRun} step${notRun === 1 ? '' : 's'} not run); the next run continues from the live state`,
      applied,
    };
  }

  /**
   * A commit's manifests never change, so drift and manual runs of the same commit reuse its
   * validated desired state (loading is the most expensive phase of a no-op run). A folder on
   * disk (commit null) is always read again.
   */
  private async load(dir: string, commit: string | null): Promise<LoadResult> {
    if (commit !== null && this.loaded?.commit === commit) return this.loaded.result;
    const result = await this.timed('load', () => this.o.pipeline.loadRepository(dir, { commit }));
    this.loaded = commit === null ? null : { commit, result };
    return result;
  }

  private async timed<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.phases[phase] = Math.round(performance.now() - t0);
    }
  }

  /** Readiness needs proof the control plane answers, even when the commit is invalid. */
  private async pingControlPlane(): Promise<void> {
    if (this.controlPlaneAnswered) return;
    try {
      await this.o.controlPlane.use((cp) => cp.capabilities());
      this.controlPlaneAnswered = true;
    } catch {
      // reported by the next run that reads live state
    }
  }

  private recordPlan(plan: Plan): void {
    this.state.summary = { ...plan.summary };
    this.state.blocked = plan.changes.filter((c) => c.action === 'blocked').map(brief);
    this.state.waitingForApproval =
      this.o.policy === 'safe' ? changesNeedingApproval(plan).map(brief) : [];
    this.state.warnings = plan.warnings.map((w) => ({ ...w }));
    this.state.errors = plan.errors.map((e) => ({
      code: e.code,
      message: e.message,
      location: e.location ? this.repoRelative(e.location) : null,
      address: e.address,
    }));
    this.o.metrics.blockedChanges.set(this.state.blocked.length);
    this.o.metrics.waitingForApproval.set(this.state.waitingForApproval.length);
  }

  /** Validation or fetch problems: there is no plan to show. */
  private setProblems(errors: StatusError[]): void {
    this.state.errors = errors;
    this.state.summary = null;
    this.state.warnings = [];
    // Keep blocked/waiting of the last plan: they still describe the control plane.
  }

  private repoRelative(file: string): string {
    return this.o.repoPath === '.' ? file : `${this.o.repoPath}/${file}`;
  }
}

function brief(c: Change): ChangeBrief {
  return { address: c.address, action: c.action, reason: c.reason };
}

function describeBlocked(plan: Plan): string {
  return plan.summary.blocked > 0 ? ` (${plan.summary.blocked} blocked)` : '';
}

function short(commit: string): string {
  return commit.slice(0, 12);
}

function errorCode(err: unknown, fallback: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : fallback;
}
