/**
 * How a cluster's record binds the queues that name it, on the embedded control plane with
 * Union's capabilities (docs/union.md, "Union's rules in the plan"): a cluster another live
 * queue pins is not drained, moved or deleted (`unpin_first`, U23, U26, U31); its co-named queue
 * drains and activates with it (`drain`, U25, U27) and is deleted with it (`queue_delete`, U30).
 * state.ts and capabilities.ts call these from the ops they concern.
 */
import { address } from '../../model/common.js';
import { ControlPlaneError } from '../errors.js';
import { defaultQueueInUse } from './default-queues.js';
import { indexOf, type State } from './state-records.js';

const precondition = (message: string, addr: string, rule: string | null) =>
  new ControlPlaneError('FAILED_PRECONDITION', message, addr, rule);

/**
 * With `drain`, a cluster's co-named queue drains with its cluster and is activated with it,
 * even one drained on its own (Union: remote/_cluster.py:361-363, 396-398).
 */
export function conamedFollows(state: State, cluster: string, enabled: boolean): void {
  const queue = state.queues.get(cluster);
  if (!state.capabilities.drain || !queue?.cluster_managed) return;
  if (enabled) state.draining.delete(cluster);
  else state.draining.add(cluster);
}

/** unpin_first: refuses to drain, move or delete a cluster another live queue pins. */
export function refusePinned(
  state: State,
  cluster: string,
  what: 'drained' | 'moved' | 'deleted',
): void {
  if (!state.capabilities.unpin_first) return;
  const pins = indexOf(state)
    .boundQueues(cluster)
    .filter((q) => q !== cluster);
  if (pins.length > 0)
    throw precondition(
      `cluster "${cluster}" cannot be ${what}: queue${pins.length === 1 ? '' : 's'} ${pins.map((q) => `"${q}"`).join(', ')} ` +
        `${pins.length === 1 ? 'pins' : 'pin'} it explicitly; unpin it first (remote/_cluster.py)`,
      address('Cluster', cluster),
      'C8',
    );
}

/**
 * Union today, with `queue_delete` (real-apis.md: "deleting a cluster puts its co-named queue
 * into deletion with it", Union docs, clusters page): the co-named queue a cluster delete takes
 * with it, or null (none, or queue_delete off: C8 leaves it with an empty selector). Refused
 * while a default-queue setting names it, as deleting that queue is (default-queues.ts).
 */
export function conamedQueueDeletedWith(state: State, cluster: string): string | null {
  const queue = state.queues.get(cluster);
  if (!state.capabilities.queue_delete || !queue?.cluster_managed) return null;
  const named = defaultQueueInUse(state, cluster, 'deleted');
  if (named) {
    throw precondition(
      `cluster "${cluster}" cannot be deleted: its co-named queue would be deleted with it, but ${named.message}`,
      address('Cluster', cluster),
      named.rule ?? 'Q4',
    );
  }
  return cluster;
}
