/**
 * What a plan records in the inventory (docs/plan.md, Prune by inventory): the addresses the
 * repository declares (applying the plan makes them poolsync's), and the inventory's addresses
 * whose objects are neither live nor declared any more (deleted outside poolsync: forgotten, so
 * a hand-made object given that name later is not pruned). Pure; the store is
 * src/apply/inventory.ts.
 */
import { address, assignmentKeyString, defaultQueueKeyString } from '../model/common.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import type { PlanInventory } from '../model/plan.js';

/** Every address the repository declares of a kind poolsync can delete, sorted. */
export function declaredAddresses(desired: DesiredState): string[] {
  const out = [
    ...desired.pools.map((p) => address('ClusterPool', p.name)),
    ...desired.clusters.map((c) => address('Cluster', c.name)),
    ...desired.queues.map((q) => address('Queue', q.name)),
    ...desired.assignments.map((a) => address('PoolAssignment', assignmentKeyString(a))),
    ...(desired.default_queues ?? []).map((d) => address('DefaultQueue', defaultQueueKeyString(d))),
    ...(desired.execution_cluster_labels ?? []).map((l) =>
      address('ExecutionClusterLabel', assignmentKeyString(l)),
    ),
  ];
  return out.sort();
}

/** Every address of the live state. */
function liveAddresses(live: LiveState): Set<string> {
  return new Set([
    ...live.pools.map((p) => address('ClusterPool', p.name)),
    ...live.clusters.map((c) => address('Cluster', c.name)),
    ...live.queues.map((q) => address('Queue', q.name)),
    ...live.assignments.map((a) => address('PoolAssignment', assignmentKeyString(a))),
    ...(live.default_queues ?? []).map((d) => address('DefaultQueue', defaultQueueKeyString(d))),
    ...(live.execution_cluster_labels ?? []).map((l) =>
      address('ExecutionClusterLabel', assignmentKeyString(l)),
    ),
  ]);
}

/** The plan's `inventory`, when the live state carries one (read, or known to be absent). */
export function planInventory(desired: DesiredState, live: LiveState): PlanInventory | undefined {
  if (live.inventory === undefined) return undefined;
  const declared = declaredAddresses(desired);
  let gone: string[] = [];
  if (live.inventory !== null && live.inventory.length > 0) {
    const here = liveAddresses(live);
    const wanted = new Set(declared);
    gone = live.inventory.filter((a) => !here.has(a) && !wanted.has(a));
  }
  return { found: live.inventory !== null, declared, gone };
}

/**
 * The inventory once a plan's steps ran: what it held, plus what the repository declares,
 * less what the plan forgets and what the apply deleted. Null when nothing changes (no write).
 */
export function nextInventory(
  current: readonly string[] | null,
  inventory: PlanInventory,
  deleted: ReadonlySet<string>,
): string[] | null {
  const declared = new Set(inventory.declared);
  const next = new Set(current ?? []);
  for (const a of declared) next.add(a);
  for (const a of inventory.gone) next.delete(a);
  for (const a of deleted) if (!declared.has(a)) next.delete(a);
  const sorted = [...next].sort();
  const same =
    current !== null &&
    sorted.length === current.length &&
    sorted.every((a, i) => a === current[i]);
  return same ? null : sorted;
}
