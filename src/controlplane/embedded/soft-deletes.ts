/**
 * Capability `soft_delete` (Union today: its client's docstrings, flyteplugins-union 0.19.1
 * remote/_queue.py): a deleted queue is kept, its name reserved, until it is undeleted.
 * - delete_queue (and the co-named queue a cluster delete takes along) keeps the queue's record
 *   among the deleted ones;
 * - create_queue of a deleted name is ALREADY_EXISTS (the name stays reserved);
 * - undelete_queue brings it back with the spec it had, DRAINED (with `drain`), once its pool
 *   and the clusters it names are live and in that pool; a co-named queue whose cluster is
 *   deleted cannot be undeleted (its cluster's undelete would bring it back);
 * - registering a cluster under a deleted queue's name replaces that record (the registration
 *   creates the co-named queue anew).
 * Off, a delete is final (the baseline rule).
 */
import { WILDCARD, address } from '../../model/common.js';
import type { LiveQueue } from '../../model/live.js';
import { ControlPlaneError, capabilityOff } from '../errors.js';
import { putQueue, type QueueRecord, type State } from './state-records.js';

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);

/** Keeps a queue being deleted among the deleted ones, when deletes are soft. */
export function keepDeleted(state: State, queue: QueueRecord): void {
  if (!state.capabilities.soft_delete) return;
  (state.deleted_queues ??= new Map()).set(queue.name, structuredClone(queue));
}

/** ALREADY_EXISTS when `name` is a deleted queue's: its name stays reserved until undeleted. */
export function checkNotReserved(state: State, name: string): void {
  if (!state.deleted_queues?.has(name)) return;
  throw new ControlPlaneError(
    'ALREADY_EXISTS',
    `queue "${name}" was deleted and its name stays reserved (soft_delete): undelete it instead of creating it`,
    address('Queue', name),
    'N2',
  );
}

/** A registration under this name creates its co-named queue anew: the deleted record goes. */
export function forgetDeleted(state: State, name: string): void {
  state.deleted_queues?.delete(name);
}

export function listDeletedQueues(state: State): LiveQueue[] {
  return [...(state.deleted_queues?.values() ?? [])].sort(byName).map((q) => ({
    name: q.name,
    ...structuredClone(q.spec),
    state: 'drained' as const,
    cluster_managed: q.cluster_managed,
    available_clusters: [],
  }));
}

export function undeleteQueue(state: State, name: string): void {
  const addr = address('Queue', name);
  if (!state.capabilities.soft_delete) throw capabilityOff('soft_delete', addr);
  const q = state.deleted_queues?.get(name);
  const refuse = (why: string) =>
    new ControlPlaneError('FAILED_PRECONDITION', `queue "${name}" ${why}`, addr, 'Q1');
  if (!q) {
    throw state.queues.has(name)
      ? refuse('is not deleted: there is nothing to undelete')
      : new ControlPlaneError('NOT_FOUND', `no deleted queue "${name}"`, addr, null);
  }
  if (q.cluster_managed && !state.clusters.has(name))
    throw refuse(
      `is the co-named queue of cluster "${name}", which is deleted: it cannot be undeleted alone`,
    );
  if (!state.pools.has(q.spec.pool))
    throw refuse(`cannot be undeleted: its pool "${q.spec.pool}" does not exist`);
  for (const c of q.spec.clusters) {
    if (c === WILDCARD) continue;
    if (state.clusters.get(c)?.pool !== q.spec.pool)
      throw refuse(
        `cannot be undeleted: it names cluster "${c}", which is not in pool "${q.spec.pool}"`,
      );
  }
  state.deleted_queues!.delete(name);
  putQueue(state, q);
  // It comes back DRAINED: it takes no work until activated.
  if (state.capabilities.drain) state.draining.add(name);
}

/** The JSON form: present only when there are deleted queues (older snapshots keep their form). */
export function deletedQueuesToJson(state: State): { deleted_queues?: QueueRecord[] } {
  const list = [...(state.deleted_queues?.values() ?? [])].sort(byName);
  return list.length > 0 ? { deleted_queues: list } : {};
}
