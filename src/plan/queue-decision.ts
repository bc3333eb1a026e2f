/**
 * Building blocks of the queue pass (queues.ts) shared with the capability modules beside it
 * (queue-move.ts, conamed-cascade.ts): a queue decision with its change, and the Q1 check of a
 * selector against the clusters the plan leaves in the queue's pool.
 */
import { WILDCARD, address, type QueueSpec } from '../model/common.js';
import type { FieldDiff, Reason } from '../model/plan.js';
import { makeChange } from './change.js';
import type { QueueDecision } from './context.js';
import type { QueueFrame, QueueOwn } from './queue-frame.js';
import { reasonOf } from './reasons.js';
import { diffForms, queueForm, sameQueueSpec } from './forms.js';

export function decision(
  own: QueueOwn,
  fields: Omit<QueueDecision, 'declared' | 'change'> & {
    action: QueueDecision['change']['action'];
    diff?: FieldDiff[];
    reason?: Reason | null;
    causedBy?: string | null;
    /** What the cause alone creates (C2/C3 defaults), when a call of its own follows. */
    createdAs?: QueueSpec;
    /** What the step of `causedBy` does to the queue, when the deciding pass knows it. */
    cause?: Reason;
    /** Why the steps are safe (drain, queue delete, move, undelete). */
    note?: string;
  },
): QueueDecision {
  const before = fields.live ? queueForm(fields.live) : null;
  // Most queues of a big organisation are unchanged: share the form, skip the diff.
  const unchanged =
    fields.live !== null && fields.final !== null && sameQueueSpec(fields.live, fields.final);
  const after = unchanged ? before : fields.final ? queueForm(fields.final) : null;
  const change = makeChange(
    'Queue',
    own.name,
    fields.action,
    before,
    after,
    fields.diff ?? (unchanged ? [] : diffForms(before, after)),
    fields.reason ?? null,
    fields.causedBy ?? null,
    {
      ...(fields.createdAs && fields.call && fields.causedBy
        ? { caused_after: queueForm(fields.createdAs) }
        : {}),
      ...(fields.cause ? { cause: fields.cause } : {}),
      ...(fields.note !== undefined ? { note: fields.note } : {}),
    },
  );
  const { call, createdBy, final, live, deletes, activates, moves, undeletes } = fields;
  const declared = own.desired !== undefined;
  return { change, call, createdBy, final, live, declared, deletes, activates, moves, undeletes };
}

/** Why the queue cannot select these clusters once the plan is applied (Q1), or null. */
export function selectorBlockedReason(f: QueueFrame, spec: QueueSpec): Reason | null {
  if (!f.pc.pools.get(spec.pool)?.finalContract) {
    const pool_address = address('ClusterPool', spec.pool);
    return reasonOf('QUEUE_POOL_MISSING', { pool: spec.pool, pool_address });
  }
  for (const c of spec.clusters) {
    if (c === WILDCARD) continue;
    const cluster = f.pc.clusters.get(c);
    if (cluster?.final?.pool === spec.pool) continue;
    if (cluster?.change.action === 'blocked')
      return reasonOf('QUEUE_SELECTS_BLOCKED_CLUSTER', { cluster: address('Cluster', c) });
    return reasonOf('QUEUE_SELECTS_NON_MEMBER', {
      cluster: address('Cluster', c),
      pool: spec.pool,
    });
  }
  return null;
}

/**
 * Why a queue the repository no longer has cannot be deleted even with queue_delete, or null;
 * `absent`: the "default" queue poolsync.yaml lists absent (its words say so).
 */
export function queueDeleteBlockedReason(
  f: QueueFrame,
  name: string,
  absent = false,
): Reason | null {
  if (!f.ix.caps.queue_delete) return null;
  const settings = f.ix.undeletableSettings(name);
  if (settings)
    return reasonOf(absent ? 'DEFAULT_QUEUE_ABSENT_UNDELETABLE' : 'QUEUE_DELETE_UNDELETABLE', {
      settings,
    });
  if (!f.ix.caps.drain)
    return reasonOf(absent ? 'DEFAULT_QUEUE_ABSENT_NO_DRAIN' : 'QUEUE_DELETE_NO_DRAIN', {});
  return null;
}
