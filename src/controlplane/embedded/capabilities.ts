/**
 * The capability rules of the embedded control plane (domain.md, Capabilities; real-apis.md,
 * Union's newer behaviour), as ops on its state: each call is refused with the baseline rule
 * (C9, Q6, C7, P4) while its capability is off.
 *
 * - `drain`: a queue goes ACTIVE → DRAINING on `drain_queue`, and is DRAINED once it has no
 *   run and no action in flight (the Q7 activity model); `activate_queue` makes it ACTIVE
 *   again. The `default` queue is never drained (Q5: always active) unless `default_delete`.
 * - `queue_delete`: deletes a DRAINED queue (without `drain`: one with nothing in flight).
 *   Never `default`, never the co-named queue of a registered cluster (Q4: it follows it).
 * - `cluster_move`: moves a cluster to another pool in place, once the queues that route only
 *   to it are drained; its co-named queue moves with it, other selectors drop it (as C8).
 * - `pool_update`: replaces a pool's contract, refused when a member cluster's reported data
 *   plane would not match it (C4); the members' health is re-evaluated (C5).
 * - `queue_move`: an update_queue may change the pool of a drained queue (idle without
 *   `drain`); never `default` or a co-named queue (Q4, Q5).
 * - with `queue_delete`, a cluster delete also deletes its co-named queue (Union today).
 * - `unpin_first`: a cluster another live queue pins explicitly is not drained, moved or
 *   deleted (Union today: remote/_cluster.py:330-331, 363-365, 450-451); without it a move or
 *   delete drops it from those selectors (C8).
 */
import {
  DEFAULT_QUEUE,
  WILDCARD,
  address,
  dataPlaneMismatches,
  type Capabilities,
  type PoolContract,
} from '../../model/common.js';
import {
  formatCapabilities,
  reportedDataPlane,
  sameCapabilities,
} from '../../model/capabilities.js';
import { UserError } from '../../util/user-error.js';
import type { LiveQueue, QueueState } from '../../model/live.js';
import { ControlPlaneError, capabilityOff } from '../errors.js';
import {
  putCluster,
  putQueue,
  removeQueue,
  type ActivityRecord,
  type QueueRecord,
  type State,
} from './state-records.js';
import { refusePinned } from './cluster-follows.js';
import { defaultQueueInUse } from './default-queues.js';
import { keepDeleted, undeleteQueue } from './soft-deletes.js';

export type CapabilityOp =
  | { op: 'set_capabilities'; capabilities: Capabilities }
  | { op: 'drain_queue'; name: string }
  | { op: 'activate_queue'; name: string }
  | { op: 'delete_queue'; name: string; at: number }
  | { op: 'undelete_queue'; name: string }
  | { op: 'move_cluster'; name: string; pool: string; at: number }
  | { op: 'update_pool'; name: string; contract: PoolContract };

const precondition = (message: string, addr: string, rule: string | null) =>
  new ControlPlaneError('FAILED_PRECONDITION', message, addr, rule);

/** Q7 in-flight work at `now` (the same linear model as queueMetrics). */
export function inFlight(activity: ActivityRecord | undefined, now: number): number {
  if (!activity) return 0;
  let remaining = 1;
  if (activity.finish_over_ms !== null) {
    remaining =
      activity.finish_over_ms === 0
        ? 0
        : Math.max(0, 1 - (now - activity.at) / activity.finish_over_ms);
  }
  return (
    Math.ceil(activity.runs_in_flight * remaining) +
    Math.ceil(activity.actions_in_flight * remaining)
  );
}

/** A queue's drain state at `now`: DRAINING until its in-flight work is done, then DRAINED. */
export function queueStateAt(state: State, name: string, now: number): QueueState {
  if (!state.draining.has(name)) return 'active';
  return inFlight(state.activity.get(name), now) === 0 ? 'drained' : 'draining';
}

/** The queue view with its drain state, on control planes with `drain` (absent otherwise). */
export function withQueueState(state: State, queue: LiveQueue, now: number): LiveQueue {
  if (!state.capabilities.drain) return queue;
  return { ...queue, state: queueStateAt(state, queue.name, now) };
}

/** Drained (with `drain`) or idle (without): nothing can still be running on the queue. */
function settled(state: State, name: string, at: number): string | null {
  if (state.capabilities.drain) {
    const s = queueStateAt(state, name, at);
    return s === 'drained'
      ? null
      : s === 'active'
        ? 'is active: drain it first and wait until it is drained'
        : 'is still draining (work in flight): wait until it is drained';
  }
  const n = inFlight(state.activity.get(name), at);
  return n === 0 ? null : `still has ${n} runs and actions in flight (Q7): wait until it is idle`;
}

function requireQueue(state: State, name: string) {
  const q = state.queues.get(name);
  if (!q)
    throw new ControlPlaneError(
      'NOT_FOUND',
      `queue "${name}" does not exist`,
      address('Queue', name),
      null,
    );
  return q;
}

export function applyCapabilityOp(state: State, op: CapabilityOp): void {
  switch (op.op) {
    case 'set_capabilities':
      return setCapabilities(state, op);
    case 'drain_queue':
      return drainQueue(state, op.name);
    case 'activate_queue':
      return activateQueue(state, op.name);
    case 'delete_queue':
      return deleteQueue(state, op.name, op.at);
    case 'undelete_queue':
      return undeleteQueue(state, op.name);
    case 'move_cluster':
      return moveCluster(state, op);
    case 'update_pool':
      return updatePool(state, op);
  }
}

function setCapabilities(
  state: State,
  op: Extract<CapabilityOp, { op: 'set_capabilities' }>,
): void {
  if (state.capabilities.drain && !op.capabilities.drain) {
    const inactive = [...state.draining].sort();
    if (inactive.length > 0) {
      throw precondition(
        `cannot turn drain off while queues ${inactive.map((n) => `"${n}"`).join(', ')} are draining or drained: activate or delete them first`,
        'capabilities',
        'C9',
      );
    }
  }
  state.capabilities = { ...op.capabilities };
}

function drainQueue(state: State, name: string): void {
  const addr = address('Queue', name);
  if (!state.capabilities.drain) throw capabilityOff('drain', addr);
  requireQueue(state, name);
  // Q5, unless default_delete (Union today) lets `default` drain like any other queue.
  if (name === DEFAULT_QUEUE && !state.capabilities.default_delete) {
    throw precondition(
      'the "default" queue is always active and cannot be drained (Q5)',
      addr,
      'Q5',
    );
  }
  // A queue a run.default_queue setting names can be drained (remote/_queue.py:934-938): only
  // its delete is refused.
  state.draining.add(name);
}

function activateQueue(state: State, name: string): void {
  const addr = address('Queue', name);
  if (!state.capabilities.drain) throw capabilityOff('drain', addr);
  // A co-named queue follows its cluster: not active while it is drained (remote/_queue.py:965-966).
  if (requireQueue(state, name).cluster_managed && state.clusters.get(name)?.enabled === false)
    throw precondition(
      `queue "${name}" follows its cluster, which is drained: activate the cluster`,
      addr,
      'Q4',
    );
  state.draining.delete(name);
}

function deleteQueue(
  state: State,
  name: string,
  at: Extract<CapabilityOp, { op: 'delete_queue' }>['at'],
): void {
  const addr = address('Queue', name);
  if (!state.capabilities.queue_delete) throw capabilityOff('queue_delete', addr);
  const queue = requireQueue(state, name);
  if (name === DEFAULT_QUEUE && !state.capabilities.default_delete) {
    throw precondition('the "default" queue can never be deleted (P1, C3)', addr, 'P1');
  }
  if (queue.cluster_managed && state.clusters.has(name)) {
    throw precondition(
      `queue "${name}" is the co-named queue of cluster "${name}" and follows it (Q4): delete or move the cluster instead`,
      addr,
      'Q4',
    );
  }
  const named = defaultQueueInUse(state, name, 'deleted');
  if (named) throw named;
  const why = settled(state, name, at);
  if (why) throw precondition(`queue "${name}" ${why}, then delete it`, addr, 'Q6');
  keepDeleted(state, queue);
  dropQueue(state, name);
}

type MoveOp = Extract<CapabilityOp, { op: 'move_cluster' }>;

function moveCluster(state: State, op: MoveOp): void {
  const addr = address('Cluster', op.name);
  if (!state.capabilities.cluster_move) throw capabilityOff('cluster_move', addr);
  const cluster = state.clusters.get(op.name);
  if (!cluster)
    throw new ControlPlaneError('NOT_FOUND', `cluster "${op.name}" does not exist`, addr, null);
  const pool = state.pools.get(op.pool);
  if (!pool)
    throw new ControlPlaneError(
      'NOT_FOUND',
      `${addr}: pool "${op.pool}" does not exist (C1)`,
      addr,
      'C1',
    );
  if (cluster.pool === op.pool) return;
  refusePinned(state, op.name, 'moved');
  checkMoveSettled(state, op, addr);
  const reported = reportedDataPlane(state.pools.get(cluster.pool)!.contract, cluster);
  const mismatches = reported ? dataPlaneMismatches(pool.contract, reported) : [];
  if (mismatches.length > 0) {
    throw precondition(
      `cluster "${op.name}" cannot move to pool "${op.pool}": its reported data plane does not match that pool's contract (C4): ${mismatches
        .map(
          (m) =>
            `${m.field} is ${JSON.stringify(m.declared)}, the contract says ${JSON.stringify(m.contract)}`,
        )
        .join('; ')}`,
      addr,
      'C4',
    );
  }
  // Through the index writers (state.ts): pool membership and selectors are indexed. A
  // reporting cluster matches the new contract (checked above): healthy there (C5).
  putCluster(state, {
    ...cluster,
    pool: op.pool,
    ...(reported ? { health: 'healthy' as const, unhealthy_reasons: [], config_drift: [] } : {}),
  });
  for (const q of queuesAfterMove(state, op)) putQueue(state, q);
}

/** The queues that route only to the moving cluster must have nothing left running there. */
function checkMoveSettled(state: State, op: MoveOp, addr: string): void {
  const only = [...state.queues.values()].filter(
    (q) => q.spec.clusters.length === 1 && q.spec.clusters[0] === op.name,
  );
  for (const q of only) {
    const why = settled(state, q.name, op.at);
    if (why) {
      throw precondition(
        `cluster "${op.name}" cannot move to pool "${op.pool}": queue "${q.name}" routes only to it and ${why}`,
        addr,
        'C7',
      );
    }
  }
}

/** The queues a cluster's move changes: its co-named queue follows, others stop naming it. */
function queuesAfterMove(state: State, op: MoveOp): QueueRecord[] {
  const changed: QueueRecord[] = [];
  for (const q of state.queues.values()) {
    if (q.cluster_managed && q.name === op.name) {
      // C2: the co-named queue follows its cluster (no delete, so no orphan, C7).
      changed.push({ ...q, spec: { ...q.spec, pool: op.pool, clusters: [op.name] } });
    } else if (q.spec.clusters.includes(op.name) && q.spec.clusters[0] !== WILDCARD) {
      // As C8: the cluster is no longer a member of the queue's pool (Q1).
      changed.push({
        ...q,
        spec: { ...q.spec, clusters: q.spec.clusters.filter((c) => c !== op.name) },
      });
    }
  }
  return changed;
}

function updatePool(state: State, op: Extract<CapabilityOp, { op: 'update_pool' }>): void {
  const addr = address('ClusterPool', op.name);
  if (!state.capabilities.pool_update) throw capabilityOff('pool_update', addr);
  const pool = state.pools.get(op.name);
  if (!pool)
    throw new ControlPlaneError('NOT_FOUND', `pool "${op.name}" does not exist`, addr, null);
  const members = [...state.clusters.values()].filter((c) => c.pool === op.name);
  const bad: string[] = [];
  const next = members.map((c) => {
    const reported = reportedDataPlane(pool.contract, c);
    const mismatches = reported ? dataPlaneMismatches(op.contract, reported) : [];
    if (mismatches.length > 0)
      bad.push(
        `"${c.name}" (${mismatches.map((m) => `${m.field} ${JSON.stringify(m.declared)}`).join(', ')})`,
      );
    return { cluster: c, reported };
  });
  if (bad.length > 0) {
    throw precondition(
      `pool "${op.name}" cannot take this contract: member clusters report a data plane that would not match it (C4): ${bad.sort().join('; ')}`,
      addr,
      'C4',
    );
  }
  pool.contract = structuredClone(op.contract);
  // C5 against the new contract: every reporting member matches it now.
  for (const { cluster, reported } of next) {
    if (!reported) continue;
    cluster.health = 'healthy';
    cluster.unhealthy_reasons = [];
    cluster.config_drift = [];
  }
}

/**
 * Why a queue's pool cannot change to `pool` now, or null: never (Q3; Q4 for a co-named
 * queue, Q5 for `default`), except with `queue_move` for another queue once nothing can still
 * run on it, like a cluster move: drained with `drain`, idle without.
 */
export function poolChangeRefusal(
  state: State,
  queue: QueueRecord,
  pool: string,
  at: number,
): ControlPlaneError | null {
  const addr = address('Queue', queue.name);
  const rule = queue.name === DEFAULT_QUEUE ? 'Q5' : queue.cluster_managed ? 'Q4' : 'Q3';
  if (rule !== 'Q3' || !state.capabilities.queue_move) {
    return precondition(
      `queue "${queue.name}" is in pool "${queue.spec.pool}"; a queue's pool can never change (${rule}): create a new queue in "${pool}"`,
      addr,
      rule,
    );
  }
  const why = settled(state, queue.name, at);
  return why
    ? precondition(
        `queue "${queue.name}" cannot move to pool "${pool}" (queue_move): it ${why}, then move it`,
        addr,
        'Q3',
      )
    : null;
}

/** Removes a queue and what the capabilities keep of it (drain state, activity). */
export function dropQueue(state: State, name: string): void {
  removeQueue(state, name); // keeps the state's index current (state.ts header)
  state.draining.delete(name);
  state.activity.delete(name);
}

/** For messages: how a stored capability set is changed. */
export function capabilitiesChangeHint(path: string, wanted: Capabilities): string {
  return `poolsync control-plane capabilities --state ${path} --set ${formatCapabilities(wanted)}`;
}

/** A state created with other capabilities than `asked` is refused, with the command that changes them. */
export function checkCapabilities(
  path: string,
  asked: Capabilities | undefined,
  state: State,
): void {
  if (asked && !sameCapabilities(asked, state.capabilities))
    throw new UserError(
      `control-plane state ${path} was created with capabilities ${formatCapabilities(state.capabilities)}, ` +
        `not ${formatCapabilities(asked)}: capabilities are stored with the state. Leave them out ` +
        `to use the stored ones, or change them with \`${capabilitiesChangeHint(path, asked)}\``,
    );
}
