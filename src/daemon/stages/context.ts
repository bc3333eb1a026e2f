/**
 * What the stages of one reconcile run share: the daemon's wiring (options), the status they
 * fill in, what outlives a run (memory) and the run's own trigger, signal and phase timings.
 * A stage returns its product or an Outcome, which ends the run (reconcile.ts writes it down),
 * with what it found for /status and what it learnt for later runs (Staged); no stage writes
 * the status or the memory itself: both are read-only views here.
 */
import type { Logger } from 'pino';
import type { AppliedChange, ApplyResult, ExecuteOptions } from '../../apply/types.js';
import type { InventoryStore } from '../../apply/inventory.js';
import type { HoldApplyLockOptions } from '../../apply/lock.js';
import { SOLE_TERM, type Term } from '../../lease/leader-elector.js';
import type { ControlPlane } from '../../controlplane/types.js';
import type { PlanReuse } from '../../incremental/plan-reuse.js';
import type { LoadResult } from '../../manifests/types.js';
import type { DesiredState } from '../../model/desired.js';
import type { LiveState, SettingsNeed } from '../../model/live.js';
import type { Change, Plan, PlanControlPlane } from '../../model/plan.js';
import type { Clock } from '../../util/clock.js';
import type { Redactor } from '../../util/redact.js';
import type { Approvals } from '../approvals.js';
import type { DaemonConfig } from '../config.js';
import type { Source } from '../git-source.js';
import type { TriggerReason } from '../loop.js';
import type { DaemonMetrics, RunResult } from '../metrics.js';
import type {
  AppliedCounts,
  ApplyOutcome,
  ControlPlaneStatus,
  DaemonStatus,
  KeptHistory,
  StatusError,
} from '../status.js';

/** The modules a run drives; injected so the daemon is wired to the real ones in one place. */
export interface Pipeline {
  loadRepository(
    dir: string,
    options: { commit: string | null; root?: string },
  ): Promise<LoadResult>;
  /**
   * With the default-queue settings `need` names (all without it: src/plan/fingerprint.ts);
   * `before`: a state read already, of which only the settings are read again.
   */
  readLiveState(cp: ControlPlane, need?: SettingsNeed, before?: LiveState): Promise<LiveState>;
  executePlan(plan: Plan, cp: ControlPlane, options: ExecuteOptions): Promise<ApplyResult>;
  /** How the apply lock is held (src/apply/lock.ts), less the control plane: src/ops takes it. */
  applyLock: Omit<HoldApplyLockOptions, 'cp'>;
  /**
   * The inventory of `cp` (src/apply/inventory.ts), which the apply's record (src/ops/apply-run.ts)
   * writes, its calls carrying `signal` (the run's term). Absent: the daemon keeps no
   * inventory (tests).
   */
  inventoryOf?(cp: ControlPlane, signal?: AbortSignal): InventoryStore;
  /** The unit's reuse of plans (src/incremental/plan-reuse.ts); absent: every run plans anew. */
  plans?: PlanReuse;
  /** A commit's manifests are loaded again on every run (POOLSYNC_CACHE_OFF=loaded). */
  reloadEveryRun?: boolean;
}

/**
 * How a run gets its control plane. A remote API stays connected; an embedded state file is
 * opened for each run and closed after it, so that between runs a person can `poolsync apply`
 * the held changes of policy `safe` against the same file (the store has a single writer).
 */
export interface ControlPlaneAccess {
  /**
   * The control plane for writing (an embedded state: under its writer lock); with `term`, a
   * client whose every call ends with it (refused at once when it has ended).
   */
  use<T>(fn: (cp: ControlPlane) => Promise<T>, term?: Term): Promise<T>;
  /**
   * The control plane for reading only. An embedded state is read without its writer lock,
   * its journal replay and its compaction (a snapshot rewritten with fsync on every run).
   */
  read<T>(fn: (cp: ControlPlane) => Promise<T>, term?: Term): Promise<T>;
  /**
   * True when `read` and `use` open the control plane separately (embedded states), so another
   * writer may come between them: a plan made through `read` is checked again under `use`.
   */
  readonly separateReads: boolean;
  close(): Promise<void>;
}

/** Leadership as a run sees it (leader.ts); absent: this daemon is the only one. */
export interface Leadership {
  /** Null when this replica leads; else why it may not apply (names the leader). */
  notLeading(): string | null;
  /** The current term: a run belongs to the one it started in, and ends with it. */
  readonly term: Term;
}

export interface ReconcilerOptions {
  /**
   * The unit's configuration: its policy, parallelism, wait timeout, --path (error locations
   * are made repository-relative), --commit-rendered and the control-plane URL (for /status:
   * URLs carrying credentials are refused).
   */
  config: DaemonConfig;
  source: Source;
  controlPlane: ControlPlaneAccess;
  pipeline: Pipeline;
  metrics: DaemonMetrics;
  logger: Logger;
  redactor: Redactor;
  approvals: Approvals;
  leadership?: Leadership;
  /** The control plane every plan names in its header (`control_plane`, docs/plan.md). */
  planControlPlane?: () => PlanControlPlane | undefined;
  /** Called with each plan that is about to be applied (quickstart prints it). */
  onApplyPlan?: (plan: Plan) => void;
  /**
   * Runs again with backoff after a failed fetch, or after a run that failed for a reason that
   * may pass (the control plane unreachable or failing calls past the client's retries): the
   * next run resumes from the live state (issue 14).
   */
  retry?: {
    /** Schedules a run after `failures` failures in a row; when it will run. */
    schedule(failures: number): Date;
    /**
     * A run that fetched and did not fail: a retry scheduled by an earlier failure is no
     * longer wanted (it would run again later, unasked, and report its own result).
     */
    cancel(): void;
  };
  /**
   * The runs kept from before a restart, and where each run's history is kept from now on
   * (readHistory, status.ts). Absent: the history lives in memory only (tests).
   */
  history?: { kept: KeptHistory | null; save(history: KeptHistory): Promise<void> };
  /** Why applies wait now (suspended, a sync window: freeze.ts); absent or null: they may go. */
  freeze?: { why(): string | null };
  clock?: Clock;
}

export interface Outcome {
  result: RunResult;
  commit: string | null;
  message: string;
  applied?: AppliedCounts;
  changed?: AppliedChange[];
  /** A failure that may pass: the run is tried again with backoff. */
  transient?: boolean;
}

/**
 * What outlives one run. Kept by the reconcile loop as a frozen object, replaced (never
 * written) with what each stage returns in `Staged.remember`.
 */
export interface RunMemory {
  readonly lastEvaluatedCommit: string | null;
  /** The validated manifests of the last commit (a commit's manifests never change). */
  readonly loaded: { readonly commit: string; readonly result: LoadResult } | null;
  /**
   * The repository's state the control plane was last found equal to (in sync, or all of it
   * applied); null before that. Drift is measured from there (plan stage).
   */
  readonly converged: DesiredState | null;
  readonly controlPlaneAnswered: boolean;
  /** The commit whose rendered files /status `renderedFiles` describes (render stage). */
  readonly renderedCommit?: string | null;
}

export class RunContext {
  /**
   * Milliseconds spent in each phase (docs/daemon.md "Phases"). A run is always in exactly one
   * phase, from its start to its end, so the phases add up to the run's duration: time is never
   * lost between stages. Unrounded; `phaseTotals()` gives whole milliseconds.
   */
  private readonly spent: Record<string, number> = {};
  private phase = 'fetch';
  private mark = performance.now();

  constructor(
    readonly o: ReconcilerOptions,
    /** The status as the stages before found it (read only: stages return their updates). */
    readonly state: Readonly<DaemonStatus>,
    /** The memory as the stages before left it (read only: stages return what to remember). */
    private readonly remembered: () => Readonly<RunMemory>,
    readonly reasons: ReadonlySet<TriggerReason>,
    /** Aborted when the daemon shuts down. */
    readonly signal: AbortSignal,
    /** The leadership term the run started in: every control-plane call of the run carries it. */
    readonly term: Term = o.leadership?.term ?? SOLE_TERM,
  ) {}

  /**
   * When the first request the run answers was made: its fetch sees what was pushed before it
   * (GitSource.sync).
   */
  requestedAt = performance.now();

  /** What outlives runs, as the loop holds it now (frozen: a stage returns `remember` instead). */
  get memory(): Readonly<RunMemory> {
    return this.remembered();
  }

  now(): Date {
    return new Date(this.o.clock?.now() ?? Date.now());
  }

  /** From now on the run is in `phase`; returns the phase it was in. */
  enter(phase: string): string {
    const now = performance.now();
    this.spent[this.phase] = (this.spent[this.phase] ?? 0) + (now - this.mark);
    this.mark = now;
    const previous = this.phase;
    this.phase = phase;
    return previous;
  }

  /** Runs `fn` in `phase`, then goes back to the phase the run was in. */
  async timed<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.enter(phase);
    try {
      return await fn();
    } finally {
      this.enter(previous);
    }
  }

  /**
   * Closes the current phase: whole milliseconds per phase (largest remainders rounded up) whose
   * sum is the run's duration rounded, and that duration.
   */
  finish(): { phases: Record<string, number>; durationMs: number } {
    this.enter(this.phase);
    const entries = Object.entries(this.spent);
    const total = Math.round(entries.reduce((sum, [, ms]) => sum + ms, 0));
    const phases: Record<string, number> = {};
    for (const [name, ms] of entries) phases[name] = Math.floor(ms);
    let missing = total - Object.values(phases).reduce((a, b) => a + b, 0);
    for (const [name] of entries.sort((a, b) => (b[1] % 1) - (a[1] % 1))) {
      if (missing <= 0) break;
      phases[name]! += 1;
      missing--;
    }
    return { phases, durationMs: total };
  }

  /** Repository path of the manifests folder (`.` = root). */
  get repoPath(): string {
    const { source } = this.o.config;
    return source.kind === 'git' ? source.path : '.';
  }

  /** A location in the manifests folder as one in the repository. */
  repoRelative(file: string): string {
    if (this.repoPath === '.') return file;
    return file === '.' ? this.repoPath : `${this.repoPath}/${file}`;
  }
}

/** What a stage returns (the loop keeps each part: Reconciler.take). */
export interface Staged<T> {
  value: T | Outcome;
  status?: StatusUpdate;
  /** What the stage produced for later stages and the record (also when it ends the run). */
  products?: Partial<RunProducts>;
  /** What later runs (and later stages of this one) read in `RunContext.memory`. */
  remember?: Partial<RunMemory>;
}

/**
 * What a run's stages produced that later stages and the record read: returned by the stages
 * (Staged.products), kept by the reconcile loop for the run.
 */
export interface RunProducts {
  /** The plan this run made (the record stage keeps it in /status `runs`). */
  plan: Plan | null;
  /** What it was made from: the repository's state and the live state read (the objects view). */
  desired?: DesiredState;
  live?: LiveState | null;
  /** The inventory the plan was made with (live.inventory): whether an in-sync run records it. */
  liveInventory: readonly string[] | null | undefined;
  /** Changes found although the repository has not moved since it was applied (plan stage). */
  drift: Change[];
  /** What the apply left undone; null when this run applied nothing. */
  applied: ApplyOutcome | null;
  /** An in-sync run recorded the inventory (/status `managed` is read again). */
  inventoryWritten?: boolean;
}

export function isOutcome(x: unknown): x is Outcome {
  return typeof x === 'object' && x !== null && 'result' in x && 'message' in x;
}

/** A problem that is not in a manifest (fetch, control plane, apply), for /status `errors`. */
export function problem(code: string, message: string, address: string | null = null): StatusError {
  return { code, message, location: null, address };
}

export function errorCode(err: unknown, fallback: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : fallback;
}

/**
 * What a stage found for `/status`: the top-level fields it sets and the control plane's fields
 * it learnt. applyStatusUpdate is the document's one writer during a run; a field keeps its
 * place in the document (the JSON's key order is that of `initialStatus`).
 */
export type StatusUpdate = Partial<
  Omit<
    DaemonStatus,
    'controlPlane' | 'source' | 'policy' | 'approval' | 'leader' | 'environments' | 'freeze'
  >
> & { controlPlane?: Partial<ControlPlaneStatus> };

export function applyStatusUpdate(state: DaemonStatus, update: StatusUpdate): void {
  const { controlPlane, ...fields } = update;
  Object.assign(state, fields);
  if (controlPlane !== undefined) Object.assign(state.controlPlane, controlPlane);
}

/** Validation, fetch or control-plane problems: there is no plan to show. */
export function problemsUpdate(errors: StatusError[]): StatusUpdate {
  // Keep blocked/waiting of the last plan: they still describe the control plane.
  return { errors, summary: null, counts: null, warnings: [] };
}

/** The control plane could not be opened or read (`backend`: it was opened): it and the error. */
export function unreachedUpdate(
  backend: string | null,
  err: unknown,
  message: string,
  now: Date,
): StatusUpdate {
  return {
    ...reachedUpdate(backend, message, now),
    ...problemsUpdate([problem(errorCode(err, 'CONTROL_PLANE'), message)]),
  };
}

/** Whether the control plane answered this run (/status `controlPlane`). */
export function reachedUpdate(
  backend: string | null,
  error: string | null,
  now: Date,
): StatusUpdate {
  return {
    controlPlane: {
      ...(backend !== null ? { backend } : {}),
      reachable: error === null,
      lastError: error,
      ...(error === null ? { lastAnsweredAt: now.toISOString() } : {}),
    },
  };
}
