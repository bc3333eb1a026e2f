/**
 * The run history with several replicas (issue 76 item 4, docs/daemon.md#rollback): beside the
 * Lease (`<lease>-history`, as the rollback's `<lease>-rollback`) the leader keeps a compact copy
 * of its kept runs, each without its plan, so a replica that takes over, whatever its state
 * folder, merges the runs it lacks before its first run records: `poolsync history` and
 * `history ADDRESS` still list the deployments earlier leaders made, and run ids go on from
 * theirs. Every write carries the term's signal (ConfigMapValue.update): a deposed leader
 * writes nothing.
 */
import { refuseNewer } from '../util/format-version.js';
import { listOf, nullable, oneOf, record, shapeProblem } from '../util/json-shape.js';
import { UserError } from '../util/user-error.js';
import type { ReconcilerOptions } from './stages/context.js';
import {
  deployed,
  DRIFT_SHAPE,
  findKeptRun,
  type HistoryAge,
  type KeptHistory,
  RECENT_RUN_SHAPE,
  type RecentRun,
  retained,
} from './status.js';

/** Where the copy is kept (lease/k8s-lease.ts ConfigMapValue). */
export interface SharedHistoryPlace {
  readonly where: string;
  read(signal?: AbortSignal): Promise<string | null>;
  update(next: (text: string | null) => string | null, signal?: AbortSignal): Promise<void>;
}

/**
 * Under the API server's 1 MiB of a ConfigMap's values, with room left for a key someone else
 * keeps in it.
 */
export const SHARED_HISTORY_BYTES = 960 * 1024;

const FORMAT = 1;
const SHAPE = record(
  { format: oneOf(FORMAT), runs: listOf(RECENT_RUN_SHAPE) },
  { lastDrift: nullable(DRIFT_SHAPE) },
);

/** A kept run as the copy holds it: its plan stays with the replica that made it. */
function compact(run: RecentRun): RecentRun {
  if (run.plan === null) return run;
  return { ...run, plan: null, planElsewhere: true };
}

/**
 * The copy's text: every run without its plan, then within `maxBytes`: the oldest run that
 * changed nothing goes first, then the oldest run, never the newest deployment (what a rollback
 * goes back to); a single run still over it loses its drift list.
 */
export function sharedHistoryText(history: KeptHistory, maxBytes = SHARED_HISTORY_BYTES): string {
  const runs = history.runs.map(compact);
  const sizes = runs.map((r) => Buffer.byteLength(JSON.stringify(r)) + 1);
  const head = (lastDrift: KeptHistory['lastDrift']) =>
    Buffer.byteLength(JSON.stringify({ format: FORMAT, runs: [], lastDrift }));
  // Exact: each run and its comma, the last one without.
  let total = head(history.lastDrift) + sizes.reduce((a, b) => a + b, 0) - Math.min(1, runs.length);
  const newestDeployment = runs.find(deployed);
  while (total > maxBytes && runs.length > 1) {
    const idle = runs.findLastIndex((r) => !deployed(r));
    const i = idle >= 0 ? idle : runs.findLastIndex((r) => r !== newestDeployment);
    total -= sizes[i]!;
    runs.splice(i, 1);
    sizes.splice(i, 1);
  }
  if (total > maxBytes)
    return JSON.stringify({ format: FORMAT, runs: runs.map((r) => ({ ...r, drift: null })) });
  return JSON.stringify({ format: FORMAT, runs, lastDrift: history.lastDrift });
}

/** The copy as read (null: none yet); one that does not read is an error saying what to do. */
export function parseSharedHistory(text: string | null, where: string): KeptHistory | null {
  if (text === null) return null;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  refuseNewer(where, (data as { format?: unknown } | undefined)?.format, FORMAT);
  const problem = data === undefined ? 'is not JSON' : shapeProblem('history', SHAPE, data);
  if (problem !== null)
    throw new UserError(
      `the run history kept in ${where} does not read (${problem}): nothing was merged or written there; remove that key (kubectl edit configmap) and the leader writes it again`,
    );
  const kept = data as KeptHistory;
  return { runs: kept.runs, lastDrift: kept.lastDrift ?? null };
}

/**
 * `own` with the runs of `other` it lacks (by id: a run of its own, or folded into one, wins),
 * newest first, then `retained` as any history; the newer last drift of the two.
 */
export function mergedHistory(
  own: KeptHistory,
  other: KeptHistory,
  limit: number,
  age?: HistoryAge,
): KeptHistory {
  const runs = [...own.runs];
  for (const r of other.runs) if (!findKeptRun(runs, r.id)) runs.push(r);
  runs.sort((a, b) => b.id - a.id);
  const drifts = [own.lastDrift, other.lastDrift].filter((d) => d !== null);
  const lastDrift = drifts.sort((a, b) => b.run - a.run)[0] ?? null;
  return { runs: retained(runs, limit, age), lastDrift };
}

type History = NonNullable<ReconcilerOptions['history']>;

/**
 * `local` (the state folder's history) and a copy at `place`: each save writes the folder's
 * first, then the copy merged with what is there now (another writer's runs are kept), in the
 * run's term only.
 */
export function withSharedHistory(
  local: History,
  place: SharedHistoryPlace,
  limit: number,
  age: () => HistoryAge,
): History {
  return {
    kept: local.kept,
    save: async (history, signal) => {
      await local.save(history);
      if (signal?.aborted) return;
      await place.update((text) => {
        const there = parseSharedHistory(text, place.where);
        const all = there === null ? history : mergedHistory(history, there, limit, age());
        return sharedHistoryText(all);
      }, signal);
    },
    shared: async (signal) => parseSharedHistory(await place.read(signal), place.where),
  };
}
