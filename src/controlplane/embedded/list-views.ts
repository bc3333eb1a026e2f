/**
 * The lists of a state as readLiveState reads them (EmbeddedControlPlane.sharedLists), made
 * once and kept until the state is written: every read of an unchanged state (a daemon's drift
 * check, on the state shared through a state cache, EmbeddedOptions.stateCache) gets the same
 * frozen objects, so nothing is copied per run and a caller tells an unchanged object by
 * identity (incremental/plan-reuse.ts sameObjects).
 * After a write the lists are made again, and every view equal to the one the last lists had
 * under its name is that same object: one queue updated is one new object, not 10,000.
 */
import type { LiveLists } from '../types.js';
import { assignmentKeyString } from '../../model/common.js';
import { deepFreeze } from '../../util/deep-freeze.js';
import { sameJson } from '../../util/same-json.js';
import { withQueueState } from './capabilities.js';
import { listExecutionClusterLabels } from './cluster-labels.js';
import * as core from './state.js';

interface Views {
  lists: Map<string, readonly object[]>;
  /** The state was written since these lists were made: each is made again when next read. */
  stale: Set<string>;
}

const views = new WeakMap<core.State, Views>();

function shared<T extends object>(
  state: core.State,
  kind: string,
  keyOf: (item: T) => string,
  make: () => T[],
): readonly T[] {
  let v = views.get(state);
  if (!v) views.set(state, (v = { lists: new Map(), stale: new Set() }));
  const old = v.lists.get(kind) as readonly T[] | undefined;
  if (old && !v.stale.has(kind)) return old;
  const list = make();
  const before = new Map((old ?? []).map((item) => [keyOf(item), item]));
  for (let i = 0; i < list.length; i++) {
    const was = before.get(keyOf(list[i]!));
    list[i] = was !== undefined && sameJson(was, list[i]) ? was : deepFreeze(list[i]!);
  }
  v.lists.set(kind, Object.freeze(list));
  v.stale.delete(kind);
  return list;
}

/** The queue views at `now` (the drain state of a draining queue depends on the clock, Q7). */
export function queueViews(state: core.State, now: number) {
  return core.listQueues(state).map((q) => withQueueState(state, q, now));
}

const byName = (o: { name: string }) => o.name;

export function sharedLists(state: core.State, now: number): LiveLists {
  // A draining queue's state changes with time alone: those views are made anew every time.
  const timeless = !state.capabilities.drain || state.draining.size === 0;
  return {
    pools: shared(state, 'pools', byName, () => core.listPools(state)),
    clusters: shared(state, 'clusters', byName, () => core.listClusters(state)),
    queues: timeless
      ? shared(state, 'queues', byName, () => queueViews(state, now))
      : queueViews(state, now),
    assignments: shared(state, 'assignments', assignmentKeyString, () =>
      core.listAssignments(state),
    ),
    defaultQueues: shared(
      state,
      'default_queues',
      (d) => `${d.project}/${d.domain}`,
      () => core.listDefaultQueues(state),
    ),
    labels: shared(state, 'labels', assignmentKeyString, () => listExecutionClusterLabels(state)),
  };
}

/** Before every write to `state`: its lists are made again on the next read. */
export function staleListViews(state: core.State): void {
  const v = views.get(state);
  if (v) for (const kind of v.lists.keys()) v.stale.add(kind);
}
