/**
 * Soft deletes (capability `soft_delete`, Union today): a queue the repository declares whose
 * name belongs to a deleted queue cannot be created (its name stays reserved: CreateQueue is
 * ALREADY_EXISTS until UndeleteQueue, Union's client, remote/_queue.py). It is undeleted
 * instead: UndeleteQueue (back DRAINED, with the spec it had), then UpdateQueue to the
 * repository's spec, then activated (docs/union.md, "Soft deletes").
 */
import { WILDCARD, address, type QueueSpec } from '../model/common.js';
import type { LiveQueue } from '../model/live.js';
import type { QueueDecision } from './context.js';
import type { QueueFrame, QueueOwn } from './queue-frame.js';
import { diffForms, queueForm } from './forms.js';
import { decision, selectorBlockedReason } from './queue-decision.js';
import { reasonOf, reasonText } from './reasons.js';
import type { Reason } from '../model/plan.js';

/** Why the deleted queue cannot come back as it was deleted, or null (Union's undelete rules). */
function undeleteBlockedReason(f: QueueFrame, name: string, deleted: LiveQueue): Reason | null {
  if (deleted.cluster_managed && !f.ix.lClusters.has(name))
    return reasonOf('QUEUE_UNDELETE_CONAMED', { name });
  // A pool or cluster this plan undeletes is back before the queue's undelete (steps.ts).
  if (!f.ix.lPools.has(deleted.pool) && !f.pc.pools.get(deleted.pool)?.undeletes)
    return reasonOf('QUEUE_UNDELETE_POOL_GONE', { name, pool: deleted.pool });
  const poolOf = (c: string) =>
    f.ix.lClusters.get(c)?.pool ?? f.pc.clusters.get(c)?.undeletes?.pool;
  const gone = deleted.clusters.find((c) => c !== WILDCARD && poolOf(c) !== deleted.pool);
  if (gone)
    return reasonOf('QUEUE_UNDELETE_CLUSTER_GONE', {
      name,
      cluster: address('Cluster', gone),
      pool: deleted.pool,
    });
  return null;
}

export function planUndelete(
  f: QueueFrame,
  own: QueueOwn,
  target: QueueSpec,
  deleted: LiveQueue,
): QueueDecision {
  const { name } = own;
  const moves = target.pool !== deleted.pool;
  const reason =
    undeleteBlockedReason(f, name, deleted) ??
    (moves && !f.ix.caps.queue_move
      ? reasonOf('QUEUE_UNDELETE_NO_MOVE', { name, from: deleted.pool, to: target.pool })
      : null) ??
    selectorBlockedReason(f, target);
  if (reason) {
    return decision(own, {
      live: null,
      call: null,
      createdBy: null,
      action: 'blocked',
      final: null,
      diff: diffForms(null, queueForm(target)),
      reason,
    });
  }
  return decision(own, {
    live: null,
    call: { op: moves ? 'move_queue' : 'update_queue', spec: target },
    createdBy: null,
    action: 'create',
    final: target,
    diff: diffForms(queueForm(deleted), queueForm(target)),
    undeletes: true,
    activates: f.ix.caps.drain,
    note: reasonText(reasonOf('QUEUE_UNDELETED', { name }))!,
  });
}
