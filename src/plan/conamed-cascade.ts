/**
 * Union today, with `queue_delete` (real-apis.md §4: "deleting a cluster puts its co-named
 * queue into deletion with it", Union docs, clusters page; the embedded control plane does the
 * same): a cluster delete takes its co-named queue with it. The planner predicts that as a
 * side effect of the cluster's delete_cluster step (`caused_by`), so no delete_queue step (and
 * no `flyte delete queue` runbook line) is planned for it; a cluster registered again under its
 * name (replace) gets a new co-named queue (C2), so nothing is orphaned (no C7 trap).
 */
import { address } from '../model/common.js';
import type { LiveQueue } from '../model/live.js';
import { makeChange } from './change.js';
import type { QueueDecision } from './context.js';
import type { QueueFrame, QueueOwn } from './queue-frame.js';
import { diffForms, queueForm } from './forms.js';
import { decision } from './queue-decision.js';
import { reasonOf } from './reasons.js';

/** Whether this plan deletes the live co-named queue `l` with its cluster. */
export function deletedWithCluster(f: QueueFrame, l: LiveQueue): boolean {
  return f.ix.conamedCascades(l.name) && f.pc.deletedClusters.has(l.name);
}

/**
 * The decision for such a queue: deleted with its cluster, or (`recreated`: the decision for
 * the co-named queue a registration under the same name creates) replaced by a new one.
 */
export function cascadeDecision(
  own: QueueOwn,
  l: LiveQueue,
  recreated: QueueDecision | null,
): QueueDecision {
  const by = address('Cluster', l.name);
  if (!recreated) {
    return decision(own, {
      live: l,
      call: null,
      createdBy: null,
      action: 'delete',
      final: null,
      causedBy: by,
      cause: reasonOf('DELETED_WITH_CLUSTER', { by }),
    });
  }
  const before = queueForm(l);
  const after = recreated.change.after;
  const diff = diffForms(before, after, (path) => path === 'pool');
  const change = makeChange('Queue', l.name, 'replace', before, after, diff, null, by, {
    ...(recreated.change.caused_after ? { caused_after: recreated.change.caused_after } : {}),
    cause: reasonOf('REPLACED_WITH_CLUSTER', { by, pool: l.pool }),
  });
  return { ...recreated, change };
}
