/**
 * The live state a plan leaves once every step of it is done, from the state it was made
 * against and its changes' `after` forms: what `apply` records for `plan --refresh-only`
 * (src/apply/last-applied.ts) without reading the control plane again. A plan is a promise:
 * what it shows is what the apply did. Only the settable fields come from the plan (the ones
 * drift compares, src/plan/refresh.ts); reports (health, members, available clusters) stay as
 * read, and are unknown for the objects the apply created. Pure.
 */
import {
  assignmentKeyString,
  defaultQueueKeyString,
  type Assignment,
  type PoolContract,
  type QueueSpec,
} from '../model/common.js';
import type { ExecutionClusterLabel } from '../model/flyte.js';
import type {
  LiveCluster,
  LiveDefaultQueue,
  LivePool,
  LiveQueue,
  LiveState,
} from '../model/live.js';
import type { Change, Plan } from '../model/plan.js';

/** `live` with `changes` of one kind applied: updated in place, created, or gone. */
function applied<T>(
  live: readonly T[] | undefined,
  changes: readonly Change[],
  key: (t: T) => string,
  make: (change: Change, was: T | undefined) => T,
): T[] {
  const byKey = new Map((live ?? []).map((t) => [key(t), t]));
  for (const c of changes) {
    if (c.after === null) byKey.delete(c.name);
    else byKey.set(c.name, make(c, byKey.get(c.name)));
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
}

const name = (t: { name: string }) => t.name;
const DONE: ReadonlySet<Change['action']> = new Set(['create', 'update', 'replace', 'delete']);

export function appliedState(live: LiveState, plan: Plan): LiveState {
  // A side effect happens with its cause's step, whatever else blocks (a co-named queue left
  // behind by a re-registered cluster, C7).
  const by = (kind: Change['kind']) =>
    plan.changes.filter((c) => c.kind === kind && (DONE.has(c.action) || !!c.caused_by));
  // A kind whose settable form is the whole object (assignments, settings, labels), keyed by
  // the string the planner names its changes with.
  const keyed = <T>(list: readonly T[] | undefined, kind: Change['kind'], key: (t: T) => string) =>
    applied<T>(list, by(kind), key, (c) => c.after as T);
  const out: LiveState = {
    ...live,
    pools: applied<LivePool>(live.pools, by('ClusterPool'), name, (c, was) => ({
      name: c.name,
      member_clusters: was?.member_clusters ?? [],
      ...(c.after as { contract: PoolContract }),
    })),
    clusters: applied<LiveCluster>(live.clusters, by('Cluster'), name, (c, was) => ({
      ...(was ?? { health: 'unknown', unhealthy_reasons: [], config_drift: [], bound_queues: [] }),
      name: c.name,
      ...(c.after as { pool: string; enabled: boolean }),
    })),
    queues: applied<LiveQueue>(live.queues, by('Queue'), name, (c, was) => ({
      cluster_managed: false,
      available_clusters: [],
      ...was,
      name: c.name,
      ...(c.after as QueueSpec),
    })),
    assignments: keyed<Assignment>(live.assignments, 'PoolAssignment', assignmentKeyString),
  };
  if (live.default_queues)
    out.default_queues = keyed<LiveDefaultQueue>(
      live.default_queues,
      'DefaultQueue',
      defaultQueueKeyString,
    );
  if (live.execution_cluster_labels || by('ExecutionClusterLabel').length > 0)
    out.execution_cluster_labels = keyed<ExecutionClusterLabel>(
      live.execution_cluster_labels,
      'ExecutionClusterLabel',
      assignmentKeyString,
    );
  return out;
}
