/**
 * The decision for a queue the control plane has (queues.ts): deleted, left alone or blocked
 * when the repository does not want it; otherwise updated, moved or replaced into the pool and
 * selector the repository asks for, or refused with the rule that forbids it.
 */
import { DEFAULT_QUEUE, address, type QueueSpec } from '../model/common.js';
import type { LiveQueue } from '../model/live.js';
import type { FieldDiff, Reason } from '../model/plan.js';
import type { QueueDecision } from './context.js';
import { diffForms, queueForm, sameQueueSpec, sameSelector } from './forms.js';
import { decision, queueDeleteBlockedReason, selectorBlockedReason } from './queue-decision.js';
import { planQueueMove } from './queue-move.js';
import { reasonOf, reasonText } from './reasons.js';
import { leaves, type QueueFrame, type QueueOwn } from './queue-frame.js';

/** What the live queue is, and what it becomes if nothing is sent for it (C8, cluster_move). */
interface LiveView {
  readonly own: QueueOwn;
  readonly l: LiveQueue;
  /** Its spec, with the pool and selector of its moved cluster (cluster_move). */
  readonly live: QueueSpec;
  /** `live` once leaving clusters are out of its selector (C8). */
  readonly untouched: QueueSpec;
  readonly changedByC8: boolean;
  /** The cluster whose step changes it, when that is all that changes it. */
  readonly sideEffect: string | null;
  readonly base: { readonly live: LiveQueue; readonly call: null; readonly createdBy: null };
}

export function planLiveQueue(
  f: QueueFrame,
  own: QueueOwn,
  l: LiveQueue,
  target: QueueSpec | null,
): QueueDecision {
  const v = liveView(f, own, l);
  if (!target) return planUndeclaredQueue(f, v);
  // A requested change the rules forbid: shown with its diff, the queue stays as it is.
  const refuse = refusal(v, target);
  return (
    planQueueMove(f, own, l, v.live, target, refuse) ??
    planPoolChange(f, v, target, refuse) ??
    planSameGroupUpdate(f, v, target, refuse)
  );
}

function liveView(f: QueueFrame, own: QueueOwn, l: LiveQueue): LiveView {
  const { name } = own;
  // cluster_move: the co-named queue of a moved cluster moves with it (pool and selector).
  const movedTo =
    l.cluster_managed && f.pc.movedClusters.has(name) ? f.pc.clusters.get(name)!.final!.pool : null;
  const live: QueueSpec = movedTo
    ? { ...queueForm(l), pool: movedTo, clusters: [name] }
    : queueForm(l);
  // What the queue becomes if nothing is sent for it: only C8 (and a move) acts on it.
  const kept = pruned(f, live.clusters, movedTo ? name : null);
  const untouched: QueueSpec = kept === live.clusters ? live : { ...live, clusters: kept };
  const changedByC8 = movedTo !== null || !sameSelector(untouched.clusters, l.clusters);
  const base = { live: l, call: null, createdBy: null } as const;
  const sideEffect = movedTo
    ? address('Cluster', name)
    : changedByC8
      ? deletedIn(f, l.clusters)
      : null;
  return { own, l, live, untouched, changedByC8, sideEffect, base };
}

/** A live queue the repository does not declare (nor implies, as a system queue's owner does). */
function planUndeclaredQueue(f: QueueFrame, v: LiveView): QueueDecision {
  const removal = plannedRemoval(f, v);
  if (removal) return removal;
  const { own, l, untouched } = v;
  const { name } = own;
  const ownerIsLive = l.cluster_managed && f.ix.lClusters.has(name);
  // A system queue follows its owner (an unmanaged or deleted cluster): never reported on its own.
  if (ownerIsLive || name === DEFAULT_QUEUE) return leftAsItIs(v);
  if (!f.ix.prunes('Queue', name))
    return leftAsItIs(v, 'unmanaged', f.ix.unmanagedReason('Queue', name));
  // Already retired (or retired now by C8): nothing more the repository could ask for (Q6).
  if (untouched.clusters.length === 0) return leftAsItIs(v);
  const reason = queueDeleteBlockedReason(f, name) ?? reasonOf('QUEUE_NOT_DELETABLE', {});
  return leftAsItIs(v, 'blocked', reason);
}

/**
 * The live queue left as it is: nothing is sent for it, and it ends as C8 (and its cluster's
 * move) make it, changed by that step or not; `unmanaged` or `blocked` with the reason why, and
 * for a refused request the diff it asked for.
 */
function leftAsItIs(
  v: LiveView,
  action?: 'unmanaged' | 'blocked',
  reason?: Reason,
  diff?: FieldDiff[],
): QueueDecision {
  return decision(v.own, {
    ...v.base,
    action: action ?? (v.changedByC8 ? 'update' : 'noop'),
    final: v.untouched,
    diff,
    reason,
    causedBy: v.sideEffect,
  });
}

/** Q6 lifted: a queue deleted (queue_delete), or the `default` queue listed absent that cannot be. */
function plannedRemoval(f: QueueFrame, v: LiveView): QueueDecision | null {
  const { own, base } = v;
  const { name } = own;
  if (f.ix.deletedQueues.has(name)) {
    return decision(own, {
      ...base,
      action: 'delete',
      final: null,
      deletes: true,
      note: reasonText(reasonOf('QUEUE_DELETED_DRAINED', {}))!,
    });
  }
  if (name === DEFAULT_QUEUE && f.ix.absentDefault) {
    const reason =
      queueDeleteBlockedReason(f, name, true) ?? reasonOf('DEFAULT_QUEUE_ABSENT_NO_DELETE', {});
    return leftAsItIs(v, 'blocked', reason);
  }
  return null;
}

type Refuse = (reason: Reason) => QueueDecision;

function refusal(v: LiveView, target: QueueSpec): Refuse {
  const requested = () =>
    diffForms(queueForm(v.live), queueForm(target), (path) => path === 'pool');
  // A requested change the rules forbid: shown with its diff, the queue stays as it is.
  return (reason: Reason) => leftAsItIs(v, 'blocked', reason, requested());
}

/** The repository puts the queue in another pool: replaced (drain, queue_delete) or refused (Q3). */
function planPoolChange(
  f: QueueFrame,
  v: LiveView,
  target: QueueSpec,
  refuse: Refuse,
): QueueDecision | null {
  const { own, l, live, base } = v;
  const { name } = own;
  const requested = () => diffForms(queueForm(live), queueForm(target), (path) => path === 'pool');
  if (
    target.pool !== live.pool &&
    !l.cluster_managed &&
    f.ix.caps.drain &&
    f.ix.caps.queue_delete
  ) {
    const settings = f.ix.undeletableSettings(name);
    // Soft deletes keep the name reserved (remote/_queue.py:1006-1008): no create of it after.
    const blocked = settings
      ? reasonOf('QUEUE_POOL_CHANGE_UNDELETABLE', { settings })
      : f.ix.caps.soft_delete
        ? reasonOf('QUEUE_POOL_CHANGE_NAME_RESERVED', { pool: target.pool, live_pool: live.pool })
        : selectorBlockedReason(f, target);
    if (blocked) return refuse(blocked);
    return decision(own, {
      ...base,
      action: 'replace',
      call: { op: 'create_queue', spec: target },
      final: target,
      diff: requested(),
      deletes: true,
      note: reasonText(reasonOf('QUEUE_REPLACED_DRAINED', { from: live.pool, to: target.pool }))!,
    });
  }
  if (target.pool !== live.pool) {
    const missing = [
      ...(f.ix.caps.drain ? [] : ['drain']),
      ...(f.ix.caps.queue_delete ? [] : ['queue_delete']),
    ];
    if (l.cluster_managed) {
      return refuse(
        reasonOf('CONAMED_QUEUE_POOL_FIXED', {
          queue: address('Queue', name),
          cluster: name,
          pool: live.pool,
        }),
      );
    }
    return refuse(
      reasonOf('QUEUE_POOL_FIXED', {
        pool: target.pool,
        live_pool: live.pool,
        hint: f.ix.caps.drain || f.ix.caps.queue_delete,
        missing,
      }),
    );
  }
  return null;
}

/** The queue stays in its pool: its update, or the selector rule (Q1, Q4, Q5) that refuses it. */
function planSameGroupUpdate(
  f: QueueFrame,
  v: LiveView,
  target: QueueSpec,
  refuse: Refuse,
): QueueDecision {
  const { own, l, live, untouched, changedByC8, sideEffect } = v;
  const { name } = own;
  const managed = l.cluster_managed || name === DEFAULT_QUEUE;
  if (managed && !sameSelector(target.clusters, untouched.clusters)) {
    if (name === DEFAULT_QUEUE) return refuse(reasonOf('DEFAULT_QUEUE_SELECTOR_FIXED', {}));
    if (f.ix.lClusters.has(name) || f.pc.clusters.get(name)?.registers) {
      const emptied = untouched.clusters.length === 0;
      return refuse(reasonOf('CONAMED_SELECTOR_FIXED', { name, emptied }));
    }
    return refuse(
      reasonOf('CREATED_QUEUE_SELECTOR_FIXED', { name, clusters: [...untouched.clusters] }),
    );
  }
  const blocked = selectorBlockedReason(f, target);
  if (blocked) {
    return refuse(blocked);
  }
  // Q4/Q5: a managed queue's update resends the selector it has when the call runs (before
  // its cluster's delete, if any); C8 then prunes it.
  const send: QueueSpec = managed
    ? { ...target, pool: live.pool, clusters: [...live.clusters] }
    : target;
  const final: QueueSpec = managed
    ? { ...target, pool: live.pool, clusters: untouched.clusters }
    : target;
  const call = sameQueueSpec(send, live) ? null : ({ op: 'update_queue', spec: send } as const);
  const action = call || changedByC8 ? 'update' : 'noop';
  return decision(own, {
    live: l,
    createdBy: null,
    action,
    call,
    final,
    causedBy: call ? null : sideEffect,
  });
}

/**
 * C8: names of clusters deleted by the plan leave explicit selectors; so do clusters moved to
 * another pool (cluster_move), except from their own co-named queue (`self`), which moves along.
 */
function pruned(f: QueueFrame, selector: readonly string[], self: string | null = null): string[] {
  // Nearly always nothing leaves: keep the array rather than copy it.
  if (!selector.some((c) => c !== self && leaves(f, c))) return selector as string[];
  return selector.filter((c) => c === self || !leaves(f, c));
}

function deletedIn(f: QueueFrame, selector: readonly string[]): string | null {
  const c = selector.find((n) => leaves(f, n));
  return c ? address('Cluster', c) : null;
}
