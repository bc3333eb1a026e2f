/**
 * Capability `queue_move` (Q3 lifted; Union today: "a drained queue may move to another pool",
 * real-apis.md): a queue whose pool differs moves in place, keeping its name, its settings and
 * everything that targets it: drain → wait until DRAINED → move (the update naming the new
 * pool) → activate, like the other capabilities. poolsync moves only drained queues, so no work
 * is lost; without `drain` the move is blocked.
 */
import { DEFAULT_QUEUE, address, type QueueSpec } from '../model/common.js';
import type { LiveQueue } from '../model/live.js';
import type { QueueDecision } from './context.js';
import type { QueueFrame, QueueOwn } from './queue-frame.js';
import { reasonOf, reasonText } from './reasons.js';
import type { Reason } from '../model/plan.js';
import { routesSomewhere } from './drain.js';
import { diffForms, queueForm } from './forms.js';
import { decision, selectorBlockedReason } from './queue-decision.js';

/**
 * The decision for a live queue the repository puts in another pool (`target.pool`), or null
 * when queue_move does not apply (capability off, a co-named or the default queue: Q4, Q5).
 * `refuse` makes the blocked decision (the queue stays as it is).
 */
export function planQueueMove(
  f: QueueFrame,
  own: QueueOwn,
  l: LiveQueue,
  live: QueueSpec,
  target: QueueSpec,
  refuse: (reason: Reason) => QueueDecision,
): QueueDecision | null {
  if (!f.ix.caps.queue_move || target.pool === live.pool || !movable(f, l)) return null;
  const from = live.pool;
  if (!f.ix.caps.drain) {
    return refuse(reasonOf('QUEUE_MOVE_NO_DRAIN', { pool: target.pool }));
  }
  const blocked = selectorBlockedReason(f, target);
  if (blocked) return refuse(blocked);
  const activates = routesSomewhere(f, target);
  return decision(own, {
    live: l,
    createdBy: null,
    action: 'update',
    call: { op: 'move_queue', spec: target },
    final: target,
    diff: diffForms(queueForm(live), queueForm(target)),
    moves: true,
    activates,
    note: reasonText(
      reasonOf('QUEUE_MOVED_IN_PLACE', {
        from,
        to: target.pool,
        queue: address('Queue', l.name),
        activates,
      }),
    )!,
  });
}

/** Whether queue_move can ever move this queue: not `default` (Q5), not a co-named queue (Q4). */
export function movable(f: QueueFrame, l: LiveQueue): boolean {
  return l.name !== DEFAULT_QUEUE && !l.cluster_managed && f.ix.caps.queue_move;
}
