/**
 * The cause of each change another object's step makes (`caused_by`), decided once by the
 * planner from what it planned for that object (moved in place, deleted, registered again),
 * never guessed by a renderer from the change's fields: the plan cannot say "moves with the
 * cluster" in one place and "stays in its pool" in another (docs/plan.md, One voice).
 */
import { DEFAULT_QUEUE } from '../model/common.js';
import type { Change, Reason } from '../model/plan.js';
import type { LiveQueue } from '../model/live.js';
import type { ClusterDecision, PlanContext } from './context.js';
import type { QueueFrame, QueueOwn } from './queue-frame.js';
import { changeWith } from './change.js';
import { reasonOf } from './reasons.js';

/**
 * The changes, each with a `caused_by` whose deciding pass did not give it a `cause` made again
 * with one (changeWith: no change is written after it is made); the others as they are. The
 * queue pass gives its own (withCause), so the passes after it read queue changes whole.
 */
export function withCauses(ctx: PlanContext, changes: readonly Change[]): Change[] {
  const facts: CauseFacts = {
    cluster: (name) => ctx.clusters.get(name),
    movedClusters: ctx.movedClusters,
    liveQueue: (name) => ctx.lQueues.get(name),
  };
  return changes.map((change) =>
    !change.caused_by || change.cause
      ? change
      : changeWith(change, { cause: causeOf(facts, change, change.caused_by) }),
  );
}

/** What a cause is decided from: the clusters' decisions and the queue's live record. */
interface CauseFacts {
  cluster(name: string): Pick<ClusterDecision, 'registers' | 'final'> | undefined;
  movedClusters: ReadonlySet<string>;
  liveQueue(name: string): LiveQueue | undefined;
}

/**
 * A queue decision whose change has a `caused_by` and no `cause` made again with its change's
 * cause (in the queue pass, before it is kept); else the decision as it is.
 */
export function withCause<D extends { change: Change }>(f: QueueFrame, own: QueueOwn, d: D): D {
  const by = d.change.caused_by;
  if (!by || d.change.cause) return d;
  const facts: CauseFacts = {
    cluster: (name) => f.pc.clusters.get(name),
    movedClusters: f.pc.movedClusters,
    liveQueue: (name) => (name === own.name ? own.live : undefined),
  };
  return { ...d, change: changeWith(d.change, { cause: causeOf(facts, d.change, by) }) };
}

function causeOf(facts: CauseFacts, change: Change, by: string): Reason {
  if (change.kind === 'Queue' && by.startsWith('Cluster/')) return queueCause(facts, change, by);
  if (
    (change.kind === 'PoolAssignment' || change.kind === 'ExecutionClusterLabel') &&
    by.startsWith(`${change.kind}/`)
  )
    return reasonOf('DELETED_WITH_BROADER_ROW', { by, set_again: change.action === 'replace' });
  if (change.kind === 'PoolAssignment') return reasonOf('SET_AGAIN_AROUND_REPLACE', { by });
  return reasonOf('CAUSED_BY', { by });
}

/** What a cluster's step does to a queue: C2/C3, cluster_move, C7 or C8. */
function queueCause(facts: CauseFacts, change: Change, by: string): Reason {
  const cluster = by.slice('Cluster/'.length);
  // No live queue: the registration creates it (C2), or recreates `default` (C3).
  if (change.before === null) {
    return reasonOf(
      change.name === DEFAULT_QUEUE ? 'RECREATED_BY_REGISTRATION' : 'CREATED_BY_REGISTRATION',
      { by },
    );
  }
  const decided = facts.cluster(cluster);
  if (facts.movedClusters.has(cluster) && decided?.final) {
    return reasonOf(change.name === cluster ? 'MOVES_WITH_CLUSTER' : 'LEAVES_MOVED_CLUSTER', {
      by,
      pool: decided.final.pool,
    });
  }
  const live = facts.liveQueue(change.name);
  if (change.name === cluster && decided?.registers && decided.final && live?.cluster_managed) {
    // C7: registered again under its name, the cluster leaves its old co-named queue behind.
    return reasonOf('CONAMED_LEFT_BEHIND', { by, pool: live.pool, to: decided.final.pool });
  }
  return reasonOf('CLUSTER_DELETED', { by });
}
