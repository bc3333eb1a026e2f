/**
 * What GET /status returns: plain JSON, secrets never included (the source is described
 * safely); and the runs it keeps, across restarts too (readHistory, writeHistory).
 */
import type { PolicyReport } from '../model/policy.js';
import type { Change, Plan, PlanSummary, PlanWarning, Step } from '../model/plan.js';
import type { PlanCounts } from '../plan/counts.js';
import type { ManagedObject, managedObjects } from '../plan/inventory.js';
import { briefOf, type ApprovalStatus, type ChangeBrief } from './approvals.js';
import type { ApplyPolicy } from './config-options.js';
import type { FreezeStatus } from './freeze.js';
import type { RollbackPin, RunRollback } from './rollback.js';
import type { TriggerReason } from './loop.js';
import { reachedCommit, type RunResult } from './run-result.js';
import { join } from 'node:path';
import {
  bool,
  listOf,
  nullable,
  num,
  oneOf,
  record,
  shapeProblem,
  str,
  type Shape,
} from '../util/json-shape.js';
import { writeOwnFile } from '../util/safe-file.js';
import { readKeptFile } from '../util/state-file.js';
import { NewerFormatError, refuseNewer } from '../util/format-version.js';
import { planValidator } from '../render/plan-file.js';
import { planDocument } from '../render/json.js';
import type { MissingRun } from '../render/daemon-words.js';
import type { RenderedChange, UnnamedRender } from '../render/rendered-files.js';

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

/** The plan's one count (src/plan/counts.ts) of the changes a run made. */
export type AppliedCounts = Omit<PlanCounts, 'blocked'>;

/** At most this many objects are listed in a run's `changed` (`changedTotal` counts them all). */
export const CHANGED_LISTED = 100;

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
  changed: {
    address: string;
    action: string;
    /** Made by the control plane itself as the effect of another object's step. */
    sideEffect: boolean;
    /** The fields its plan changed (`poolsync history ADDRESS`); absent in older histories. */
    fields?: string[];
  }[];
  changedTotal: number;
  /**
   * An apply stopped between steps (a freeze that began while it ran, a shutdown, …): why, and
   * the steps that never started (`op target`, the first CHANGED_LISTED). Absent: not stopped.
   */
  stopped?: { by: string; notRun: string[]; notRunTotal: number };
  /** fetch, load, live, plan, apply (those that ran). */
  phasesMs: Record<string, number>;
  /** Who approved the held changes the run applied (absent: none). */
  approvedBy?: string;
  /**
   * The fingerprint of the changes it held for approval, so a restarted daemon knows an approval
   * of them is stale (absent: none held, or a history of a build that did not record it).
   */
  heldFingerprint?: string;
  /** The run planned the commit of a rollback (rollback.ts), not the branch head. */
  rollback?: RunRollback;
  /**
   * A drift run of an invalid head (`commit`): the commit it planned and applied instead, the
   * last applied (docs/daemon.md#an-invalid-head). Absent: the run planned `commit`.
   */
  checkedAgainst?: string;
  /** The generated files its commit changes, which no plan sends (absent: none). */
  renderedFiles?: RenderedChange[];
  /**
   * The kinds the backend takes as configuration only whose objects no rendered file is named
   * for: whether they changed is unknown (absent: none, or a build before it was recorded).
   */
  unnamedRender?: UnnamedRender[];
  /**
   * The place of the term that recorded it among the terms that wrote the shared history
   * (joinedHistory): what orders runs of several leaders, whose clocks need not agree. Absent:
   * no election, a term that could not read the shared history, or an older build's run.
   */
  term?: number;
}

export interface DaemonStatus {
  source: Record<string, string>;
  /** The policy the last run held by: the daemon's (its environment's), or `policyLastApplied`'s. */
  policy: ApplyPolicy;
  /**
   * The last applied commit whose `policy` the last run held by, and the policy it sets, the loaded
   * commit's being looser (stages/merged-rules.ts); null: the loaded commit's. Absent from earlier
   * daemons.
   */
  policyLastApplied?: { commit: string; policy: ApplyPolicy } | null;
  /**
   * GET /status only: whether the admin API (approve, sync, suspend) is on, the daemon having
   * an admin token (http.ts); absent from earlier daemons.
   */
  adminApi?: boolean;
  ready: boolean;
  /** Commit seen by the last run (null for a folder on disk, or before the first fetch). */
  commit: string | null;
  /** Last commit the control plane was brought in line with (or found equal to). */
  appliedCommit: string | null;
  /** Of any kind (`unchanged` included). */
  lastRun: RunRecord | null;
  /** Of the last run that evaluated the repository (not `unchanged`). */
  outcome: RunResult | null;
  lastSuccessAt: string | null;
  git: {
    lastFetchAt: string | null;
    lastError: string | null;
    consecutiveFailures: number;
    nextRetryAt: string | null;
    /** While the daemon starts: when its first fetch began (absent once it has started). */
    fetchingSince?: string;
  };
  /** Of the last evaluated plan (null when the repository was invalid or nothing was planned). */
  summary: PlanSummary | null;
  /** The one count of the last evaluated plan (plan text's closing line, apply's report). */
  counts: PlanCounts | null;
  waitingForApproval: ChangeBrief[];
  /**
   * The guardrails that hold `waitingForApproval` whatever the policy (max_destroy, max_replace,
   * confirm_destroy: docs/daemon.md, Guardrails); empty: the policy alone. Absent in older status.
   */
  heldBy?: string[];
  /** Each of these three lists its first PROBLEMS_LISTED; `…Total` counts them all (absent: older daemons). */
  blocked: ChangeBrief[];
  blockedTotal?: number;
  warnings: PlanWarning[];
  warningsTotal?: number;
  errors: StatusError[];
  errorsTotal?: number;
  /** Policy `safe`: what is held, approved, applied or refused (docs/daemon.md#approvals). */
  approval?: ApprovalStatus;
  /** What the policies said of the last plan (docs/policies.md); absent: none configured. */
  policies?: PolicyReport | null;
  /** Whether applies wait now, and why: `poolsync suspend`, or a sync window (freeze.ts). */
  freeze: FreezeStatus;
  /** The rollback in force (rollback.ts): its commit is applied, not the branch head. */
  rollback?: (RollbackPin & { why: string }) | null;
  /** With --leader-elect: who leads (docs/daemon.md#high-availability). */
  leader?: LeaderStatus;
  /** The run in progress, absent between runs: what started it, when, the phase it is in. */
  running?: { id: number; trigger: TriggerReason[]; startedAt: string; phase: string };
  controlPlane: ControlPlaneStatus;
  /**
   * The last runs that evaluated the repository, newest first, with their plans; a run that found
   * no new commit (`unchanged`) is folded into the run before it (RunRepeats).
   */
  runs: RecentRun[];
  /** The last drift found: changes made on the control plane while the repository had not moved. */
  lastDrift: DriftRecord | null;
  /** Manual steps of the last plan (no public API): a person runs them (the runbook). */
  manualSteps: Step[];
  /** Generated files (poolsync.yaml `render`) whose committed content differs from the rendering. */
  renderedFiles: RenderedFileStatus[];
  /** The inventory with each object's live status, as last read (`poolsync state list`). */
  managed: ManagedStatus | null;
  /** Each environment's document; the top level: what holds for all (docs/environments.md). */
  environments?: Record<string, DaemonStatus>;
}

/**
 * At most this many errors, warnings and blocked changes are listed in /status (and so on the
 * dashboard and in `poolsync status`): an invalid commit of 200,000 bad documents made a 31 MB
 * answer, a copy per request, and six at once took a 256 MB daemon past its heap. A thousand
 * (~200 KB of errors) keeps whole the 344 warnings of the 10,000-object organisation, which the
 * dashboard counts per code.
 */
export const PROBLEMS_LISTED = 1000;

type Problems = Pick<
  DaemonStatus,
  'errors' | 'errorsTotal' | 'warnings' | 'warningsTotal' | 'blocked' | 'blockedTotal'
>;

/** The first PROBLEMS_LISTED of `list` (itself when no longer). */
export const firstListed = <T>(list: T[]): T[] =>
  list.length > PROBLEMS_LISTED ? list.slice(0, PROBLEMS_LISTED) : list;

/**
 * The lists of `update` cut to PROBLEMS_LISTED, each with its total: the one given (a list cut
 * before, joined to another), else its length.
 */
export function listedProblems(update: Partial<Problems>): Partial<Problems> {
  const out: Partial<Problems> = {};
  for (const kind of ['errors', 'warnings', 'blocked'] as const) {
    const list: unknown[] | undefined = update[kind];
    const total = `${kind}Total` as const;
    if (list)
      Object.assign(out, { [kind]: firstListed(list), [total]: update[total] ?? list.length });
  }
  return out;
}

/** How many of the list there are: its total, never fewer than it lists (an older daemon's has none). */
export const totalOf = (list: readonly unknown[], total: number | undefined): number =>
  Math.max(total ?? 0, list.length);

/** At most this many managed objects are listed in /status `managed` (`count` counts them all). */
export const MANAGED_LISTED = 500;

/** managedObjects (src/plan/inventory.ts), each state in words (src/render/live-status.ts). */
export type ManagedStatus = Omit<ReturnType<typeof managedObjects>, 'objects'> & {
  objects: (Pick<ManagedObject, 'address' | 'protection' | 'repository'> & {
    status: string | null;
  })[];
  /** The repository this daemon's plans record under (docs/plan.md, Prune scope); null: none named. */
  repository: string | null;
};

export interface ControlPlaneStatus {
  /** `embedded`, `union`, `flyteadmin`, … (null before the first run opened it). */
  backend: string | null;
  /** The control-plane URL as configured (credentials are refused in URLs; scrubbed anyway). */
  url: string | null;
  reachable: boolean | null;
  lastAnsweredAt: string | null;
  lastError: string | null;
}

/** How many changes of each run's plan `runs` keeps (how many runs: --history-limit). */
export const RECENT_PLAN_CHANGES = 200;

export interface RecentRun extends RunRecord {
  /** plan.md's JSON, digested (planDigest); null when the run made none. */
  plan: Plan | null;
  planChangesOmitted: number;
  /** The plan's errors and warnings beyond the PROBLEMS_LISTED of each kept. Absent: none. */
  planProblemsOmitted?: number;
  /**
   * Made by another replica and merged from the copy beside the Lease (shared-history.ts): its
   * plan is kept there, not here. Absent: false.
   */
  planElsewhere?: boolean;
  /** The whole plan's one count, whatever `plan` kept. */
  counts?: PlanCounts | null;
  drift: DriftRecord | null;
  repeats?: RunRepeats;
}

/** Later runs folded into a kept run because they said nothing new (see `repeats`). */
export interface RunRepeats {
  runs: number;
  lastId: number;
  lastFinishedAt: string;
  /** Of the kept run and the folded ones, sorted. */
  trigger: TriggerReason[];
  /** Of `runs`, those that found no new commit (`unchanged`); absent: none, or an older history. */
  unchanged?: number;
}

export interface DriftRecord {
  run: number;
  at: string;
  commit: string | null;
  /** `corrected`: this run put it back (applied), not held, failed or left by policy. */
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
  identity: string;
  isLeader: boolean;
  /** As last observed (null: none or unknown). */
  leader: string | null;
  /** Published in the Lease: where followers hand requests. */
  leaderAddress: string | null;
  lease: string;
  lastTransitionAt: string | null;
  /**
   * When this replica last read or renewed the Lease, while that is too long ago to name a
   * leader (`leader` is then null: no replica is known to lead); null or absent (a build before
   * it): the Lease is read.
   */
  leaseUnreadSince?: string | null;
  /** Why this replica's last attempt to read or renew the Lease failed; null: it succeeded. */
  leaseError?: string | null;
}

export function initialStatus(source: Record<string, string>, policy: ApplyPolicy): DaemonStatus {
  return {
    source,
    policy,
    policyLastApplied: null,
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
    blockedTotal: 0,
    warnings: [],
    warningsTotal: 0,
    errors: [],
    errorsTotal: 0,
    freeze: { frozen: false, why: null, suspended: null, windows: [] },
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

/* Past runs, kept for people (the dashboard) as Argo CD keeps an application's history. */
/**
 * Without `noop` changes (the summary still counts them), cut to `max` changes and their steps,
 * and without `inventory` (optional: what an apply records, every declared address): each run
 * kept copied, froze and wrote 10,000 addresses at 10,000 objects (issue 79).
 */
export function planDigest(
  plan: Plan,
  max = RECENT_PLAN_CHANGES,
): { plan: Plan; omitted: number; problemsOmitted: number } {
  const { inventory: _recorded, ...whole } = plan;
  const shown = {
    ...whole,
    errors: firstListed(plan.errors),
    warnings: firstListed(plan.warnings),
  };
  const problemsOmitted =
    plan.errors.length - shown.errors.length + plan.warnings.length - shown.warnings.length;
  const visible = plan.changes.filter((c) => c.action !== 'noop');
  if (visible.length <= max)
    return { plan: { ...shown, changes: visible }, omitted: 0, problemsOmitted };
  // The changes before the unmanaged objects: 3,000 of those listed before a queue's create
  // (by name) kept a plan without the one change its run applied.
  const unmanaged = (c: Change) => c.action === 'unmanaged';
  const first = [...visible.filter((c) => !unmanaged(c)), ...visible.filter(unmanaged)];
  const chosen = new Set(first.slice(0, max));
  const kept = visible.filter((c) => chosen.has(c));
  const addresses = new Set(kept.map((c) => c.address));
  return {
    plan: { ...shown, changes: kept, steps: plan.steps.filter((s) => addresses.has(s.target)) },
    omitted: visible.length - max,
    problemsOmitted,
  };
}

export interface ApplyOutcome {
  /** Targets of the steps that did not finish (failed, not run, manual, waiting). */
  notDone: ReadonlySet<string>;
  /** Addresses held for approval (policy safe): not applied by this run. */
  held: ReadonlySet<string>;
}

/**
 * Whether the run applied `c`: its step (or for a side effect its cause's) finished. `applied`:
 * null when the run applied nothing (policy none, a failure before the apply).
 */
export function appliedByRun(c: Change, applied: ApplyOutcome | null): boolean {
  return (
    applied !== null &&
    !applied.held.has(c.address) &&
    !applied.notDone.has(c.address) &&
    !(c.caused_by && applied.notDone.has(c.caused_by))
  );
}

export function driftRecord(
  run: Pick<RunRecord, 'id' | 'finishedAt' | 'commit'>,
  drift: readonly Change[],
  applied: ApplyOutcome | null,
): DriftRecord | null {
  if (drift.length === 0) return null;
  return {
    run: run.id,
    at: run.finishedAt,
    commit: run.commit,
    changes: drift.map((c) => ({ ...briefOf(c), corrected: appliedByRun(c, applied) })),
  };
}

/**
 * A run that changed the control plane (applied, approved, rolled back, or applied part of its
 * plan): what an operator rolls back to, kept before any run that changed nothing.
 */
export const deployed = (r: RunRecord): boolean => r.result === 'applied' || r.changedTotal > 0;

/**
 * A run a `POST /reconcile?wait=1` made, in its environment (null: the daemon has none): what
 * `poolsync sync` prints, never picked by comparing its machine's clock with the daemon's.
 */
export interface RunMade {
  environment: string | null;
  run: RunRecord;
}

/**
 * Whether `a` ran after `b`: by term, then number (a leader numbers its runs in order), never by
 * the leaders' clocks, which need not agree (joinedHistory also numbers a run recorded after its
 * term ended after the next leader's runs). Without a term on both (no election: one replica's
 * own clock, or `--lock` replicas that number runs each on their own; older builds' runs), by
 * finish time.
 */
export const ranAfter = (a: RunRecord, b: RunRecord): boolean =>
  a.term !== undefined && b.term !== undefined
    ? a.term !== b.term
      ? a.term > b.term
      : a.id > b.id
    : Date.parse(a.finishedAt) > Date.parse(b.finishedAt);

/**
 * The commit the control plane was last brought to, as the kept runs say: what /status
 * `appliedCommit` was before a restart or a new term, until a run applies again, and what
 * drift is measured from until a run of this process or term brings it there (stages/plan.ts).
 */
export function lastAppliedCommit(runs: readonly RunRecord[]): string | null {
  let newest: RunRecord | null = null;
  for (const r of runs)
    if (reachedCommit(r.result) && r.commit) if (!newest || ranAfter(r, newest)) newest = r;
  return newest?.commit ?? null;
}

/** --history-max-age: runs older than `maxAgeMs` go (0: no bound), read at `now`. */
export interface HistoryAge {
  maxAgeMs: number;
  now: number;
}

/**
 * `runs` with `run` first: a run that found no new commit, or repeats the newest (repeats), is
 * folded into it, so every run number stays one `poolsync history N` finds; then `retained`.
 */
export function withRecentRun(
  runs: readonly RecentRun[],
  run: RecentRun,
  limit: number,
  age?: HistoryAge,
): RecentRun[] {
  const [newest, ...older] = runs;
  if (newest && (run.result === 'unchanged' || repeats(newest, run))) {
    const folded = newest.repeats;
    const trigger = new Set([...(folded?.trigger ?? newest.trigger), ...run.trigger]);
    const unchanged = (folded?.unchanged ?? 0) + (run.result === 'unchanged' ? 1 : 0);
    const more = {
      lastId: run.id,
      lastFinishedAt: run.finishedAt,
      trigger: [...trigger].sort(),
      ...(unchanged > 0 ? { unchanged } : {}),
    };
    return retained(
      [{ ...newest, repeats: { runs: (folded?.runs ?? 0) + 1, ...more } }, ...older],
      limit,
      age,
    );
  }
  // Not reached (a run finds no new commit only after one was evaluated, and kept).
  if (run.result === 'unchanged') return [...runs];
  return retained([run, ...runs], limit, age);
}

/**
 * At most `limit` runs (newest first), none older than `age` but the newest and the newest
 * deployment (what the control plane was last brought to). Past the limit the oldest in-sync
 * run goes first, then the oldest other run that changed nothing, then the oldest deployment:
 * every deployment outlasts every no-op.
 */
export function retained(runs: readonly RecentRun[], limit: number, age?: HistoryAge): RecentRun[] {
  const lastDeployed = runs.find(deployed);
  const young = (r: RecentRun) =>
    age === undefined ||
    age.maxAgeMs <= 0 ||
    age.now - Date.parse(r.repeats?.lastFinishedAt ?? r.finishedAt) <= age.maxAgeMs;
  const kept = runs.filter((r, i) => i === 0 || r === lastDeployed || young(r));
  while (kept.length > Math.max(1, limit)) {
    const quiet = kept.findLastIndex((r, i) => i > 0 && r.result === 'in_sync');
    const idle = kept.findLastIndex((r, i) => i > 0 && !deployed(r));
    kept.splice(quiet > 0 ? quiet : idle > 0 ? idle : kept.length - 1, 1);
  }
  return kept;
}

/**
 * `run` says nothing `newest` did not (in sync again, the same changes held, the same failure):
 * same result, message (a retry's or fetch's attempt count aside), commit and drift, and neither changed anything.
 * Nothing answering is one failure whichever request met it first (`GET …/v1/pools`, `ListClusters`)
 * after however many attempts: its label and count are set aside (controlplane/errors.ts unreachable).
 */
function repeats(newest: RecentRun, run: RecentRun): boolean {
  const gist = (r: RecentRun) =>
    r.message
      .replace(/; retrying in .*$/, '')
      .replace(/^fetch failed \(attempt \d+\)/, 'fetch failed')
      .replace(/(?<=^|: )(?:[A-Z]+ )?\S+: (?=cannot reach )/g, '')
      .replace(/, \d+ attempts?\)/g, ')');
  const driftOf = (r: RecentRun) =>
    JSON.stringify(r.drift?.changes.map((c) => [c.address, c.action, c.corrected]) ?? null);
  return (
    newest.changedTotal === 0 &&
    run.changedTotal === 0 &&
    newest.result === run.result &&
    newest.commit === run.commit &&
    gist(newest) === gist(run) &&
    driftOf(newest) === driftOf(run)
  );
}

/** The kept run of `id`: its own, or one folded into it. */
export function findKeptRun(runs: readonly RecentRun[], id: number): RecentRun | undefined {
  return runs.find((r) => r.id === id || (r.repeats && r.id < id && id <= r.repeats.lastId));
}

/**
 * Why no kept run answers `id` (findKeptRun found none), as facts for the words; `last`: the
 * newest run that finished (/status `lastRun`), which may be newer than the newest kept line.
 */
export function missingRun(
  runs: readonly RecentRun[],
  id: number,
  last: number | null = null,
): MissingRun {
  const newest = Math.max(last ?? 0, ...runs.map((r) => r.repeats?.lastId ?? r.id));
  const oldest = runs.at(-1)?.id;
  // A run finished, none kept: a daemon built before run history (its /status had no `runs`).
  if (oldest === undefined && id <= newest) return { why: 'unkept', last: newest };
  if (oldest === undefined || id > newest)
    return { why: 'later', last: newest > 0 ? newest : null };
  if (id < oldest) return { why: 'older', oldest };
  return { why: 'dropped', oldest, newest, kept: runs.length };
}

export interface KeptHistory {
  runs: RecentRun[];
  lastDrift: DriftRecord | null;
}

const HISTORY_FORMAT = 1;
const HISTORY_BYTES = 64 * 1024 * 1024;
const WHAT = 'run history';

const CHANGE_SHAPE = record({ address: str, action: str }, { fields: listOf(str) });
export const DRIFT_SHAPE = record({
  run: num,
  at: str,
  commit: nullable(str),
  changes: listOf(record({ address: str, action: str, corrected: bool })),
});
/** plan.md's schema (render/plan-file.ts: ajv, compiled once). */
const PLAN_SHAPE: Shape = (v) => {
  let valid: boolean;
  try {
    valid = planValidator()(planDocument(v as Plan));
  } catch {
    valid = false;
  }
  return valid ? null : { path: '', what: 'is not a plan' };
};

/** A run as every reader reads it (the dashboard, `poolsync status` and `history`). */
export const RECENT_RUN_SHAPE = record(
  {
    id: num,
    trigger: listOf(str),
    startedAt: str,
    finishedAt: str,
    durationMs: num,
    result: str,
    commit: nullable(str),
    message: str,
    applied: record({}),
    changed: listOf(CHANGE_SHAPE),
    changedTotal: num,
    phasesMs: record({}),
  },
  {
    plan: nullable(PLAN_SHAPE),
    planChangesOmitted: num,
    planProblemsOmitted: num,
    planElsewhere: bool,
    counts: nullable(record({})),
    drift: nullable(DRIFT_SHAPE),
    repeats: record(
      { runs: num, lastId: num, lastFinishedAt: str, trigger: listOf(str) },
      { unchanged: num },
    ),
    approvedBy: str,
    heldFingerprint: str,
    rollback: record({ to: num, commit: str }),
    checkedAgainst: str,
    renderedFiles: listOf(record({ kind: str, path: str, status: str })),
    unnamedRender: listOf(record({ kind: str, status: str })),
    term: num,
  },
  // Absent from the runs of the first builds (21-22 Nov: /status `lastRun`): none recorded.
  { phasesMs: {}, changed: [], changedTotal: 0 },
);
const HISTORY_SHAPE = record(
  { format: oneOf(HISTORY_FORMAT), runs: listOf(RECENT_RUN_SHAPE) },
  { lastDrift: nullable(DRIFT_SHAPE) },
);

/** `<state-dir>/history.json`; a file that is not one is set aside (util/state-file.ts). */
export async function readHistory(
  stateDir: string,
  warn: (message: string) => void,
): Promise<KeptHistory | null> {
  const kept = await readKeptFile(stateDir, join(stateDir, 'history.json'), {
    maxBytes: HISTORY_BYTES,
    what: WHAT,
    warn,
    parse: (data) => {
      refuseNewer(
        join(stateDir, 'history.json'),
        (data as { format?: unknown })?.format,
        HISTORY_FORMAT,
      );
      return shapeProblem('history', HISTORY_SHAPE, data) ?? (data as KeptHistory);
    },
  });
  return kept && { runs: kept.runs, lastDrift: kept.lastDrift ?? null };
}

export async function keptHistory(
  stateDir: string,
  warn: (err: string) => void,
): Promise<{ kept: KeptHistory | null; save(history: KeptHistory): Promise<void> }> {
  const kept = await readHistory(stateDir, warn).catch((err: unknown) => {
    if (err instanceof NewerFormatError) throw err; // kept for the newer build, never replaced
    warn((err as Error).message);
    return null;
  });
  return { kept, save: (history) => writeHistory(stateDir, history) };
}

export async function writeHistory(stateDir: string, history: KeptHistory): Promise<void> {
  await writeOwnFile(
    stateDir,
    join(stateDir, 'history.json'),
    JSON.stringify({ format: HISTORY_FORMAT, ...history }),
    { what: WHAT, mode: 0o600 },
  );
}

/** One kept run's change of one object (`poolsync history ADDRESS`, the dashboard's Objects). */
export interface ObjectChange {
  run: number;
  action: string;
  /** The fields its plan changed (empty: none recorded, e.g. a create or delete). */
  fields: string[];
  sideEffect: boolean;
  commit: string | null;
  trigger: TriggerReason[];
  finishedAt: string;
  result: RunResult;
  approvedBy: string | null;
  rollback: RunRollback | null;
}

/**
 * The kept runs that changed `address`, newest first: those whose `changed` names it, or, when
 * a run changed more objects than it lists (CHANGED_LISTED), whose kept plan applied it whole.
 * `unknown`: runs whose lists were cut before they could say.
 */
export function objectChanges(
  runs: readonly RecentRun[],
  address: string,
): { changes: ObjectChange[]; unknown: number } {
  const changes: ObjectChange[] = [];
  let unknown = 0;
  for (const r of runs) {
    const listed = r.changed.find((c) => c.address === address);
    const planned = r.plan?.changes.find((c) => c.address === address);
    const cut = listed === undefined && r.changed.length < r.changedTotal;
    const wholePlan = cut && r.result === 'applied' && planned !== undefined;
    const unsaid = planned !== undefined || r.plan === null || r.planChangesOmitted > 0;
    if (cut && !wholePlan && unsaid) unknown++;
    if (listed === undefined && !wholePlan) continue;
    changes.push(
      changeIn(r, {
        action: listed?.action ?? planned!.action,
        fields: listed?.fields ?? fieldsOf(planned),
        sideEffect: listed?.sideEffect ?? false,
      }),
    );
  }
  return { changes, unknown };
}

/** What an older history, which kept no `fields`, says of them: its plan's diff of an update. */
function fieldsOf(c: Change | undefined): string[] {
  return c?.action === 'update' || c?.action === 'replace' ? c.diff.map((d) => d.path) : [];
}

/** Each object's newest change among the kept runs' lists (the dashboard's Objects). */
export function lastChanges(runs: readonly RecentRun[]): Map<string, ObjectChange> {
  const last = new Map<string, ObjectChange>();
  for (const r of runs)
    for (const c of r.changed)
      if (!last.has(c.address))
        last.set(
          c.address,
          changeIn(r, { action: c.action, fields: c.fields ?? [], sideEffect: c.sideEffect }),
        );
  return last;
}

/** One object's change by run `r`: what it did to the object, and the run's who and when. */
function changeIn(
  r: RecentRun,
  change: Pick<ObjectChange, 'action' | 'fields' | 'sideEffect'>,
): ObjectChange {
  return {
    run: r.id,
    ...change,
    // What it changed, it changed to the commit it planned (an invalid head's drift run: the last applied).
    commit: r.checkedAgainst ?? r.commit,
    trigger: r.trigger,
    finishedAt: r.finishedAt,
    result: r.result,
    approvedBy: r.approvedBy ?? null,
    rollback: r.rollback ?? null,
  };
}
