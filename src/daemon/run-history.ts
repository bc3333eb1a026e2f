/**
 * What /status keeps of past runs for people (the dashboard, docs/daemon.md#dashboard): the
 * last runs that evaluated the repository, each with the commit and the plan it made and the
 * drift it found, and for each drifted object whether the run put it back. The record stage
 * hands it the run's facts. Bounded: RECENT_RUNS runs, RECENT_PLAN_CHANGES changes per plan.
 * Kept across restarts in `<state-dir>/history.json` (`readHistory`, `writeHistory`), as Argo
 * CD keeps an application's history.
 */
import { join } from 'node:path';
import type { Change, Plan } from '../model/plan.js';
import { whyText } from '../render/common.js';
import { listOf, nullable, num, record, shapeProblem, str } from '../util/json-shape.js';
import { readOwnFile, writeOwnFile } from '../util/safe-file.js';
import {
  RECENT_PLAN_CHANGES,
  RECENT_RUNS,
  type DriftRecord,
  type RecentRun,
  type RunRecord,
} from './status.js';

/**
 * The plan without its `noop` changes (its summary still counts them), cut to `max` changes
 * (with only the steps of the changes kept); `omitted` counts the changes left out.
 */
export function planDigest(plan: Plan, max = RECENT_PLAN_CHANGES): { plan: Plan; omitted: number } {
  const visible = plan.changes.filter((c) => c.action !== 'noop');
  if (visible.length <= max) return { plan: { ...plan, changes: visible }, omitted: 0 };
  const kept = visible.slice(0, max);
  const addresses = new Set(kept.map((c) => c.address));
  return {
    plan: { ...plan, changes: kept, steps: plan.steps.filter((s) => addresses.has(s.target)) },
    omitted: visible.length - max,
  };
}

/** What the apply of a run left undone, as the drift record needs it. */
export interface ApplyOutcome {
  /** Targets of the steps that did not finish (failed, not run, manual, waiting). */
  notDone: ReadonlySet<string>;
  /** Addresses held for approval (policy safe): not applied by this run. */
  held: ReadonlySet<string>;
}

/**
 * The drift a run found: `corrected` when the run applied the change (its step, or for a
 * change the control plane makes itself, the step of the object that causes it, finished).
 * `applied` is null when the run applied nothing (policy none, a failure before the apply).
 */
export function driftRecord(
  run: Pick<RunRecord, 'id' | 'finishedAt' | 'commit'>,
  drift: readonly Change[],
  applied: ApplyOutcome | null,
): DriftRecord | null {
  if (drift.length === 0) return null;
  const corrected = (c: Change): boolean =>
    applied !== null &&
    !applied.held.has(c.address) &&
    !applied.notDone.has(c.address) &&
    !(c.caused_by && applied.notDone.has(c.caused_by));
  return {
    run: run.id,
    at: run.finishedAt,
    commit: run.commit,
    changes: drift.map((c) => ({
      address: c.address,
      action: c.action,
      reason: whyText(c),
      corrected: corrected(c),
    })),
  };
}

/** `runs` with `run` first, at most RECENT_RUNS long. */
export function withRecentRun(runs: readonly RecentRun[], run: RecentRun): RecentRun[] {
  return [run, ...runs].slice(0, RECENT_RUNS);
}

/** The runs and the last drift a daemon keeps across restarts. */
export interface KeptHistory {
  runs: RecentRun[];
  lastDrift: DriftRecord | null;
}

const HISTORY_FORMAT = 1;
const HISTORY_BYTES = 64 * 1024 * 1024;
const WHAT = 'run history';

const RUN_SHAPE = record({
  id: num,
  startedAt: str,
  finishedAt: str,
  result: str,
  commit: nullable(str),
  message: str,
});
const HISTORY_SHAPE = record({ format: num, runs: listOf(RUN_SHAPE) });

/** `<state-dir>/history.json`: null when there is none yet; a file that is not one throws. */
export async function readHistory(stateDir: string): Promise<KeptHistory | null> {
  const path = join(stateDir, 'history.json');
  const bytes = await readOwnFile(stateDir, path, { maxBytes: HISTORY_BYTES, what: WHAT });
  if (bytes === null) return null;
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch {
    data = null;
  }
  const problem = shapeProblem('history', HISTORY_SHAPE, data);
  if (problem !== null || (data as { format: number }).format !== HISTORY_FORMAT)
    throw new Error(`${path} is not a poolsync run history (${problem ?? 'another format'})`);
  const kept = data as KeptHistory;
  return { runs: kept.runs.slice(0, RECENT_RUNS), lastDrift: kept.lastDrift ?? null };
}

export async function writeHistory(stateDir: string, history: KeptHistory): Promise<void> {
  await writeOwnFile(
    stateDir,
    join(stateDir, 'history.json'),
    JSON.stringify({ format: HISTORY_FORMAT, ...history }),
    { what: WHAT, mode: 0o600 },
  );
}
