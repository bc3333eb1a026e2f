/**
 * Queue changes. What the repository wants (a Queue document, or the implicit spec of a
 * system queue) is compared with what the queue will be once every step has run, including
 * the side effects of other objects' steps: C2 (registration creates the co-named queue),
 * C3 (registration recreates `default`) and C8 (a cluster delete prunes selectors).
 * Queues are deleted or moved only with capabilities (queue_delete, queue_move: queue-move.ts,
 * conamed-cascade.ts); co-named and default queues keep their cluster's pool and selector (Q4, Q5).
 */
import {
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  QUEUE_DEFAULTS,
  WILDCARD,
  address,
  type QueueSpec,
} from '../model/common.js';
import type { LiveQueue } from '../model/live.js';
import type { Reason } from '../model/plan.js';
import type { PlanContext, QueueDecision } from './context.js';
import { queueFrame, queueOwn } from './queue-frame-of.js';
import { diffForms, queueForm, sameQueueSpec, sameSelector } from './forms.js';
import { drainedForLeaving, routesSomewhere } from './drain.js';
import { noteUnmanagedFields } from './queue-fields.js';
import { decision, queueDeleteBlockedReason, selectorBlockedReason } from './queue-decision.js';
import { planQueueMove } from './queue-move.js';
import { cascadeDecision, deletedWithCluster } from './conamed-cascade.js';
import { planUndelete } from './queue-undelete.js';
import { planConamedUndelete } from './cluster-undelete.js';
import { inheritCaps } from './queue-caps.js';
import { targetSpec } from './queue-target.js';
import { reasonOf, reasonText } from './reasons.js';
import { withCause } from './causes.js';
import {
  leaves,
  prunesQueue,
  undrainableReason,
  unmanagedQueueReason,
  type QueueFrame,
  type QueueOwn,
} from './queue-frame.js';
import { planEachQueue, type QueuePass } from './queue-pass.js';

export function planQueues(ctx: PlanContext, pass: QueuePass = planEachQueue): void {
  const registering = [...ctx.clusters.entries()].filter(([, d]) => d.registers).map(([n]) => n);
  const firstRegistration = registering[0] ?? null;
  const names = new Set([...ctx.dQueues.keys(), ...ctx.lQueues.keys()]);
  for (const [name, d] of ctx.clusters)
    if (ctx.dClusters.has(name) && d.change.action !== 'blocked') names.add(name);
  if (firstRegistration) names.add(DEFAULT_QUEUE);

  const frame = queueFrame(ctx, drainedForLeaving(ctx), firstRegistration);
  const decided = pass(frame, [...names].sort(), (name) => queueOwn(ctx, name), planQueue);
  for (const [name, d] of decided) if (d) ctx.queues.set(name, d);
}

/** One queue's decision from the frame and its own objects (null: nothing to say about it). */
export function planQueue(f: QueueFrame, own: QueueOwn): QueueDecision | null {
  const l = own.live ?? null;
  const target = targetSpec(f, own, l);
  const missing = () => planMissingQueue(f, own, target);
  const d = !l
    ? missing()
    : deletedWithCluster(f, l) // and created again when its cluster registers again
      ? cascadeDecision(own, l, f.clusters.get(own.name)?.registers ? missing() : null)
      : withActivation(f, l, planLiveQueue(f, own, l, target), f.drainedBy.get(own.name));
  return d ? noteUnmanagedFields(own, withCause(f, own, d)) : null;
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

/**
 * Capability `drain`: a queue left DRAINING/DRAINED (an earlier apply cut short, or drained by
 * hand), or drained by this plan while a cluster it routes to leaves, is re-activated once the
 * plan is done, when it still routes somewhere. One that routes nowhere stays drained.
 */
function withActivation(
  f: QueueFrame,
  l: LiveQueue,
  d: QueueDecision,
  drainedBy: readonly string[] | undefined,
): QueueDecision {
  if (!f.caps.drain || d.deletes || d.final === null || !routesSomewhere(f, d.final)) return d;
  // A disabled cluster's co-named queue stays as it is: Union drains it with its cluster and
  // activates it with it (remote/_cluster.py), so it is not activated on its own.
  if (l.cluster_managed && f.clusters.get(l.name)?.final?.enabled === false) return d;
  const inactive = l.state !== undefined && l.state !== 'active';
  const settled = d.change.action === 'blocked' || d.change.action === 'unmanaged';
  if (drainedBy === undefined && (!inactive || settled)) return d;
  d.activates = true;
  if (inactive) {
    d.change.diff.push({
      path: 'state',
      before: l.state,
      after: 'active',
      forces_replacement: false,
    });
    if (d.change.action === 'noop') d.change.action = 'update';
  }
  const why =
    drainedBy === undefined
      ? `left ${l.state} (drain): re-activated, since it routes to clusters again`
      : `drained (no new work) until ${drainedBy.map((c) => address('Cluster', c)).join(', ')} ` +
        `${drainedBy.length === 1 ? 'has' : 'have'} left with nothing in flight, then re-activated`;
  d.change.note = d.change.note ? `${d.change.note}; ${why}` : why;
  return d;
}

function planMissingQueue(
  f: QueueFrame,
  own: QueueOwn,
  target: QueueSpec | null,
): QueueDecision | null {
  const { name } = own;
  const { firstRegistration } = f;
  const none = { live: null, call: null, createdBy: null } as const;
  const deleted = f.caps.soft_delete ? own.deleted : undefined;
  if (name === DEFAULT_QUEUE && deleted) {
    // Soft-deleted (default_delete): its name stays reserved, so C3 does not bring it back.
    return target ? planUndelete(f, own, inheritCaps(target, deleted), deleted) : null;
  }
  if (name === DEFAULT_QUEUE) {
    if (!firstRegistration) {
      if (!target) return null;
      return decision(own, {
        ...none,
        action: 'blocked',
        final: null,
        diff: diffForms(null, queueForm(target)),
        reason:
          'the "default" queue is missing and its name is reserved (Q2): the next cluster registration recreates it (C3)',
      });
    }
    // C3: any registration recreates the org-wide queue with the defaults.
    const created: QueueSpec = { pool: DEFAULT_POOL, clusters: [WILDCARD], ...QUEUE_DEFAULTS };
    const want = target ?? created;
    return decision(own, {
      ...none,
      action: 'create',
      createdBy: 'C3',
      call: sameQueueSpec(want, created) ? null : { op: 'update_queue', spec: want },
      final: want,
      causedBy: address('Cluster', firstRegistration),
      createdAs: created,
    });
  }
  if (!target) return null;
  const cluster = f.clusters.get(name);
  if (cluster?.registers && cluster.final) {
    // C2: the registration creates the co-named queue with default settings.
    const created: QueueSpec = { pool: cluster.final.pool, clusters: [name], ...QUEUE_DEFAULTS };
    if (target.pool !== created.pool || !sameSelector(target.clusters, created.clusters)) {
      return decision(own, {
        ...none,
        action: 'blocked',
        final: created,
        diff: diffForms(queueForm(created), queueForm(target)),
        reason: `the pool and selector of a co-named queue follow its cluster (Q4): pool "${created.pool}", clusters ["${name}"]`,
        causedBy: address('Cluster', name),
      });
    }
    return decision(own, {
      ...none,
      action: 'create',
      createdBy: 'register',
      call: sameQueueSpec(target, created) ? null : { op: 'update_queue', spec: target },
      final: target,
      causedBy: address('Cluster', name),
      createdAs: created,
    });
  }
  // soft_delete: a deleted co-named queue comes back with its cluster's undelete.
  if (deleted?.cluster_managed && cluster?.undeletes)
    return planConamedUndelete(own, inheritCaps(target, deleted), deleted, cluster);
  if (deleted) return planUndelete(f, own, inheritCaps(target, deleted), deleted);
  let reason = selectorBlockedReason(f, target);
  if (!reason && f.liveClusterPools.has(name)) {
    reason = `the name "${name}" is taken by ${address('Cluster', name)}: clusters and queues share one namespace (Q2)`;
  }
  if (reason) {
    return decision(own, {
      ...none,
      action: 'blocked',
      final: null,
      diff: diffForms(null, queueForm(target)),
      reason,
    });
  }
  return decision(own, {
    ...none,
    action: 'create',
    call: { op: 'create_queue', spec: target },
    final: target,
  });
}

function planLiveQueue(
  f: QueueFrame,
  own: QueueOwn,
  l: LiveQueue,
  target: QueueSpec | null,
): QueueDecision {
  const { name } = own;
  // cluster_move: the co-named queue of a moved cluster moves with it (pool and selector).
  const movedTo =
    l.cluster_managed && f.movedClusters.has(name) ? f.clusters.get(name)!.final!.pool : null;
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

  if (!target && f.deletedQueues.has(name)) {
    const d = decision(own, { ...base, action: 'delete', final: null });
    d.deletes = true;
    d.change.note =
      'not in the repository: drained (no new work), waited for until DRAINED (nothing in flight), then deleted (queue_delete)';
    return d;
  }
  if (!target && name === DEFAULT_QUEUE && f.absentDefault) {
    return decision(own, {
      ...base,
      action: 'blocked',
      final: untouched,
      causedBy: sideEffect,
      reason:
        `listed absent in poolsync.yaml, but it cannot be deleted here: ` +
        (queueDeleteBlockedReason(f, name)?.replace(/^not in the repository; /, '') ??
          'this control plane deletes no queues (queue_delete off, Q6)'),
    });
  }
  if (!target) {
    const ownerIsLive = l.cluster_managed && f.liveClusterPools.has(name);
    if (ownerIsLive || name === DEFAULT_QUEUE) {
      // A system queue follows its owner (an unmanaged or deleted cluster): never reported on its own.
      return decision(own, {
        ...base,
        action: changedByC8 ? 'update' : 'noop',
        final: untouched,
        causedBy: sideEffect,
      });
    }
    if (!prunesQueue(f, name)) {
      return decision(own, {
        ...base,
        action: 'unmanaged',
        final: untouched,
        reason: unmanagedQueueReason(f),
        causedBy: sideEffect,
      });
    }
    if (untouched.clusters.length === 0) {
      // Already retired (or retired now by C8): nothing more the repository could ask for (Q6).
      return decision(own, {
        ...base,
        action: changedByC8 ? 'update' : 'noop',
        final: untouched,
        causedBy: sideEffect,
      });
    }
    return decision(own, {
      ...base,
      action: 'blocked',
      final: untouched,
      causedBy: sideEffect,
      reason:
        queueDeleteBlockedReason(f, name) ??
        `not in the repository, but queues cannot be deleted (Q6). To retire it, declare it with \`clusters: []\` ` +
          `(it then routes nowhere; an idle queue costs nothing).`,
    });
  }

  const requested = () => diffForms(queueForm(live), queueForm(target), (path) => path === 'pool');
  // A requested change the rules forbid: shown with its diff, the queue stays as it is.
  const refuse = (reason: string, why: Reason | null = null) => {
    const d = decision(own, {
      ...base,
      action: 'blocked',
      final: untouched,
      diff: requested(),
      reason,
      causedBy: sideEffect,
    });
    if (why) d.change.why = why;
    return d;
  };
  const moved = planQueueMove(f, own, l, live, target, refuse);
  if (moved) return moved;
  if (target.pool !== live.pool && !l.cluster_managed && f.caps.drain && f.caps.queue_delete) {
    const undrainable = undrainableReason(f, name);
    const blocked = undrainable
      ? `a queue's pool can change only by drain, delete and create (drain, queue_delete), but not this one's: ${undrainable}`
      : selectorBlockedReason(f, target);
    if (blocked) return refuse(blocked);
    const d = decision(own, {
      ...base,
      action: 'replace',
      call: { op: 'create_queue', spec: target },
      final: target,
      diff: requested(),
    });
    d.deletes = true;
    d.change.note =
      `replaced (drain, queue_delete): drained in pool "${live.pool}" (no new work), deleted once DRAINED ` +
      `(nothing in flight, so no work is lost), then created in pool "${target.pool}"`;
    return d;
  }
  if (target.pool !== live.pool) {
    const missing = [!f.caps.drain && 'drain', !f.caps.queue_delete && 'queue_delete'].filter(
      Boolean,
    );
    const hint =
      f.caps.drain || f.caps.queue_delete
        ? ` (With both drain and queue_delete this would be a drain → delete → create; this control plane lacks ${missing.join(' and ')}.)`
        : '';
    if (l.cluster_managed) {
      const why = reasonOf('CONAMED_QUEUE_POOL_FIXED', {
        queue: address('Queue', name),
        cluster: name,
        pool: live.pool,
      });
      return refuse(reasonText(why)!, why);
    }
    return refuse(
      `a queue's pool can never change (Q3) and queues cannot be deleted (Q6): declare a new queue (another name) ` +
        `in pool "${target.pool}" and retire this one with \`pool: ${live.pool}\` and \`clusters: []\`.` +
        hint,
    );
  }
  const managed = l.cluster_managed || name === DEFAULT_QUEUE;
  if (managed && !sameSelector(target.clusters, untouched.clusters)) {
    const reason =
      name === DEFAULT_QUEUE
        ? 'the selector of the "default" queue cannot change (Q5)'
        : f.liveClusterPools.has(name) || f.clusters.get(name)?.registers
          ? `the selector of a co-named queue is managed by its cluster and cannot be set (Q4)` +
            (untouched.clusters.length === 0
              ? `; this one was emptied when cluster "${name}" was deleted (C8) and a new registration does not restore it (C7): use a new cluster name`
              : '')
          : `this queue was created by cluster "${name}" (C2), so its selector cannot be set (Q4); it stays ` +
            `${JSON.stringify(untouched.clusters)}`;
    return refuse(reason);
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
