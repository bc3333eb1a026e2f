/** What GET /status returns: plain JSON, secrets never included (the source is described safely). */
import type { Plan, PlanSummary, PlanWarning, Step } from '../model/plan.js';
import type { PlanCounts } from '../plan/counts.js';
import type { ApprovalStatus, ChangeBrief } from './approvals.js';
import type { ApplyPolicy } from './config-options.js';
import type { TriggerReason } from './loop.js';
import type { RunResult } from './metrics.js';

export interface StatusError {
  /** `V3`, `SCHEMA`, `GIT_FETCH`, `CONTROL_PLANE`, a control-plane code, … */
  code: string;
  message: string;
  /** `file:line:col` (relative to the repository root) when the error is in a manifest. */
  location: string | null;
  address: string | null;
  /** With environments: the environment whose error it is (in the top-level list). */
  environment?: string;
}

/** What a run applied: the plan's one count (src/plan/counts.ts) of the changes made. */
export type AppliedCounts = Omit<PlanCounts, 'blocked'>;

/** At most this many objects are listed in a run's `changed` (`changedTotal` counts them all). */
export const CHANGED_LISTED = 100;

export interface ChangedObject {
  address: string;
  action: string;
  /** Made by the control plane itself as the effect of another object's step. */
  sideEffect: boolean;
}

export interface RunRecord {
  id: number;
  trigger: TriggerReason[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  result: RunResult;
  commit: string | null;
  message: string;
  applied: AppliedCounts;
  /** The objects the run changed, in plan order (the first CHANGED_LISTED). */
  changed: ChangedObject[];
  /** How many objects the run changed in all. */
  changedTotal: number;
  /** Time spent in each phase: fetch, load, live, plan, apply (those that ran). */
  phasesMs: Record<string, number>;
}

export interface DaemonStatus {
  source: Record<string, string>;
  policy: ApplyPolicy;
  ready: boolean;
  /** Commit seen by the last run (null for a folder on disk, or before the first fetch). */
  commit: string | null;
  /** Last commit the control plane was brought in line with (or found equal to). */
  appliedCommit: string | null;
  /** The last run of any kind (`unchanged` runs included). */
  lastRun: RunRecord | null;
  /** Result of the last run that evaluated the repository (not `unchanged`). */
  outcome: RunResult | null;
  lastSuccessAt: string | null;
  git: {
    lastFetchAt: string | null;
    lastError: string | null;
    consecutiveFailures: number;
    nextRetryAt: string | null;
  };
  /** Of the last evaluated plan (null when the repository was invalid or nothing was planned). */
  summary: PlanSummary | null;
  /** The one count of the last evaluated plan (plan text's closing line, apply's report). */
  counts: PlanCounts | null;
  waitingForApproval: ChangeBrief[];
  blocked: ChangeBrief[];
  warnings: PlanWarning[];
  errors: StatusError[];
  /** Policy `safe`: what is held, approved, applied or refused (docs/daemon.md#approvals). */
  approval?: ApprovalStatus;
  /** With --leader-elect: who leads (docs/daemon.md#high-availability). */
  leader?: LeaderStatus;
  /** The control plane as the last run found it (reachability; no credentials). */
  controlPlane: ControlPlaneStatus;
  /** The last runs that evaluated the repository (not `unchanged`), newest first, with their plans. */
  runs: RecentRun[];
  /** The last drift found: changes made on the control plane while the repository had not moved. */
  lastDrift: DriftRecord | null;
  /** Manual steps of the last plan (no public API): a person runs them (the runbook). */
  manualSteps: Step[];
  /** Generated files (poolsync.yaml `render`) whose committed content differs from the rendering. */
  renderedFiles: RenderedFileStatus[];
  /**
   * What poolsync manages here (the inventory) with each object's live status, as the last
   * read found it (`poolsync state list` reads the same); null before the first read.
   */
  managed: ManagedStatus | null;
  /**
   * With `environments:` in poolsync.yaml: each environment's own document, by name; the
   * top-level fields then hold what is true of all of them (docs/environments.md, The daemon).
   */
  environments?: Record<string, DaemonStatus>;
}

/** At most this many managed objects are listed in /status `managed` (`count` counts them all). */
export const MANAGED_LISTED = 500;

export interface ManagedStatus {
  /** False: the control plane has no inventory yet (nothing applied or adopted). */
  recorded: boolean;
  count: number;
  /** Managed objects the control plane does not have (deleted outside poolsync). */
  missing: number;
  /** The first MANAGED_LISTED, by address; `status` null: missing. */
  objects: { address: string; status: string | null }[];
  /** What `poolsync state forget` took out of management. */
  forgotten: string[];
}

export interface ControlPlaneStatus {
  /** `embedded`, `union`, `flyteadmin`, … (null before the first run opened it). */
  backend: string | null;
  /** The control-plane URL as configured (credentials are refused in URLs; scrubbed anyway). */
  url: string | null;
  /** Whether the last run reached it (null: not tried yet). */
  reachable: boolean | null;
  lastAnsweredAt: string | null;
  lastError: string | null;
}

/** How many runs `runs` keeps, and how many changes of each run's plan. */
export const RECENT_RUNS = 10;
export const RECENT_PLAN_CHANGES = 200;

export interface RecentRun extends RunRecord {
  /**
   * The plan the run made (plan.md's JSON) without its `noop` changes (`summary` still counts
   * them) and with at most RECENT_PLAN_CHANGES changes; null when the run made none.
   */
  plan: Plan | null;
  /** Changes of the plan left out of `plan.changes` beyond RECENT_PLAN_CHANGES. */
  planChangesOmitted: number;
  /** Drift this run found (null: none). */
  drift: DriftRecord | null;
}

export interface DriftRecord {
  run: number;
  at: string;
  commit: string | null;
  /** Each change found, and whether this run put it back (applied) or not (held, failed, policy). */
  changes: (ChangeBrief & { corrected: boolean })[];
}

export interface RenderedFileStatus {
  kind: string;
  /** Relative to the manifests folder. */
  path: string;
  status: 'changed' | 'missing';
  /** Unified diff of the committed file against the rendering (headers aside), cut at 64 KiB. */
  diff: string;
  /** The commit --commit-rendered pushed with the new content (null: not committed). */
  committed: string | null;
}

export interface LeaderStatus {
  enabled: boolean;
  /** This replica's identity. */
  identity: string;
  isLeader: boolean;
  /** Holder of the Lease as last observed (null: none or unknown). */
  leader: string | null;
  /** Where followers hand requests to the leader (published in the Lease), or null. */
  leaderAddress: string | null;
  lease: string;
  lastTransitionAt: string | null;
}

export function initialStatus(source: Record<string, string>, policy: ApplyPolicy): DaemonStatus {
  return {
    source,
    policy,
    ready: false,
    commit: null,
    appliedCommit: null,
    lastRun: null,
    outcome: null,
    lastSuccessAt: null,
    git: { lastFetchAt: null, lastError: null, consecutiveFailures: 0, nextRetryAt: null },
    summary: null,
    counts: null,
    waitingForApproval: [],
    blocked: [],
    warnings: [],
    errors: [],
    controlPlane: {
      backend: null,
      url: null,
      reachable: null,
      lastAnsweredAt: null,
      lastError: null,
    },
    runs: [],
    lastDrift: null,
    manualSteps: [],
    renderedFiles: [],
    managed: null,
  };
}
