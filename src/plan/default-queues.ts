/**
 * Union v2 default-queue settings (DefaultQueue, project/domain → queue): planned like
 * assignments, blocked while the queue they name will not exist.
 */
import { address, defaultQueueKeyString } from '../model/common.js';
import type { Change } from '../model/plan.js';
import { changeWith, specForm } from './forms.js';
import { reasonOf } from './reasons.js';
import {
  type PlanContext,
  type QueueDecision,
  type PlanIndex,
  type DefaultQueueDecision,
  indexBy,
  keyed,
  upsertChange,
} from './context.js';
import type { StepGraph, StepNode } from './graph.js';

export function planDefaultQueues(ctx: PlanIndex, queues: ReadonlyMap<string, QueueDecision>) {
  const out = new Map<string, DefaultQueueDecision>();
  const desired = indexBy(ctx.desired.default_queues, defaultQueueKeyString);
  const live = indexBy(ctx.live.default_queues, defaultQueueKeyString);
  for (const [key, d, l] of keyed(desired, live)) {
    const before = l ? specForm('DefaultQueue', l) : null;
    if (!d) {
      const change = ctx.undeclaredChange('DefaultQueue', key, before);
      const remove = change.action === 'delete';
      out.set(key, { change, set: false, remove, finalQueue: remove ? null : l!.queue });
      continue;
    }
    const queue = queues.get(d.queue);
    const willExist =
      ctx.lQueues.has(d.queue) ||
      (queue !== undefined && queue.change.action !== 'blocked' && queue.final !== null);
    const change = upsertChange('DefaultQueue', key, before, specForm('DefaultQueue', d));
    if (change.action !== 'noop' && !willExist) {
      const why = reasonOf('DEFAULT_QUEUE_TARGET_MISSING', {
        queue: d.queue,
        queue_address: address('Queue', d.queue),
      });
      const blocked = changeWith(change, { action: 'blocked', why });
      out.set(key, { change: blocked, set: false, remove: false, finalQueue: l?.queue ?? null });
      continue;
    }
    const set = change.action !== 'noop';
    out.set(key, { change, set, remove: false, finalQueue: d.queue });
  }
  return out;
}

/** Steps: a setting is set after the step that creates or changes its queue (C2/C3 included). */
export function addDefaultQueueSteps(ctx: PlanContext, g: StepGraph): void {
  for (const [key, dq] of ctx.defaultQueues) {
    const [project, domain] = splitKey(dq.change);
    // A named queue cannot be deleted (remote/_queue.py:934-938, 1011-1012): move off it first.
    const liveQueue = dq.change.before ? String(dq.change.before['queue']) : null;
    const leave = (step: StepNode) => {
      if (liveQueue === null || liveQueue === dq.finalQueue) return;
      // Its delete step (drain, queue_delete), or its cluster's, which takes it along.
      g.order(step, g.at.deleteQueue(liveQueue));
      g.order(step, g.at.deleteCluster(liveQueue));
    };
    if (dq.remove)
      leave(g.add('deleteDefaultQueue', key, 'delete_default_queue', { project, domain }));
    if (!dq.set || dq.finalQueue === null) continue;
    const queue = dq.finalQueue;
    const step = g.add('setDefaultQueue', key, 'set_default_queue', {
      project,
      domain,
      queue,
    });
    leave(step);
    // A moved cluster's co-named queue exists throughout its move: the setting need not wait for
    // its update, which waits for the move, which may wait for the queue the setting leaves.
    const q = ctx.queues.get(queue);
    if (!(q?.live?.cluster_managed && ctx.movedClusters.has(queue)))
      g.order(g.at.queue(queue), step);
    if (q?.createdBy) g.order(g.at.register(q.createdBy), step);
  }
}

/** project and domain from the change's forms (never from the key text: names have no "/"). */
function splitKey(change: Change): [string, string] {
  const f = (change.after ?? change.before)!;
  return [String(f['project']), String(f['domain'])];
}
