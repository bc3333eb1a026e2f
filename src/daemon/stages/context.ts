/**
 * What the stages of one reconcile run share: options, status, memory (what outlives a run),
 * trigger, signal and phase timings. A stage returns its product or an Outcome, which ends the
 * run, with what it found and learnt (Staged); no stage writes the status or the memory itself.
 */
import type { ApplierSource } from '../../model/appliers.js';
import type { Logger } from 'pino';
import type { AppliedChange, ApplyResult, ExecuteOptions } from '../../apply/types.js';
import type { InventoryStore } from '../../apply/inventory.js';
import type { HoldApplyLockOptions } from '../../apply/lock.js';
import { SOLE_TERM, type Term } from '../../lease/leader-elector.js';
import type { ControlPlane } from '../../controlplane/types.js';
import type { PlanReuse } from '../../incremental/plan-reuse.js';
import { environmentReads } from '../../manifests/environments.js';
import type { LoadResult } from '../../manifests/types.js';
import type { ApproverRules, DesiredState, RepoConfig } from '../../model/desired.js';
import type { LiveState, SettingsNeed } from '../../model/live.js';
import type { Change, Plan, PlanControlPlane } from '../../model/plan.js';
import type { PlanCounts } from '../../plan/counts.js';
import type { Clock } from '../../util/clock.js';
import type { Redactor } from '../../util/redact.js';
import type { Approvals, UnitPolicyApprovals } from '../approvals.js';
import type { Rollback, RollbackPin, RunRollback } from '../rollback.js';
import type { PolicyReport } from '../../model/policy.js';
import type { ApplyPolicy } from '../config-options.js';
import type { RenderedChange, UnnamedRender } from '../../render/rendered-files.js';
import type { DaemonConfig } from '../config.js';
import type { Source, SourceSnapshot } from '../git-source.js';
import type { TriggerReason } from '../loop.js';
import type { DaemonMetrics } from '../metrics.js';
import type { RunPhase, RunResult } from '../run-result.js';
import type {
  AppliedCounts,
  ApplyOutcome,
  ControlPlaneStatus,
  DaemonStatus,
  KeptHistory,
  StatusError,
} from '../status.js';
import { listedProblems } from '../status.js';

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
  /** `cp`'s inventory (src/apply/inventory.ts), calls carrying `signal`; absent: none (tests). */
  inventoryOf?(cp: ControlPlane, signal?: AbortSignal): InventoryStore;
  /** The unit's reuse of plans (src/incremental/plan-reuse.ts); absent: every run plans anew. */
  plans?: PlanReuse;
  /** A commit's manifests are loaded again on every run (POOLSYNC_CACHE_OFF=loaded). */
  reloadEveryRun?: boolean;
  /** The repository followed, its objects recorded under it (src/ops/repository.ts); absent: none named. */
  repository?: string;
  /** `--watch`'s folder path (PlanOptions.folder). */
  folder?: string;
  /** Where this daemon applies from: its branch and machine (model/appliers.ts); absent: not recorded. */
  applier?: ApplierSource;
}

/**
 * How a run gets its control plane. A remote API stays connected; an embedded state file is
 * opened for each run and closed after it, so that between runs a person can `poolsync apply`
 * the held changes of policy `safe` against the same file (the store has a single writer).
 */
export interface ControlPlaneAccess {
  /** For writing (an embedded state: under its writer lock); with `term`, calls end with it. */
  use<T>(fn: (cp: ControlPlane) => Promise<T>, term?: Term): Promise<T>;
  /** For reading: an embedded state without writer lock, journal replay and compaction (fsync). */
  read<T>(fn: (cp: ControlPlane) => Promise<T>, term?: Term): Promise<T>;
  /** Another writer may come between `read` and `use` (embedded): a plan is checked again. */
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
  /** Called with the whole plan of each apply, and what the gate holds of it (quickstart prints them). */
  onApplyPlan?: (plan: Plan, held: readonly Change[]) => void;
  /**
   * Runs again with backoff after a failed fetch, or a run that failed for a reason that may
   * pass (the control plane unreachable or failing past retries), from the live state (issue 14).
   */
  retry?: {
    /** Schedules a run after `failures` failures in a row; when it will run. */
    schedule(failures: number): Date;
    /** A run succeeded: a scheduled retry would run again later, unasked, with its own result. */
    cancel(): void;
  };
  /** The runs kept from before a restart, and where to keep them; absent: in memory only. */
  history?: {
    kept: KeptHistory | null;
    /** With `signal` (the run's term): a copy beside the Lease is written only in that term. */
    save(history: KeptHistory, signal?: AbortSignal): Promise<void>;
    /** The copy beside the Lease (shared-history.ts), merged in before a term's first run records. */
    shared?(signal: AbortSignal): Promise<KeptHistory | null>;
  };
  /** Evaluates the plan's policies (stages/policies.ts); absent: none configured. */
  policies?: PolicyCheck;
  /** Owners' approvals of policy failures (src/policy/approvals.ts). */
  policyApprovals?: UnitPolicyApprovals;
  /**
   * Why applies wait now (suspended, a sync window: freeze.ts); absent or null: they may go.
   * `onSuspend`: told when a suspension begins, before `poolsync suspend` is answered (an
   * apply in flight starts no further step); returns the unsubscribe.
   */
  freeze?: {
    why(): string | null;
    onSuspend?(listener: (why: string) => void): () => void;
    /** Freeze's: when the sync windows alone freeze applies, when they let them go. */
    windowsOpenAt?(): number | null | undefined;
  };
  /** The rollback in force (rollback.ts): its commit is planned instead of the branch head. */
  rollback?: Pick<Rollback, 'current' | 'lift' | 'headSeen' | 'refresh' | 'refuse'>;
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
  /** The commit's plan has errors: nothing of it is applied (a drift run: driftBaseStage). */
  planFailed?: boolean;
  /** Who approved the held changes this run applied. */
  approvedBy?: string;
  /** The fingerprint of the changes it held for approval (RunRecord's). */
  heldFingerprint?: string;
  /** An apply stopped between steps: by what (stopWords), and the steps that never started. */
  stopped?: { by: string; notRun: string[] };
  /** The generated files the commit changes, which the run could not send (no API). */
  renderedFiles?: RenderedChange[];
  /** The kinds taken as configuration only that no rendered file is named for (unknown). */
  unnamedRender?: UnnamedRender[];
}

/** What evaluates a plan's policies (stages/policies.ts unitPolicies). */
export interface PolicyCheck {
  /**
   * The followed branch loaded (its rules, its checkout, its commit): the set its runs and pull
   * requests use.
   */
  follow(desired: DesiredState, at: SourceSnapshot): void;
  /**
   * The report of `plan` by the set last followed and, when `applied` (the commit last applied)
   * is another commit, by its set too; null: none configured.
   */
  run(plan: Plan, desired: DesiredState, applied: string | null): Promise<PolicyReport | null>;
}

/** What outlives one run: frozen, replaced (never written) by each stage's `Staged.remember`. */
export interface RunMemory {
  readonly lastEvaluatedCommit: string | null;
  /** The validated manifests of the last commit (a commit's manifests never change). */
  readonly loaded: { readonly commit: string; readonly result: LoadResult } | null;
  /** The repository's state the control plane last equalled: drift is measured from it. */
  readonly converged: DesiredState | null;
  readonly controlPlaneAnswered: boolean;
  /** The drift the last plan found, counted once in poolsync_drift_detected_total (plan stage). */
  readonly driftCounted?: readonly string[];
  /** The commit whose rendered files /status `renderedFiles` describes (render stage). */
  readonly renderedCommit?: string | null;
  /** The followed branch's rules while its head is `commit`: its last valid commit's (rules stage). */
  readonly branchRules?: { readonly commit: string | null; readonly rules: BranchRules };
  /** The last applied commit's rules as read (rules stage): read again when it moves. */
  readonly appliedRules?: AppliedRules;
}

/** The rules poolsync.yaml of the last applied commit set, read with Git. */
export interface AppliedRules {
  commit: string;
  approvers: ApproverRules | null;
  /** Its environment's `policy` (or the daemon's `--policy`); null: the repository sets none. */
  policy: ApplyPolicy | null;
}

/** The policy a run holds by; `lastApplied`: that commit's rule holds, the loaded one's being looser. */
export interface RunPolicy {
  policy: ApplyPolicy;
  lastApplied: { commit: string; policy: ApplyPolicy } | null;
}

/** What poolsync.yaml says of who may do what and what is held: the followed branch's, always. */
export type BranchRules = Pick<RepoConfig, 'approvers' | 'policies' | 'guardrails'>;

export class RunContext {
  /**
   * Milliseconds spent in each phase (docs/daemon.md "Phases"), unrounded. A run is always in
   * exactly one phase, so the phases add up to its duration: no time is lost between stages.
   */
  private readonly spent: Record<string, number> = {};
  private phase: RunPhase = 'fetch';
  private mark = performance.now();

  constructor(
    readonly o: ReconcilerOptions,
    readonly state: Readonly<DaemonStatus>,
    private readonly remembered: () => Readonly<RunMemory>,
    readonly reasons: ReadonlySet<TriggerReason>,
    readonly signal: AbortSignal,
    /** The leadership term the run started in: every control-plane call of the run carries it. */
    readonly term: Term = o.leadership?.term ?? SOLE_TERM,
  ) {}

  /** When the first request the run answers was made: its fetch sees what was pushed before. */
  requestedAt = performance.now();

  /** Its apply stage began: a shutdown lets its running steps finish rather than cut its calls. */
  applying = false;

  /**
   * The branch head its apply stage applies (supersedable): a newer head that declares something
   * else aborts `superseded` with its commit (Reconciler.supersede), as a freeze stops it.
   */
  applyingHead: ApplyingHead | null = null;
  readonly superseded = new AbortController();

  get memory(): Readonly<RunMemory> {
    return this.remembered();
  }

  now(): Date {
    return new Date(this.o.clock?.now() ?? Date.now());
  }

  get currentPhase(): RunPhase {
    return this.phase;
  }

  /** From now on the run is in `phase`; returns the phase it was in. */
  enter(phase: RunPhase): RunPhase {
    const now = performance.now();
    this.spent[this.phase] = (this.spent[this.phase] ?? 0) + (now - this.mark);
    this.mark = now;
    const previous = this.phase;
    this.phase = phase;
    return previous;
  }

  async timed<T>(phase: RunPhase, fn: () => Promise<T>): Promise<T> {
    const previous = this.enter(phase);
    try {
      return await fn();
    } finally {
      this.enter(previous);
    }
  }

  /** Whole milliseconds per phase (largest remainders rounded up) adding up to the duration. */
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

  /** `.`: the repository's root. */
  get repoPath(): string {
    const { source } = this.o.config;
    return source.kind === 'git' ? source.path : '.';
  }

  repoRelative(file: string): string {
    if (this.repoPath === '.') return file;
    return file === '.' ? this.repoPath : `${this.repoPath}/${file}`;
  }
}

/** What a stage returns (the loop keeps each part: Reconciler.take). */
export interface Staged<T> {
  value: T | Outcome;
  status?: StatusUpdate;
  /** Also when it ends the run. */
  products?: Partial<RunProducts>;
  remember?: Partial<RunMemory>;
}

/** What a run's stages produced (Staged.products) for later stages and the record. */
export interface RunProducts {
  plan: Plan | null;
  /** The policy the gate holds by (rules stage); absent before it: the daemon's. */
  policy?: RunPolicy;
  /** What it was made from (the objects view). */
  desired?: DesiredState;
  live?: LiveState | null;
  /** The plan's live.inventory: whether an in-sync run records it. */
  liveInventory: readonly string[] | null | undefined;
  /** The plan's one count (src/plan/counts.ts), made once by the plan stage for every place. */
  counts?: PlanCounts;
  /** Changes found although the repository has not moved since it was applied (plan stage). */
  drift: Change[];
  /** The kinds the backend takes as configuration only with no file named (plan stage). */
  unnamedRender?: UnnamedRender[];
  /** What the apply left undone; null when this run applied nothing. */
  applied: ApplyOutcome | null;
  /** The run planned the commit of a rollback, not the branch head (fetch stage). */
  rollback?: RunRollback;
  /** No run of that rollback planned its commit yet: errors in this one's plan refuse it. */
  rollbackPending?: RollbackPin;
  /** The branch head the rollback holds back: its poolsync.yaml rules the run (fetch stage). */
  branch?: SourceSnapshot;
  /**
   * A drift run of an invalid head (`result`: `invalid`, or `failed` by plan errors), planned
   * against `base`, the last commit applied (driftBaseStage).
   */
  invalidHead?: {
    commit: string | null;
    result: RunResult;
    errors: readonly StatusError[];
    errorsTotal: number;
    base: string;
  };
}

/** An apply of the branch head, and what its run reads (environmentReads; null: every file). */
export interface ApplyingHead {
  commit: string;
  reads: readonly string[] | null;
}

/**
 * What of an apply a newer head may supersede (docs/daemon.md#triggers): only the run's own head,
 * by what it reads. A rollback and an invalid head's drift run apply an earlier commit on purpose:
 * the head they were made for is already newer than it, so neither is superseded.
 */
export function supersedable(
  products: RunProducts,
  commit: string | null,
  config: RepoConfig,
): ApplyingHead | null {
  if (commit === null || products.rollback || products.invalidHead) return null;
  return { commit, reads: environmentReads(config) };
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
 * What a stage found for `/status`. applyStatusUpdate is the document's one writer during a run;
 * a field keeps its place (the JSON's key order is that of `initialStatus`).
 */
export type StatusUpdate = Partial<
  Omit<DaemonStatus, 'controlPlane' | 'source' | 'approval' | 'leader' | 'environments' | 'freeze'>
> & { controlPlane?: Partial<ControlPlaneStatus> };

export function applyStatusUpdate(state: DaemonStatus, update: StatusUpdate): void {
  const { controlPlane, ...fields } = update;
  Object.assign(state, fields, listedProblems(fields));
  if (controlPlane !== undefined) Object.assign(state.controlPlane, controlPlane);
}

/** Validation, fetch or control-plane problems: there is no plan to show. */
export function problemsUpdate(errors: StatusError[]): StatusUpdate {
  // Keep blocked/waiting of the last plan: they still describe the control plane.
  return { errors, summary: null, counts: null, warnings: [] };
}

/** The control plane could not be opened or read (`backend`: it was opened). */
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
