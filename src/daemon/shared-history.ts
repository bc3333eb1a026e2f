/**
 * The run history with several replicas (issue 76 item 4, docs/daemon.md#rollback): beside the
 * Lease (`<lease>-history`, as the rollback's `<lease>-rollback`) the leader keeps a compact copy
 * of its kept runs, each without its plan, so a replica that takes over, whatever its state
 * folder, merges the runs it lacks before its first run records: `poolsync history` and
 * `history ADDRESS` still list the deployments earlier leaders made, and run ids go on from
 * theirs; a number the copy gives a run stays that run's (joinedHistory). Every write carries
 * the term's signal (ConfigMapValue.update): a deposed leader writes nothing.
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

/** The last run number a kept line covers (its own, or the last folded into it). */
const lastIdOf = (r: RecentRun): number => r.repeats?.lastId ?? r.id;

/** Same run: one number, one start (the copy keeps each run's `startedAt` as recorded). */
const sameRun = (a: RecentRun, b: RecentRun): boolean =>
  a.id === b.id && a.startedAt === b.startedAt;

const overlap = (a: RecentRun, b: RecentRun): boolean => a.id <= lastIdOf(b) && b.id <= lastIdOf(a);

/** A history joined to the copy, and the numbers of its own runs that moved (old → new). */
export interface JoinedHistory extends KeptHistory {
  renumbered: Map<number, number>;
  /** The highest number either history used: the next run's is after it. */
  highest: number;
  /** The new term's place (RunRecord.term): after every term either history recorded. */
  term: number;
}

/**
 * A new term's history: `own` joined to the copy beside the Lease (docs/daemon.md#rollback). A
 * number the copy gives a run is that run's: the copy is what every leader wrote in its term,
 * and terms never overlap, so only a run of `own` the copy never got can hold a number another
 * leader also used (a run its term ended under, whose record was fenced off the copy; a run
 * whose copy write failed). Such a run keeps its record under the next number free after
 * every run of either; a kept run whose folded repeats reach into another run of the copy
 * keeps the copy's repeats. The rest is mergedHistory's: the copy's runs `own` lacks, its own
 * that the copy holds too (with their plans), the newer last drift.
 */
export function joinedHistory(
  own: KeptHistory,
  copy: KeptHistory,
  limit: number,
  age?: HistoryAge,
): JoinedHistory {
  let next = 1 + Math.max(0, ...[...own.runs, ...copy.runs].map(lastIdOf));
  const renumbered = new Map<number, number>();
  const kept: RecentRun[] = [];
  // Oldest first: runs renumbered keep their order among themselves.
  for (const r of [...own.runs].sort((a, b) => a.id - b.id)) {
    const twin = copy.runs.find((c) => sameRun(c, r));
    if (twin) {
      // Its repeats as the copy has them when its own reach another run of the copy, or the
      // copy's reach further (runs of another leader folded into it).
      const clash = copy.runs.some((c) => c !== twin && overlap(c, r));
      kept.push(clash || lastIdOf(twin) > lastIdOf(r) ? withRepeats(r, twin.repeats) : r);
    } else if (!copy.runs.some((c) => overlap(c, r))) kept.push(r);
    else {
      const id = next;
      const span = lastIdOf(r) - r.id;
      renumbered.set(r.id, id);
      kept.push({
        ...r,
        id,
        ...(r.repeats ? { repeats: { ...r.repeats, lastId: id + span } } : {}),
        drift: r.drift && { ...r.drift, run: id },
      });
      next += span + 1;
    }
  }
  // Whatever named a renumbered run of its own follows it (a rollback's target).
  for (const [i, r] of kept.entries()) {
    const to = r.rollback && renumbered.get(r.rollback.to);
    if (r.rollback && to !== undefined) kept[i] = { ...r, rollback: { ...r.rollback, to } };
  }
  const ownDrift = own.lastDrift && {
    ...own.lastDrift,
    run: renumbered.get(own.lastDrift.run) ?? own.lastDrift.run,
  };
  const merged = mergedHistory({ runs: kept, lastDrift: null }, copy, limit, age);
  // The newer of the two by when it was found: a renumbered run's number says nothing of that.
  const drifts = [ownDrift, copy.lastDrift].filter((d) => d !== null);
  const lastDrift = drifts.sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0] ?? null;
  const term = nextTerm([...own.runs, ...copy.runs]);
  return { runs: merged.runs, lastDrift, renumbered, highest: next - 1, term };
}

/** A new term's place: after every term `runs` were recorded in. */
export const nextTerm = (runs: readonly RecentRun[]): number =>
  1 + Math.max(0, ...runs.map((r) => r.term ?? 0));

function withRepeats(r: RecentRun, repeats: RecentRun['repeats']): RecentRun {
  const { repeats: _, ...run } = r;
  return repeats ? { ...run, repeats } : run;
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
