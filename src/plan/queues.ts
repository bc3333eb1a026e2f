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
import type { PoolsAndClusters, QueueDecision } from './context.js';
import type { PlanIndex } from './plan-index.js';
import { diffForms, queueForm, sameQueueSpec, sameSelector } from './forms.js';
import { drainedForLeaving, routesSomewhere } from './drain.js';
import { noteUnmanagedFields } from './queue-fields.js';
import { decision, selectorBlockedReason } from './queue-decision.js';
import { reasonOf, reasonText } from './reasons.js';
import { cascadeDecision, deletedWithCluster } from './conamed-cascade.js';
import { planUndelete } from './queue-undelete.js';
import { planConamedUndelete } from './cluster-undelete.js';
import { inheritCaps } from './queue-caps.js';
import { targetSpec } from './queue-target.js';
import { withCause } from './causes.js';
import { planLiveQueue } from './queue-live.js';
import { activates, queueOwn, type QueueFrame, type QueueOwn } from './queue-frame.js';
import { changeWith, withNote } from './change.js';

/** The queue pass: each queue's decision (by name, sorted), from the index and the pool and cluster decisions. */
export function planQueues(
  ix: PlanIndex,
  pc: PoolsAndClusters,
): ReadonlyMap<string, QueueDecision> {
  const registering = [...pc.clusters.entries()].filter(([, d]) => d.registers).map(([n]) => n);
  const firstRegistration = registering[0] ?? null;
  const names = new Set([...ix.dQueues.keys(), ...ix.lQueues.keys()]);
  for (const [name, d] of pc.clusters)
    if (ix.dClusters.has(name) && d.change.action !== 'blocked') names.add(name);
  if (firstRegistration) names.add(DEFAULT_QUEUE);

  const frame: QueueFrame = { ix, pc, drainedBy: drainedForLeaving(ix, pc), firstRegistration };
  const queues = new Map<string, QueueDecision>();
  for (const name of [...names].sort()) {
    const d = planQueue(frame, queueOwn(ix, name));
    if (d) queues.set(name, d);
  }
  return queues;
}

/** One queue's decision from the frame and its own objects (null: nothing to say about it). */
function planQueue(f: QueueFrame, own: QueueOwn): QueueDecision | null {
  const l = own.live ?? null;
  const target = targetSpec(f, own, l);
  const missing = () => planMissingQueue(f, own, target);
  const d = !l
    ? missing()
    : deletedWithCluster(f, l) // and created again when its cluster registers again
      ? cascadeDecision(own, l, f.pc.clusters.get(own.name)?.registers ? missing() : null)
      : withActivation(f, l, planLiveQueue(f, own, l, target), f.drainedBy.get(own.name));
  return d ? noteUnmanagedFields(own, withCause(f, own, d)) : null;
}

/**
 * Capability `drain`: a queue left DRAINING/DRAINED (an earlier apply cut short, or drained by
 * hand), or drained by this plan while a cluster it routes to leaves, is re-activated once the
 * plan is done, when it still routes somewhere. One that routes nowhere stays drained. A queue
 * the repository wants (declared, `default`, a declared cluster's co-named queue) is activated
 * even when the rest of its change is blocked: a drain left by a half-done apply is drift, never
 * the state the plan settles on.
 */
function withActivation(
  f: QueueFrame,
  l: LiveQueue,
  d: QueueDecision,
  drainedBy: readonly string[] | undefined,
): QueueDecision {
  if (!f.ix.caps.drain || d.deletes || d.final === null || !routesSomewhere(f, d.final)) return d;
  // A disabled cluster's co-named queue stays as it is: Union drains it with its cluster and
  // activates it with it (remote/_cluster.py:361-363, 397-398), and refuses to activate it
  // while the cluster is drained (remote/_queue.py:965-966): never activated on its own then.
  const owner = l.cluster_managed ? f.pc.clusters.get(l.name) : undefined;
  if (owner?.final?.enabled === false || activates(owner)) return d;
  const inactive = l.state !== undefined && l.state !== 'active';
  const wanted =
    d.declared || l.name === DEFAULT_QUEUE || (l.cluster_managed && f.ix.dClusters.has(l.name));
  const settled = d.change.action === 'unmanaged' || (d.change.action === 'blocked' && !wanted);
  if (drainedBy === undefined && (!inactive || settled)) return d;
  const activated = inactive
    ? changeWith(d.change, {
        diff: [
          ...d.change.diff,
          { path: 'state', before: l.state, after: 'active', forces_replacement: false },
        ],
        ...(d.change.action === 'noop' ? { action: 'update' as const } : {}),
      })
    : d.change;
  const why = reasonText(
    reasonOf('QUEUE_REACTIVATED', {
      state: l.state ?? null,
      drained_by: drainedBy?.map((c) => address('Cluster', c)) ?? null,
    }),
  )!;
  return { ...d, activates: true, change: withNote(activated, why) };
}

function planMissingQueue(
  f: QueueFrame,
  own: QueueOwn,
  target: QueueSpec | null,
): QueueDecision | null {
  const { name } = own;
  const deleted = f.ix.caps.soft_delete ? own.deleted : undefined;
  if (name === DEFAULT_QUEUE && deleted) {
    // Soft-deleted (default_delete): its name stays reserved, so C3 does not bring it back.
    return target ? planUndelete(f, own, inheritCaps(target, deleted), deleted) : null;
  }
  if (name === DEFAULT_QUEUE) return planMissingDefault(f, own, target);
  if (!target) return null;
  const cluster = f.pc.clusters.get(name);
  if (cluster?.registers && cluster.final) return planRegisteredConamed(own, target, cluster.final);
  // soft_delete: a deleted co-named queue comes back with its cluster's undelete.
  if (deleted?.cluster_managed && cluster?.undeletes)
    return planConamedUndelete(own, inheritCaps(target, deleted), deleted, cluster);
  if (deleted) return planUndelete(f, own, inheritCaps(target, deleted), deleted);
  const reason =
    selectorBlockedReason(f, target) ??
    (f.ix.lClusters.has(name)
      ? reasonOf('QUEUE_NAME_TAKEN', { name, cluster: address('Cluster', name) })
      : null);
  if (reason) {
    return decision(own, {
      ...NONE,
      action: 'blocked',
      final: null,
      diff: diffForms(null, queueForm(target)),
      reason,
    });
  }
  return decision(own, {
    ...NONE,
    action: 'create',
    call: { op: 'create_queue', spec: target },
    final: target,
  });
}

const NONE = { live: null, call: null, createdBy: null } as const;

/** A missing `default` queue: blocked until a registration recreates it (C3). */
function planMissingDefault(
  f: QueueFrame,
  own: QueueOwn,
  target: QueueSpec | null,
): QueueDecision | null {
  const { firstRegistration } = f;
  if (!firstRegistration) {
    if (!target) return null;
    return decision(own, {
      ...NONE,
      action: 'blocked',
      final: null,
      diff: diffForms(null, queueForm(target)),
      reason: reasonOf('DEFAULT_QUEUE_MISSING', {}),
    });
  }
  // C3: any registration recreates the org-wide queue with the defaults.
  const created: QueueSpec = { pool: DEFAULT_POOL, clusters: [WILDCARD], ...QUEUE_DEFAULTS };
  const want = target ?? created;
  return decision(own, {
    ...NONE,
    action: 'create',
    createdBy: 'C3',
    call: sameQueueSpec(want, created) ? null : { op: 'update_queue', spec: want },
    final: want,
    causedBy: address('Cluster', firstRegistration),
    createdAs: created,
  });
}

/** C2: the registration of its cluster creates the co-named queue with default settings. */
function planRegisteredConamed(
  own: QueueOwn,
  target: QueueSpec,
  cluster: { pool: string },
): QueueDecision {
  const { name } = own;
  const created: QueueSpec = { pool: cluster.pool, clusters: [name], ...QUEUE_DEFAULTS };
  if (target.pool !== created.pool || !sameSelector(target.clusters, created.clusters)) {
    return decision(own, {
      ...NONE,
      action: 'blocked',
      final: created,
      diff: diffForms(queueForm(created), queueForm(target)),
      reason: reasonOf('CONAMED_QUEUE_FOLLOWS_CLUSTER', { pool: created.pool, name }),
      causedBy: address('Cluster', name),
    });
  }
  return decision(own, {
    ...NONE,
    action: 'create',
    createdBy: 'register',
    call: sameQueueSpec(target, created) ? null : { op: 'update_queue', spec: target },
    final: target,
    causedBy: address('Cluster', name),
    createdAs: created,
  });
}
