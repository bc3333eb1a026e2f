/**
 * Union v2 default-queue settings (DefaultQueue, project/domain → queue): set (upsert) to
 * create or update, deleted with prune like assignments, blocked while the queue they name
 * will not exist. Steps run after the step that creates (or changes) that queue.
 */
import { address, defaultQueueKeyString } from '../model/common.js';
import type { DesiredDefaultQueue } from '../model/desired.js';
import type { LiveDefaultQueue } from '../model/live.js';
import type { Change } from '../model/plan.js';
import { makeChange, diffForms, type Form } from './forms.js';
import { reasonOf } from './reasons.js';
import {
  type PlanContext,
  type QueueDecision,
  PlanIndex,
  type DefaultQueueDecision,
} from './context.js';
import { stepKey, type StepGraph } from './graph.js';

export type { DefaultQueueDecision } from './context.js';

function form(d: { project: string; domain: string; queue: string }): Form {
  return { project: d.project, domain: d.domain, queue: d.queue };
}

/** Every setting's decision (by `project/domain`, sorted), given the queue decisions. */
export function planDefaultQueues(
  ctx: PlanIndex,
  queues: ReadonlyMap<string, QueueDecision>,
): ReadonlyMap<string, DefaultQueueDecision> {
  const out = new Map<string, DefaultQueueDecision>();
  const desired = new Map<string, DesiredDefaultQueue>(
    (ctx.desired.default_queues ?? []).map((d) => [defaultQueueKeyString(d), d]),
  );
  const live = new Map<string, LiveDefaultQueue>(
    (ctx.live.default_queues ?? []).map((d) => [defaultQueueKeyString(d), d]),
  );
  for (const key of PlanIndex.union(desired.keys(), live.keys())) {
    const d = desired.get(key);
    const l = live.get(key);
    const before = l ? form(l) : null;
    out.set(
      key,
      d ? declaredSetting(ctx, queues, key, d, l, before) : undeclaredSetting(ctx, key, l!, before),
    );
  }
  return out;
}

/** A live setting nothing declares: deleted with prune, otherwise left unmanaged. */
function undeclaredSetting(
  ctx: PlanIndex,
  key: string,
  l: LiveDefaultQueue,
  before: Form | null,
): DefaultQueueDecision {
  const change = ctx.undeclaredChange('DefaultQueue', key, before);
  const remove = change.action === 'delete';
  return {
    change,
    set: false,
    remove,
    finalQueue: remove ? null : l.queue,
  };
}

/** A declared setting: blocked while its queue will not exist, otherwise created, updated or kept. */
function declaredSetting(
  ctx: PlanIndex,
  queues: ReadonlyMap<string, QueueDecision>,
  key: string,
  d: DesiredDefaultQueue,
  l: LiveDefaultQueue | undefined,
  before: Form | null,
): DefaultQueueDecision {
  const after = form(d);
  const diff = diffForms(before, after);
  const queue = queues.get(d.queue);
  const willExist =
    ctx.lQueues.has(d.queue) ||
    (queue !== undefined && queue.change.action !== 'blocked' && queue.final !== null);
  if (diff.length > 0 && !willExist) {
    return {
      change: makeChange(
        'DefaultQueue',
        key,
        'blocked',
        before,
        after,
        diff,
        reasonOf('DEFAULT_QUEUE_TARGET_MISSING', {
          queue: d.queue,
          queue_address: address('Queue', d.queue),
        }),
      ),
      set: false,
      remove: false,
      finalQueue: l?.queue ?? null,
    };
  }
  return {
    change: makeChange(
      'DefaultQueue',
      key,
      !l ? 'create' : diff.length ? 'update' : 'noop',
      before,
      after,
      diff,
    ),
    set: diff.length > 0,
    remove: false,
    finalQueue: d.queue,
  };
}

/** Steps: a setting is set after the step that creates or changes its queue (C2/C3 included). */
export function addDefaultQueueSteps(ctx: PlanContext, g: StepGraph): void {
  for (const [key, dq] of ctx.defaultQueues) {
    const [project, domain] = splitKey(dq.change);
    const target = address('DefaultQueue', key);
    // A queue a setting names can be drained but not deleted (remote/_queue.py:934-938,
    // 1011-1012): the setting moves off it before its delete, or its cluster's.
    const liveQueue = dq.change.before ? String(dq.change.before['queue']) : null;
    const leave = (step: string) => {
      if (liveQueue === null || liveQueue === dq.finalQueue) return;
      // Its delete step (drain, queue_delete), or its cluster's, which takes it along.
      g.order(step, stepKey.deleteQueue(liveQueue));
      g.order(step, stepKey.deleteCluster(liveQueue));
    };
    if (dq.remove) {
      leave(
        g.add(
          `delete_default_queue:${key}`,
          { op: 'delete_default_queue', args: { project, domain } },
          target,
        ),
      );
    }
    if (!dq.set || dq.finalQueue === null) continue;
    const queue = dq.finalQueue;
    const step = g.add(
      `set_default_queue:${key}`,
      { op: 'set_default_queue', args: { project, domain, queue } },
      target,
    );
    leave(step);
    g.order(stepKey.queue(queue), step);
    const createdBy = ctx.queues.get(queue)?.createdBy;
    if (createdBy) g.order(stepKey.register(createdBy), step);
  }
}

/** project and domain from the change's forms (never from the key text: names have no "/"). */
function splitKey(change: Change): [string, string] {
  const f = (change.after ?? change.before)!;
  return [String(f['project']), String(f['domain'])];
}
