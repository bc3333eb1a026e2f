/**
 * Queue changes: what the repository wants is compared with what the queue will be once every
 * step has run, other objects' side effects included: C2 (a registration creates the co-named
 * queue), C3 (and recreates `default`), C8 (a cluster delete prunes selectors). Deleted or moved
 * only with capabilities; co-named and default queues keep their pool and selector (Q4, Q5).
 */
import {
  CREATED_SCHEDULING,
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  QUEUE_DEFAULTS,
  WILDCARD,
  address,
  type QueueSpec,
  type QueueCaps,
} from '../model/common.js';
import type { LiveQueue } from '../model/live.js';
import {
  type PoolsAndClusters,
  type QueueDecision,
  type ClusterDecision,
  isWildcard,
  leaves,
  type Leaving,
  type LiveIndex,
  type PlanIndex,
} from './context.js';
import {
  diffForms,
  queueForm,
  sharedQueueForm,
  placedSpec,
  sameQueueSpec,
  inheritCaps,
  settingsOf,
  changeWith,
  withNote,
  makeChange,
  type ChangeMore,
  type Form,
} from './forms.js';
import { reasonOf, warning } from './reasons.js';
import { poolBlocked, poolBlockedReason } from './pools-and-clusters.js';
import { isAscending } from '../util/sorted.js';
import { sameStrings } from '../util/same-json.js';
import type { DesiredQueue } from '../model/desired.js';
import type { FieldDiff, Reason, Change, PlanWarning, WaitWhy } from '../model/plan.js';

/** The queue pass: each queue's decision, by name, sorted. */
export function planQueues(ix: PlanIndex, pc: PoolsAndClusters) {
  // forEach, not for-of nor spreads: run once over 90,000 names, those allocated an iterator
  // result (and an entry array) a name.
  let firstRegistration: string | null = null;
  // The declared clusters' co-named queues, in the cluster pass's (sorted) order.
  const conamed: string[] = [];
  pc.clusters.forEach((d, name) => {
    if (d.registers) firstRegistration ??= name;
    if (ix.dClusters.has(name) && d.change.action !== 'blocked') conamed.push(name);
  });
  const f: QueueFrame = { ix, pc, firstRegistration, wildcardRoutes: new Map() };
  const queues = new Map<string, QueueDecision>();
  const deleted = ix.lDeletedQueues.size > 0 ? ix.lDeletedQueues : null;
  eachQueueName(ix, conamed, firstRegistration !== null, (name, desired, live) => {
    const d = planQueue({ f, name, desired, live, deleted: deleted?.get(name) });
    if (d) queues.set(name, d);
  });
  return queues;
}

/**
 * Every queue name the pass decides, ascending, each once, with its declared and live queue: the
 * declared and live lists (sorted by the loader and the backends) and `conamed` merged as they
 * are (issue 79 item 5: at 100,000 creates a set of 70,000 names, its sort and two lookups a name
 * cost ~40 ms); a list out of order is sorted as before.
 */
function eachQueueName(
  ix: PlanIndex,
  conamed: readonly string[],
  withDefault: boolean,
  visit: (name: string, desired: DesiredQueue | undefined, live: LiveQueue | undefined) => void,
): void {
  const dq = ix.desired.queues;
  const lq = ix.live.queues;
  if (!ascendingNames(dq) || !ascendingNames(lq) || !isAscending(conamed)) {
    const names = new Set<string>();
    const add = (_: unknown, name: string) => names.add(name);
    ix.dQueues.forEach(add);
    ix.lQueues.forEach(add);
    conamed.forEach((name) => names.add(name));
    if (withDefault) names.add(DEFAULT_QUEUE);
    [...names].sort().forEach((name) => visit(name, ix.dQueues.get(name), ix.lQueues.get(name)));
    return;
  }
  let i = 0;
  let j = 0;
  let k = 0;
  let def = withDefault;
  for (;;) {
    // The least of each list's next name (and `default`, while not visited).
    let name = i < dq.length ? dq[i]!.name : null;
    const l = j < lq.length ? lq[j]!.name : null;
    if (l !== null && (name === null || l < name)) name = l;
    const c = k < conamed.length ? conamed[k]! : null;
    if (c !== null && (name === null || c < name)) name = c;
    if (def && (name === null || DEFAULT_QUEUE <= name)) name = DEFAULT_QUEUE;
    if (name === null) return;
    const desired = i < dq.length && dq[i]!.name === name ? dq[i++] : undefined;
    const live = j < lq.length && lq[j]!.name === name ? lq[j++] : undefined;
    if (k < conamed.length && conamed[k] === name) k++;
    if (name === DEFAULT_QUEUE) def = false;
    visit(name, desired, live);
  }
}

/** Whether the objects' names are strictly ascending (so each is its name's only one). */
function ascendingNames(items: readonly { name: string }[]): boolean {
  for (let i = 1; i < items.length; i++) if (!(items[i - 1]!.name < items[i]!.name)) return false;
  return true;
}

/** One queue's decision (null: nothing to say about it). */
function planQueue(own: QueueOwn): QueueDecision | null {
  const { f } = own;
  const l = own.live ?? null;
  // Caps a document does not declare (and a system queue's) are not managed: kept as they are.
  const wanted = declaredSpec(own, l);
  const target = wanted && inheritCaps(wanted, l);
  // One a registration creates again is planned without its live record. No closure for the
  // two calls: one more object for each of 90,000 queues.
  const d = !l
    ? planMissingQueue(own, target)
    : l.state === 'deleting'
      ? planDeletingQueue(own, l, target)
      : f.ix.conamedCascades(l.name) && f.pc.deletedClusters.has(l.name) // goes with its cluster
        ? cascadeDecision(
            own,
            l,
            f.pc.clusters.get(own.name)?.registers
              ? planMissingQueue({ ...own, live: undefined }, target)
              : null,
          )
        : withActivation(f, l, planLiveQueue(liveView(own, l, target)));
  return d ? noteUnmanagedFields(own, withCause(own, d)) : null;
}

/**
 * Issue 73 item 1: a queue being deleted (Union's DELETING: a delete asked while it drained) is
 * listed but refuses drain, activate, delete and undelete until the deletion ends
 * (remote/_queue.py:938-939, 965, 1002-1003, 1044-1045). One the repository wants is blocked
 * (plan again once it is deleted: it is then undeleted); one it wants gone needs nothing sent.
 */
function planDeletingQueue(own: QueueOwn, l: LiveQueue, target: QueueSpec | null): QueueDecision {
  const { f, name } = own;
  const v = liveView(own, l, target);
  const wanted = own.desired !== undefined || (l.cluster_managed && f.ix.dClusters.has(name));
  if (wanted && target) {
    const requested = [...diffForms(v.form, queueForm(target)), stateDiff('deleting', 'active')];
    return leftAsItIs(v, 'blocked', reasonOf('QUEUE_DELETING', { name }), requested);
  }
  const goes =
    name === DEFAULT_QUEUE
      ? f.ix.absentDefault
      : !l.cluster_managed && f.ix.caps.queue_delete && f.ix.prunes('Queue', name);
  return goes ? leftAsItIs(v) : planUndeclaredQueue(v);
}

/**
 * Capability `drain`: a queue left drained (a cut-short apply, by hand) or drained for its
 * cluster's move is re-activated when it still routes somewhere: a half-done apply's drain is
 * drift, never the state the plan settles on. Blocked means nothing is sent (issue 73 item 4):
 * a blocked queue the repository wants active shows its state among what is asked, no step. A
 * co-named queue follows its cluster (followsCluster).
 */
function withActivation(f: QueueFrame, l: LiveQueue, d: QueueDecision): QueueDecision {
  if (!f.ix.caps.drain || d.deletes || d.final === null) return d;
  const followed = followsCluster(f, l, d);
  if (followed) return followed;
  if (!routesSomewhere(f, d.final)) return d;
  const inactive = l.state !== undefined && l.state !== 'active';
  const action = d.change.action;
  if (action === 'unmanaged') return d;
  if (action === 'blocked') {
    const wanted = d.declared || (l.cluster_managed && f.ix.dClusters.has(l.name));
    return wanted && inactive ? { ...d, change: withState(d.change, l.state!, 'active') } : d;
  }
  const drained = drainedWithCluster(f.ix, f.pc, l.name);
  if (!drained && !inactive) return d;
  // Neither moved by this plan nor kept drained by a selector that routed nowhere: drained from outside.
  const outside = !drained && !d.moves && routedLive(f.ix, l);
  const why = reasonOf('QUEUE_REACTIVATED', {
    state: l.state ?? null,
    drained_by: drained ? [address('Cluster', l.name)] : null,
    ...(outside ? { outside } : {}),
  });
  const change = inactive ? withState(d.change, l.state!, 'active') : d.change;
  return { ...d, activates: true, change: withNote(change, why) };
}

/**
 * A co-named queue's drain state follows its cluster's: Union drains and activates it with its
 * cluster (remote/_cluster.py:361-363, 397-398, U25, U27) and refuses to activate it alone while
 * the cluster is drained (remote/_queue.py:965-966, U14). Null when its cluster stays enabled.
 */
function followsCluster(f: QueueFrame, l: LiveQueue, d: QueueDecision): QueueDecision | null {
  const owner = l.cluster_managed ? f.pc.clusters.get(l.name) : undefined;
  const cluster = f.ix.lClusters.get(l.name);
  if (!owner?.final || (owner.deletes && !owner.registers) || !(cluster || owner.registers))
    return null;
  const enabled = owner.final.enabled;
  // Registered by this plan: enabled until the update_cluster that disables it (and drains it).
  const wasEnabled = owner.registers ? true : cluster!.enabled;
  if (enabled && wasEnabled) return null;
  const state = l.state ?? 'active';
  // Disabled by this plan (or drained for its move): drained with it. Enabled: activated with it.
  const drains = !enabled && state === 'active';
  const drainedBy = wasEnabled || drainedWithCluster(f.ix, f.pc, l.name);
  const to = enabled ? 'active' : drains && drainedBy ? 'draining' : null;
  if (to === null || to === state) return d;
  const by = address('Cluster', l.name);
  const why = reasonOf('CONAMED_STATE_FOLLOWS_CLUSTER', { by, state: to });
  const change = withState(d.change, state, to);
  if (d.change.caused_by) return { ...d, change: withNote(change, why) };
  // With a call of its own too: what the cluster's step alone leaves (for --target, target.ts).
  const alone = d.call ? { caused_after: change.before } : {};
  return { ...d, change: changeWith(change, { caused_by: by, cause: why, ...alone }) };
}

function withState(change: Change, from: string, to: string): Change {
  return changeWith(change, {
    diff: [...change.diff, stateDiff(from, to)],
    ...(change.action === 'noop' ? { action: 'update' as const } : {}),
  });
}

/** A queue's drain state is not in its form: shown as a field of the diff. */
function stateDiff(from: string, to: string): FieldDiff {
  return { path: 'state', before: from, after: to, forces_replacement: false };
}

function planMissingQueue(own: QueueOwn, target: QueueSpec | null): QueueDecision | null {
  const { f, name } = own;
  const deleted = f.ix.caps.soft_delete ? own.deleted : undefined;
  if (name === DEFAULT_QUEUE && deleted) {
    // Soft-deleted (default_delete): its name stays reserved, so C3 does not bring it back.
    return target ? planUndelete(own, inheritCaps(target, deleted), deleted) : null;
  }
  if (name === DEFAULT_QUEUE) {
    // Missing: blocked until a registration recreates it (C3), with the defaults.
    const by = f.firstRegistration;
    if (!by) return target && blockedCreate(own, target, reasonOf('DEFAULT_QUEUE_MISSING', {}));
    const created: QueueSpec = { pool: DEFAULT_POOL, clusters: [WILDCARD], ...QUEUE_DEFAULTS };
    // Listed absent and deletable: back with the registration, so deleted after it (steps.ts).
    if (f.ix.absentDefault && f.ix.caps.queue_delete && !queueDeleteBlockedReason(f, name, true)) {
      const cluster = address('Cluster', by);
      return decision(own, {
        action: 'delete',
        final: null,
        deletes: true,
        diff: diffForms(queueForm(created), null),
        causedBy: cluster,
        cause: registrationCause(name, cluster),
        note: [reasonOf('DEFAULT_QUEUE_RECREATED_DELETED', {})],
      });
    }
    return createdWith(own, by, created, target ?? created);
  }
  if (!target) return null;
  const cluster = f.pc.clusters.get(name);
  if (cluster?.registers && cluster.final) {
    // Registered disabled (drain): the second call drains it with its cluster (U25).
    const drained =
      f.ix.caps.drain && !cluster.final.enabled
        ? reasonOf('CONAMED_STATE_FOLLOWS_CLUSTER', {
            by: address('Cluster', name),
            state: 'draining',
          })
        : undefined;
    return planRegisteredConamed(own, target, cluster.final.pool, drained);
  }
  if (deleted?.cluster_managed && cluster?.undeletes)
    return planConamedUndelete(own, inheritCaps(target, deleted), deleted, cluster);
  if (deleted) return planUndelete(own, inheritCaps(target, deleted), deleted);
  const reason =
    selectorBlockedReason(f, target) ??
    (f.ix.lClusters.has(name)
      ? reasonOf('QUEUE_NAME_TAKEN', { name, cluster: address('Cluster', name) })
      : null);
  if (reason) return blockedCreate(own, target, reason);
  return decision(own, {
    action: 'create',
    call: { op: 'create_queue', spec: target },
    final: target,
  });
}

function blockedCreate(own: QueueOwn, target: QueueSpec, reason: Reason): QueueDecision {
  const diff = diffForms(null, queueForm(target));
  return decision(own, { action: 'blocked', final: null, diff, reason });
}

/**
 * Created by `cluster`'s registration as `created` (C2, C3), then updated to `want` if it differs;
 * `note`: why it is drained with it. Its cause given here, not by withCause after: one change a
 * created co-named queue, not two (~20,000 at 100,000 objects).
 */
function createdWith(
  own: QueueOwn,
  cluster: string,
  created: QueueSpec,
  want: QueueSpec,
  note?: Reason,
) {
  const by = address('Cluster', cluster);
  return decision(own, {
    action: 'create',
    createdBy: cluster,
    call: sameQueueSpec(want, created) ? null : { op: 'update_queue', spec: want },
    final: want,
    causedBy: by,
    createdAs: created,
    note: note && [note],
    cause: registrationCause(own.name, by),
  });
}

/** C2/C3: what a cluster's registration does to a queue it creates. */
function registrationCause(queue: string, by: string): Reason {
  return reasonOf(
    queue === DEFAULT_QUEUE ? 'RECREATED_BY_REGISTRATION' : 'CREATED_BY_REGISTRATION',
    { by },
  );
}

/** C2: the registration of its cluster creates the co-named queue with default settings. */
function planRegisteredConamed(
  own: QueueOwn,
  target: QueueSpec,
  pool: string,
  drained: Reason | undefined,
): QueueDecision {
  const { name } = own;
  const created = placedSpec(pool, [name], QUEUE_DEFAULTS);
  if (target.pool !== created.pool || !sameStrings(target.clusters, created.clusters)) {
    return decision(own, {
      action: 'blocked',
      final: created,
      diff: diffForms(queueForm(created), queueForm(target)),
      reason: reasonOf('CONAMED_QUEUE_FOLLOWS_CLUSTER', { pool: created.pool, name }),
      causedBy: address('Cluster', name),
    });
  }
  return createdWith(own, name, created, target, drained);
}

interface QueueFrame {
  readonly ix: PlanIndex;
  readonly pc: PoolsAndClusters;
  /** The first cluster this plan registers (C3 recreates `default` with it), or null. */
  readonly firstRegistration: string | null;
  /** By pool: some cluster is in it once the plan is applied (routesSomewhere). */
  readonly wildcardRoutes: Map<string, boolean>;
}

interface QueueOwn {
  readonly f: QueueFrame;
  readonly name: string;
  readonly desired: DesiredQueue | undefined;
  readonly live: LiveQueue | undefined;
  /** The soft-deleted queue of this name (capability `soft_delete`). */
  readonly deleted: LiveQueue | undefined;
}

/** A queue decision with its change; the live queue is `own`'s; nothing is sent unless `call`. */
function decision(
  own: QueueOwn,
  fields: Omit<QueueDecision, 'declared' | 'change' | 'live' | 'call' | 'createdBy'> & {
    action: QueueDecision['change']['action'];
    call?: QueueDecision['call'];
    createdBy?: string | null;
    diff?: FieldDiff[];
    reason?: Reason | null;
    causedBy?: string | null;
    /** What the cause alone creates (C2/C3 defaults), when a call of its own follows. */
    createdAs?: QueueSpec;
    /** What the step of `causedBy` does to the queue, when the deciding pass knows it. */
    cause?: Reason;
    /** Why the steps are safe (drain, queue delete, move, undelete). */
    note?: Reason[];
    /** queueForm(own.live), when the caller made it already (LiveView.form). */
    liveForm?: QueueSpec & Form;
    /** sameQueueSpec(own.live, final), when the caller compared them already. */
    sameAsLive?: boolean;
  },
): QueueDecision {
  const { final, deletes, activates, moves, undeletes } = fields;
  const live = own.live ?? null;
  const call = fields.call ?? null;
  const before = live ? (fields.liveForm ?? queueForm(live)) : null;
  // Most queues of a big organisation are unchanged: share the form, skip the diff.
  const unchanged =
    fields.sameAsLive ?? (live !== null && final !== null && sameQueueSpec(live, final));
  const after = unchanged ? before : final ? sharedQueueForm(final) : null;
  const diff = fields.diff ?? (unchanged ? [] : before && diffForms(before, after));
  // Set one by one: spreads of `{}` were three objects a queue (~90,000 at 100,000 objects);
  // none for a queue with nothing more to say (most creates).
  let more: ChangeMore | undefined;
  if (fields.reason || fields.causedBy || fields.note !== undefined || fields.cause) {
    more = { why: fields.reason ?? null, caused_by: fields.causedBy ?? null };
    if (fields.createdAs && call && fields.causedBy)
      more.caused_after = queueForm(fields.createdAs);
    // The note before the cause: a drained co-named queue's note was added before withCause's.
    if (fields.note !== undefined) more.note = fields.note;
    if (fields.cause) more.cause = fields.cause;
  }
  const change = makeChange('Queue', own.name, fields.action, before, after, diff, more);
  const createdBy = fields.createdBy ?? null;
  const declared = own.desired !== undefined;
  return { change, call, createdBy, final, live, declared, deletes, activates, moves, undeletes };
}

/** Why the queue cannot select these clusters once the plan is applied (Q1), or null. */
function selectorBlockedReason(f: QueueFrame, spec: QueueSpec): Reason | null {
  if (poolBlocked(f.pc.pools, spec.pool)) return poolBlockedReason(spec.pool);
  if (!f.pc.pools.get(spec.pool)?.finalContract) {
    const pool_address = address('ClusterPool', spec.pool);
    return reasonOf('QUEUE_POOL_MISSING', { pool: spec.pool, pool_address });
  }
  // Indexed, not for-of: run for every queue created or changed, no iterator result a cluster.
  for (let i = 0; i < spec.clusters.length; i++) {
    const c = spec.clusters[i]!;
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

/** Why an undeclared queue cannot be deleted with queue_delete; `absent`: `default` listed absent. */
function queueDeleteBlockedReason(f: QueueFrame, name: string, absent = false): Reason | null {
  if (!f.ix.caps.queue_delete) return null;
  const settings = f.ix.undeletableSettings(name);
  const unreadable = settings ? [] : f.ix.unreadableSettings();
  if (unreadable.length > 0) return reasonOf('QUEUE_DELETE_SETTINGS_UNREADABLE', { unreadable });
  if (settings)
    return reasonOf(absent ? 'DEFAULT_QUEUE_ABSENT_UNDELETABLE' : 'QUEUE_DELETE_UNDELETABLE', {
      settings,
    });
  if (!f.ix.caps.drain)
    return reasonOf(absent ? 'DEFAULT_QUEUE_ABSENT_NO_DRAIN' : 'QUEUE_DELETE_NO_DRAIN', {});
  return null;
}

/**
 * What the repository wants for a queue, or null. An undeclared system queue follows its owner,
 * with the defaults (C2) under prune, else its live settings.
 */
function declaredSpec(own: QueueOwn, l: LiveQueue | null): QueueSpec | null {
  const { f, name } = own;
  if (own.desired) return own.desired.spec;
  // `default` listed absent (poolsync.yaml) is wanted gone: planned as a delete (or blocked).
  if (name === DEFAULT_QUEUE && f.ix.absentDefault) return null;
  // `default` undeclared is left as it is, prune or not: never an update of its settings.
  if (name === DEFAULT_QUEUE && l)
    return { pool: DEFAULT_POOL, clusters: [WILDCARD], ...settingsOf(l) };
  const ownerPool = f.ix.dClusters.get(name)?.pool;
  if (ownerPool === undefined || f.pc.clusters.get(name)?.change.action === 'blocked') return null;
  // QUEUE_DEFAULTS holds just the settings, in their order: read as it is, not picked (a copy
  // for each of the 20,000 co-named queues registered at 100,000 objects).
  const settings = !f.ix.prunes('Queue', name) && l ? settingsOf(l) : QUEUE_DEFAULTS;
  return placedSpec(ownerPool, [name], settings);
}

/**
 * Q3 where queues carry more than poolsync manages (Union: undeclared caps, `unknown_fields`):
 * the backend's update is a read-modify-write, and the plan names the fields written back.
 * NAMES: Union's QueueSpec fields (proto/cloudidl/queue/queue.proto) that are caps when declared.
 */
const NAMES: Record<number, keyof QueueCaps> = {
  8: 'max_resources',
  9: 'scheduling',
  10: 'max_accelerators',
};

function noteUnmanagedFields(own: QueueOwn, d: QueueDecision): QueueDecision {
  if (!d.call || d.call.op === 'create_queue' || !d.live?.unknown_fields) return d;
  const declared = own.desired?.spec;
  const fields = d.live.unknown_fields.filter((n) => {
    const cap = NAMES[n];
    return cap === undefined || declared?.[cap] === undefined;
  });
  if (fields.length === 0) return d;
  const why = reasonOf('QUEUE_FIELDS_WRITTEN_BACK', {
    numbers: fields,
    names: fields.map((n) => NAMES[n] ?? ''),
  });
  return { ...d, change: withNote(d.change, why) };
}

/** The live queue, what it becomes if nothing is sent (C8, cluster_move), and what is wanted. */
interface LiveView {
  readonly own: QueueOwn;
  readonly l: LiveQueue;
  /** queueForm(l): the change's `before`, made once (a converged plan's ~90,000 queues). */
  readonly form: QueueSpec & Form;
  /** Its spec, with the pool and selector of its moved cluster (cluster_move). */
  readonly live: QueueSpec;
  /** `live` once leaving clusters are out of its selector (C8). */
  readonly untouched: QueueSpec;
  readonly changedByC8: boolean;
  /** The cluster whose step changes it, when that is all that changes it. */
  readonly sideEffect: string | null;
  readonly target: QueueSpec | null;
}

function planLiveQueue(v: LiveView): QueueDecision {
  const { target } = v;
  if (!target) return planUndeclaredQueue(v);
  return planPoolChange(v, target) ?? planSameGroupUpdate(v, target);
}

function liveView(own: QueueOwn, l: LiveQueue, target: QueueSpec | null): LiveView {
  const { f, name } = own;
  // cluster_move: the co-named queue of a moved cluster moves with it (pool and selector).
  const movedTo =
    l.cluster_managed && f.pc.movedClusters.has(name) ? f.pc.clusters.get(name)!.final!.pool : null;
  const form = queueForm(l);
  const live: QueueSpec = movedTo ? { ...form, pool: movedTo, clusters: [name] } : form;
  const kept = pruned(f, live.clusters, movedTo ? name : null);
  const untouched: QueueSpec = kept === live.clusters ? live : { ...live, clusters: kept };
  const changedByC8 = movedTo !== null || !sameStrings(untouched.clusters, l.clusters);
  const sideEffect = movedTo
    ? address('Cluster', name)
    : changedByC8
      ? deletedIn(f, l.clusters)
      : null;
  return { own, l, form, live, untouched, changedByC8, sideEffect, target };
}

/** A live queue the repository does not declare (nor implies, as a system queue's owner does). */
function planUndeclaredQueue(v: LiveView): QueueDecision {
  const removal = plannedRemoval(v);
  if (removal) return removal;
  const { own, l, untouched } = v;
  const { f, name } = own;
  const ownerIsLive = l.cluster_managed && f.ix.lClusters.has(name);
  // A system queue follows its owner (an unmanaged or deleted cluster): never reported on its own.
  if (ownerIsLive || name === DEFAULT_QUEUE) return leftAsItIs(v);
  // Listed while Union deletes its cluster: that cluster's, not one someone made beside poolsync.
  if (f.ix.conamedOfDeleting(name)) {
    const why = reasonOf('CONAMED_OF_DELETING_CLUSTER', { cluster: address('Cluster', name) });
    return leftAsItIs(v, 'unmanaged', why);
  }
  const prunes = f.ix.prunes('Queue', name);
  // One outside the prune scope that C8 changes is changed all the same: a side effect of the
  // cluster's delete; a hand-made one left empty is reported unmanaged from the next plan on.
  const retired = untouched.clusters.length === 0 && poolsyncRetires(own);
  if (retired || (v.changedByC8 && !prunes)) return leftAsItIs(v);
  if (!prunes) return leftAsItIs(v, 'unmanaged', f.ix.unmanagedWhy('Queue', name));
  const reason = queueDeleteBlockedReason(f, name) ?? reasonOf('QUEUE_NOT_DELETABLE', {});
  return leftAsItIs(v, 'blocked', reason);
}

/**
 * Q6: an undeclared queue with an empty selector is retired, nothing more the repository could
 * ask for and not reported again, when poolsync manages it (the prune scope: it applied it, or
 * `manage:` claims it) or it is a deleted cluster's co-named queue; any other is someone else's.
 */
function poolsyncRetires(own: QueueOwn): boolean {
  return own.live?.cluster_managed === true || own.f.ix.prunes('Queue', own.name);
}

/** Nothing is sent for the live queue: it ends as C8 (and its cluster's move) make it. */
function leftAsItIs(
  v: LiveView,
  action?: 'unmanaged' | 'blocked',
  reason?: Reason,
  requested?: FieldDiff[],
): QueueDecision {
  // C8 (or its cluster's move) happens all the same: in the diff beside what was asked.
  const happens =
    requested && v.changedByC8 ? diffForms(queueForm(v.l), queueForm(v.untouched)) : [];
  const diff = requested && [
    ...requested,
    ...happens.filter((h) => !requested.some((r) => r.path === h.path)),
  ];
  return decision(v.own, {
    action: action ?? (v.changedByC8 ? 'update' : 'noop'),
    final: v.untouched,
    diff,
    reason,
    causedBy: v.sideEffect,
    liveForm: v.form,
  });
}

/** Q6 lifted: a queue deleted (queue_delete), or the `default` queue listed absent that cannot be. */
function plannedRemoval(v: LiveView): QueueDecision | null {
  const { own } = v;
  const { f, name } = own;
  if (f.ix.deletedQueues.has(name)) {
    return decision(own, {
      action: 'delete',
      final: null,
      deletes: true,
      note: [reasonOf('QUEUE_DELETED_DRAINED', {})],
    });
  }
  if (name === DEFAULT_QUEUE && f.ix.absentDefault) {
    const reason =
      queueDeleteBlockedReason(f, name, true) ?? reasonOf('DEFAULT_QUEUE_ABSENT_NO_DELETE', {});
    return leftAsItIs(v, 'blocked', reason);
  }
  return null;
}

/** Shown with the diff it asked for; the queue stays as it is. */
function refuse(v: LiveView, target: QueueSpec, reason: Reason): QueueDecision {
  const requested = diffForms(queueForm(v.live), queueForm(target), (path) => path === 'pool');
  return leftAsItIs(v, 'blocked', reason, requested);
}

/**
 * A new pool: moved in place (queue_move), replaced (drain, queue_delete) or refused (Q3).
 * queue_move (Q3 lifted; "a drained queue may move to another pool", real-apis.md) keeps the
 * name, settings and what targets it: drain → wait until DRAINED → move → activate, so no work
 * is lost; without `drain` it is blocked. Never `default` (Q5) nor a co-named queue (Q4).
 */
function planPoolChange(v: LiveView, target: QueueSpec): QueueDecision | null {
  const { own, l, live } = v;
  const { f, name } = own;
  if (target.pool === live.pool) return null;
  if (f.ix.caps.queue_move && name !== DEFAULT_QUEUE && !l.cluster_managed) {
    if (!f.ix.caps.drain)
      return refuse(v, target, reasonOf('QUEUE_MOVE_NO_DRAIN', { pool: target.pool }));
    const blocked = selectorBlockedReason(f, target);
    if (blocked) return refuse(v, target, blocked);
    // Active again after the move when it routes somewhere; one that routes nowhere is left
    // drained, as the next plan leaves a drained one (withActivation; docs/plan.md "A queue's
    // serving state": a selector that routes nowhere keeps a queue drained). "Active as it was"
    // instead made the end state depend on a cut: killed between the move and the activation,
    // the queue stayed drained for good (issue 73 items 3, 10: the outside observer).
    const activates = routesSomewhere(f, target);
    const wasActive = (l.state ?? 'active') === 'active';
    const queue = address('Queue', name);
    const moved = decision(own, {
      action: 'update',
      call: { op: 'move_queue', spec: target },
      final: target,
      diff: diffForms(queueForm(live), queueForm(target)),
      moves: true,
      activates,
      note: [
        reasonOf('QUEUE_MOVED_IN_PLACE', { from: live.pool, to: target.pool, queue, activates }),
      ],
    });
    // The plan shows the drain it leaves (a state the queue did not have).
    return !activates && wasActive
      ? { ...moved, change: withState(moved.change, 'active', 'drained') }
      : moved;
  }
  if (l.cluster_managed) {
    const queue = address('Queue', name);
    // Only a cluster the repository moves to another pool asks for the cluster's new name (C7).
    const movedPool = f.ix.dClusters.get(name)?.pool;
    const cluster_moves = movedPool !== undefined && movedPool !== live.pool;
    const why = reasonOf('CONAMED_QUEUE_POOL_FIXED', {
      queue,
      cluster: name,
      pool: live.pool,
      cluster_moves,
    });
    return refuse(v, target, why);
  }
  if (!f.ix.caps.drain || !f.ix.caps.queue_delete) {
    const missing = (['drain', 'queue_delete'] as const).filter((c) => !f.ix.caps[c]);
    const why = reasonOf('QUEUE_POOL_FIXED', {
      pool: target.pool,
      live_pool: live.pool,
      hint: f.ix.caps.drain || f.ix.caps.queue_delete,
      missing,
    });
    return refuse(v, target, why);
  }
  const settings = f.ix.undeletableSettings(name);
  const unreadable = f.ix.unreadableSettings();
  // Soft deletes keep the name reserved (remote/_queue.py:1006-1008): no create of it after.
  const blocked = settings
    ? reasonOf('QUEUE_POOL_CHANGE_UNDELETABLE', { settings })
    : unreadable.length > 0
      ? reasonOf('QUEUE_DELETE_SETTINGS_UNREADABLE', { unreadable })
      : f.ix.caps.soft_delete
        ? reasonOf('QUEUE_POOL_CHANGE_NAME_RESERVED', { pool: target.pool, live_pool: live.pool })
        : selectorBlockedReason(f, target);
  if (blocked) return refuse(v, target, blocked);
  // The queue created in its place is active, whatever state the old one was left in.
  const state = l.state !== undefined && l.state !== 'active' ? [stateDiff(l.state, 'active')] : [];
  return decision(own, {
    action: 'replace',
    call: { op: 'create_queue', spec: target },
    final: target,
    diff: [...diffForms(queueForm(live), queueForm(target), (path) => path === 'pool'), ...state],
    deletes: true,
    note: [reasonOf('QUEUE_REPLACED_DRAINED', { from: live.pool, to: target.pool })],
  });
}

/** The queue stays in its pool: its update, or the selector rule (Q1, Q4, Q5) that refuses it. */
function planSameGroupUpdate(v: LiveView, target: QueueSpec): QueueDecision {
  const { own, l, live, untouched, changedByC8, sideEffect } = v;
  const { f, name } = own;
  const managed = l.cluster_managed || name === DEFAULT_QUEUE;
  if (managed && !sameStrings(target.clusters, untouched.clusters)) {
    if (name === DEFAULT_QUEUE)
      return refuse(v, target, reasonOf('DEFAULT_QUEUE_SELECTOR_FIXED', {}));
    if (f.ix.lClusters.has(name) || f.pc.clusters.get(name)?.registers) {
      const emptied = untouched.clusters.length === 0;
      return refuse(v, target, reasonOf('CONAMED_SELECTOR_FIXED', { name, emptied }));
    }
    const clusters = [...untouched.clusters];
    return refuse(v, target, reasonOf('CREATED_QUEUE_SELECTOR_FIXED', { name, clusters }));
  }
  const blocked = selectorBlockedReason(f, target);
  if (blocked) return refuse(v, target, blocked);
  // Q4/Q5: a managed queue's update resends its live selector; C8 then prunes it.
  const send: QueueSpec = managed
    ? { ...target, pool: live.pool, clusters: [...live.clusters] }
    : target;
  const final: QueueSpec = managed
    ? { ...target, pool: live.pool, clusters: untouched.clusters }
    : target;
  const asLive = sameQueueSpec(send, live);
  const call = asLive ? null : ({ op: 'update_queue', spec: send } as const);
  const action = call || changedByC8 ? 'update' : 'noop';
  return decision(own, {
    action,
    call,
    final,
    causedBy: call ? null : sideEffect,
    liveForm: v.form,
    // Unmanaged and not moved, what is sent is the final spec and `live` the live queue's form:
    // compared once, not again by decision (a converged plan's ~90,000 queues).
    sameAsLive: !managed && live === v.form ? asLive : undefined,
  });
}

/** C8: deleted and moved clusters leave explicit selectors, but their own co-named queue's. */
function pruned(f: QueueFrame, selector: readonly string[], self: string | null = null): string[] {
  // Nearly always nothing leaves: keep the array rather than copy it. Indexed, not some(): no
  // closure a live queue.
  let leaving = false;
  for (let i = 0; i < selector.length && !leaving; i++)
    leaving = selector[i] !== self && leaves(f.pc, selector[i]!);
  if (!leaving) return selector as string[];
  return selector.filter((c) => c === self || !leaves(f.pc, c));
}

function deletedIn(f: QueueFrame, selector: readonly string[]): string | null {
  const c = selector.find((n) => leaves(f.pc, n));
  return c ? address('Cluster', c) : null;
}

/**
 * soft_delete: a deleted queue's name stays reserved until UndeleteQueue (remote/_queue.py), so a
 * declared one is undeleted, updated, activated (docs/union.md, "Soft deletes"). Why not, or null.
 */
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

function planUndelete(own: QueueOwn, target: QueueSpec, deleted: LiveQueue): QueueDecision {
  const { f, name } = own;
  const moves = target.pool !== deleted.pool;
  const owner = deleted.cluster_managed ? f.pc.clusters.get(name)?.final : undefined;
  const reason =
    undeleteBlockedReason(f, name, deleted) ??
    // U19: undeleted only with the clusters it names in its pool; its cluster is elsewhere.
    (owner && owner.pool !== deleted.pool
      ? reasonOf('CONAMED_UNDELETE_CLUSTER_MOVED', {
          name,
          pool: deleted.pool,
          cluster_pool: owner.pool,
        })
      : null) ??
    (moves && !f.ix.caps.queue_move
      ? reasonOf('QUEUE_UNDELETE_NO_MOVE', { name, from: deleted.pool, to: target.pool })
      : null) ??
    selectorBlockedReason(f, target);
  if (reason) return blockedCreate(own, target, reason);
  // A co-named queue of a cluster left drained stays drained with it: Union refuses to activate
  // it alone (remote/_queue.py:965-966, U14), so it is shown drained and never activated (another
  // client deleted it while its cluster was drained: found by the outside observer).
  const follows = f.ix.caps.drain && owner?.enabled === false ? address('Cluster', name) : null;
  const diff = diffForms(queueForm(deleted), queueForm(target));
  return decision(own, {
    call: { op: moves ? 'move_queue' : 'update_queue', spec: target },
    action: 'create',
    final: target,
    diff: follows ? [...diff, stateDiff('deleted', 'drained')] : diff,
    undeletes: true,
    activates: f.ix.caps.drain && !follows,
    note: [reasonOf('QUEUE_UNDELETED', { name, follows })],
  });
}

/**
 * With `queue_delete` a cluster delete takes its co-named queue along (real-apis.md §4, Union's
 * clusters page; the embedded control plane too): a side effect of delete_cluster (`caused_by`),
 * no delete_queue step. Re-registered under its name, it gets a new one (`recreated`, C2): no C7.
 */
function cascadeDecision(own: QueueOwn, l: LiveQueue, recreated: QueueDecision | null) {
  const by = address('Cluster', l.name);
  if (!recreated) {
    return decision(own, {
      action: 'delete',
      final: null,
      causedBy: by,
      cause: reasonOf('DELETED_WITH_CLUSTER', { by }),
    });
  }
  const before = queueForm(l);
  const after = recreated.change.after;
  // The new queue is active, or drained with its cluster when registered disabled (U25).
  const enabled = own.f.pc.clusters.get(l.name)?.final?.enabled !== false;
  const to = enabled ? 'active' : 'draining';
  const drain = own.f.ix.caps.drain && (l.state ?? 'active') !== to;
  const diff = [
    ...diffForms(before, after, (path) => path === 'pool'),
    ...(drain ? [stateDiff(l.state ?? 'active', to)] : []),
  ];
  const change = makeChange('Queue', l.name, 'replace', before, after, diff, {
    caused_by: by,
    ...(recreated.change.caused_after ? { caused_after: recreated.change.caused_after } : {}),
    cause: reasonOf('REPLACED_WITH_CLUSTER', { by, pool: l.pool }),
  });
  return { ...recreated, change };
}

/**
 * Each `caused_by` change's cause, decided once by the planner, never guessed by a renderer
 * (docs/plan.md, One voice); the queue pass gives its own (withCause).
 */
export function withCauses(changes: readonly Change[]): Change[] {
  return changes.map((change) =>
    !change.caused_by || change.cause
      ? change
      : changeWith(change, { cause: causeOf(change, change.caused_by) }),
  );
}

function withCause<D extends { change: Change }>(own: QueueOwn, d: D): D {
  const by = d.change.caused_by;
  if (!by || d.change.cause) return d;
  const cause = by.startsWith('Cluster/') ? queueCause(own, d.change, by) : causeOf(d.change, by);
  return { ...d, change: changeWith(d.change, { cause }) };
}

/** The cause of a change another object's step makes, but a cluster's step to a queue. */
function causeOf(change: Change, by: string): Reason {
  if (
    (change.kind === 'PoolAssignment' || change.kind === 'ExecutionClusterLabel') &&
    by.startsWith(`${change.kind}/`)
  )
    return reasonOf('DELETED_WITH_BROADER_ROW', { by, set_again: change.action === 'replace' });
  if (change.kind === 'PoolAssignment') return reasonOf('SET_AGAIN_AROUND_REPLACE', { by });
  return reasonOf('CAUSED_BY', { by });
}

/** What a cluster's step does to a queue: C2/C3, cluster_move, C7 or C8. */
function queueCause(own: QueueOwn, change: Change, by: string): Reason {
  const cluster = by.slice('Cluster/'.length);
  const { f, live } = own;
  if (change.before === null) return registrationCause(change.name, by);
  const decided = f.pc.clusters.get(cluster);
  if (f.pc.movedClusters.has(cluster) && decided?.final) {
    return reasonOf(change.name === cluster ? 'MOVES_WITH_CLUSTER' : 'LEAVES_MOVED_CLUSTER', {
      by,
      pool: decided.final.pool,
    });
  }
  if (change.name === cluster && decided?.registers && decided.final && live?.cluster_managed) {
    // C7: registered again under its name, the cluster leaves its old co-named queue behind.
    return reasonOf('CONAMED_LEFT_BEHIND', { by, pool: live.pool, to: decided.final.pool });
  }
  // An undeclared queue C8 retires: the plan says so, as later plans say nothing of it.
  const retired =
    !own.desired &&
    change.action === 'update' &&
    emptySelector(change.after) &&
    poolsyncRetires(own);
  return reasonOf(retired ? 'CLUSTER_DELETED_RETIRED' : 'CLUSTER_DELETED', { by });
}

function emptySelector(form: Change['after']): boolean {
  return Array.isArray(form?.clusters) && form.clusters.length === 0;
}

/**
 * Before a cluster leaves, the queues to watch idle (plan.md rule 4 / C9): those whose work can
 * only run on leaving clusters, and a moved cluster's co-named queue. Metrics are per queue, not
 * per cluster (Q7), so a retired queue of its pool (`clusters: []`, by this plan or an earlier
 * one) is watched too: its runs in flight may be on this cluster, and it takes no new work, so
 * the wait ends. A co-named queue only ever routed to its own cluster (Q4). A queue an earlier
 * apply's wait for the same delete watched is watched again (docs/apply.md, Waits).
 */
export function waitSets(ctx: LiveIndex, gone: Leaving): Map<string, Map<string, WaitWhy>> {
  const out = new Map<string, Map<string, WaitWhy>>();
  const poolEmptied = new Map<string, boolean>();
  const retired = new Map<string, string[]>();
  for (const c of [...gone.deletedClusters, ...gone.movedClusters]) {
    // The first reason found is the one said.
    const queues = new Map<string, WaitWhy>();
    const watch = (q: string, why: WaitWhy) => {
      if (!queues.has(q)) queues.set(q, why);
    };
    if (gone.movedClusters.has(c) && ctx.lQueues.get(c)?.cluster_managed) watch(c, 'co_named');
    for (const q of ctx.lQueuesByCluster.get(c) ?? []) {
      const live = ctx.lQueues.get(q)!;
      if (live.clusters.every((n) => leaves(gone, n))) watch(q, 'only_leaving');
    }
    // Watched by an earlier apply's wait for this delete, cut short: repointed since, its runs
    // may still be on this cluster (the inventory's cluster_waits).
    if (gone.deletedClusters.has(c))
      for (const q of ctx.live.cluster_waits?.[c] ?? [])
        if (ctx.lQueues.has(q)) watch(q, 'recorded');
    const pool = ctx.lClusters.get(c)?.pool;
    if (pool !== undefined) {
      let emptied = poolEmptied.get(pool);
      if (emptied === undefined) {
        emptied = (ctx.lClustersByPool.get(pool) ?? []).every((n) => leaves(gone, n));
        poolEmptied.set(pool, emptied);
      }
      if (emptied) for (const q of ctx.lWildcardQueuesByPool.get(pool) ?? []) watch(q, 'wildcard');
      let retiredHere = retired.get(pool);
      if (retiredHere === undefined) {
        retiredHere = (ctx.lQueuesByPool.get(pool) ?? []).filter((q) => {
          const live = ctx.lQueues.get(q)!;
          return live.clusters.length === 0 && !live.cluster_managed;
        });
        retired.set(pool, retiredHere);
      }
      for (const q of retiredHere) watch(q, 'retired');
    }
    out.set(c, queues);
  }
  return out;
}

/**
 * The one queue drained for a cluster's sake: a moved cluster's co-named queue (Union moves it
 * only drained, remote/_cluster.py:328-331, U23). A delete needs no drain (:433, :450-451), and
 * a drained queue rejects runs (remote/_queue.py:934-937).
 */
export function drainedWithCluster(ctx: LiveIndex, gone: Leaving, cluster: string): boolean {
  return (
    ctx.caps.drain &&
    gone.movedClusters.has(cluster) &&
    ctx.lQueues.get(cluster)?.cluster_managed === true
  );
}

/** Whether a live queue's selector picks some cluster as the control plane is now. */
function routedLive(ix: PlanIndex, l: LiveQueue): boolean {
  return isWildcard(l.clusters)
    ? (ix.lClustersByPool.get(l.pool)?.length ?? 0) > 0
    : l.clusters.length > 0;
}

function routesSomewhere(f: QueueFrame, spec: QueueSpec): boolean {
  if (!isWildcard(spec.clusters)) return spec.clusters.length > 0;
  // Asked once a pool, not once a `*` queue: each asking walked the clusters up to a member.
  let routes = f.wildcardRoutes.get(spec.pool);
  if (routes === undefined) {
    routes = false;
    for (const d of f.pc.clusters.values()) {
      routes = d.final?.pool === spec.pool;
      if (routes) break;
    }
    f.wildcardRoutes.set(spec.pool, routes);
  }
  return routes;
}

/** A co-named queue back with its cluster's undelete (DRAINED, old settings), then updated (Q4). */
function planConamedUndelete(
  own: QueueOwn,
  target: QueueSpec,
  deleted: LiveQueue,
  cluster: Pick<ClusterDecision, 'final'>,
): QueueDecision {
  const { name } = own;
  const back: QueueSpec = { ...deleted, pool: cluster.final!.pool, clusters: [name] };
  const call = sameQueueSpec(back, target) ? null : ({ op: 'update_queue', spec: target } as const);
  return decision(own, {
    call,
    action: 'create',
    final: target,
    diff: diffForms(queueForm(back), queueForm(target)),
    // The cluster's undelete (the registration's step key) brings it back: what names it waits.
    createdBy: name,
    causedBy: address('Cluster', name),
    // What the undelete alone leaves (a --target plan of the cluster keeps this, not the call).
    createdAs: back,
    cause: reasonOf('CONAMED_QUEUE_UNDELETED', {
      cluster: address('Cluster', name),
      updated: !!call,
      enabled: cluster.final!.enabled,
    }),
  });
}

/**
 * U37: Union applies a queue's fairness only to a queue with no scheduling policy
 * (remote/_queue.py:63-69), and every queue it creates for a client has one (U8): a plan that
 * gives another fairness to such a queue changes nothing Union does with it. Said where the plan
 * sets fairness: an update of it, or a queue created (or replaced) with another than Union's.
 */
export function fairnessWarnings(changes: readonly Change[]): PlanWarning[] {
  const out: PlanWarning[] = [];
  for (const c of changes) {
    if (c.kind !== 'Queue' || c.after === null) continue;
    const created = c.action === 'create' || c.action === 'replace';
    if (!created && c.action !== 'update') continue;
    const fairness = String(c.after['fairness']);
    const sets = created
      ? fairness !== QUEUE_DEFAULTS.fairness
      : c.diff.some((d) => d.path === 'fairness');
    // Undeclared, a queue keeps the policy it has; the server creates its own queues with none.
    const kept = c.after['scheduling'];
    const scheduling =
      typeof kept === 'string' ? kept : created && !c.caused_by ? CREATED_SCHEDULING : null;
    if (sets && scheduling !== null)
      out.push(
        warning('QUEUE_FAIRNESS_IGNORED', c.address, { queue: c.address, fairness, scheduling }),
      );
  }
  return out;
}
