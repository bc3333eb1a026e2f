/**
 * The lists of a state as readLiveState reads them (ControlPlane.sharedLists), made once and
 * kept until the state is written: every read of an unchanged state (a daemon's drift check,
 * on the state shared through state-cache.ts) gets the same frozen objects, so nothing is
 * copied per run and a caller tells an unchanged object by identity (plan/same-objects.ts).
 */
import type { LiveLists } from '../types.js';
import { deepFreeze } from '../../util/deep-freeze.js';
import { withQueueState } from './capabilities.js';
import { listExecutionClusterLabels } from './cluster-labels.js';
import * as core from './state.js';

const views = new WeakMap<core.State, Map<string, readonly unknown[]>>();

function shared<T>(state: core.State, kind: string, make: () => T[]): readonly T[] {
  let lists = views.get(state);
  if (!lists) views.set(state, (lists = new Map()));
  let list = lists.get(kind) as readonly T[] | undefined;
  if (!list) lists.set(kind, (list = deepFreeze(make())));
  return list;
}

/** The queue views at `now` (the drain state of a draining queue depends on the clock, Q7). */
export function queueViews(state: core.State, now: number) {
  return core.listQueues(state).map((q) => withQueueState(state, q, now));
}

export function sharedLists(state: core.State, now: number): LiveLists {
  // A draining queue's state changes with time alone: those views are made anew every time.
  const timeless = !state.capabilities.drain || state.draining.size === 0;
  return {
    pools: shared(state, 'pools', () => core.listPools(state)),
    clusters: shared(state, 'clusters', () => core.listClusters(state)),
    queues: timeless
      ? shared(state, 'queues', () => queueViews(state, now))
      : queueViews(state, now),
    assignments: shared(state, 'assignments', () => core.listAssignments(state)),
    defaultQueues: shared(state, 'default_queues', () => core.listDefaultQueues(state)),
    labels: shared(state, 'labels', () => listExecutionClusterLabels(state)),
  };
}

/** Before every write to `state`. */
export function dropListViews(state: core.State): void {
  views.delete(state);
}
