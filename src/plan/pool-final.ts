/**
 * The pool decisions once the queue pass has decided. The pool pass counts a queue moving to
 * another pool (drain with queue_delete or queue_move) as gone from its pool (P5); when the
 * queue pass then refuses that move (its new selector is blocked), the pool stays, blocked
 * with the names. A step of its own: the pool pass's decisions and the queue pass's in, the
 * final pool decisions out (neither is changed).
 */
import { address } from '../model/common.js';
import { makeChange } from './change.js';
import type { PoolDecision, QueueDecision } from './context.js';
import { reasonOf } from './reasons.js';
import type { PlanIndex } from './plan-index.js';

export function finalPools(
  ix: PlanIndex,
  pools: ReadonlyMap<string, PoolDecision>,
  queues: ReadonlyMap<string, QueueDecision>,
): ReadonlyMap<string, PoolDecision> {
  let out: Map<string, PoolDecision> | null = null;
  for (const [name, d] of pools) {
    if (!d.deletes) continue;
    const stay = (ix.lQueuesByPool.get(name) ?? []).filter(
      (q) => ix.leavingQueues.has(q) && !queues.get(q)?.deletes && !queues.get(q)?.moves,
    );
    if (stay.length === 0) continue;
    out ??= new Map(pools);
    out.set(name, keptByRefusedMoves(ix, name, d, stay));
  }
  return out ?? pools;
}

/** The pool stays, blocked: queues whose move was refused keep referencing it. */
function keptByRefusedMoves(
  ix: PlanIndex,
  name: string,
  d: PoolDecision,
  stay: readonly string[],
): PoolDecision {
  const live = ix.lPools.get(name)!;
  const before = d.change.before;
  return {
    change: makeChange(
      'ClusterPool',
      name,
      'blocked',
      before,
      before,
      d.change.diff,
      reasonOf('POOL_KEPT_BY_REFUSED_MOVES', { queues: stay.map((q) => address('Queue', q)) }),
    ),
    creates: false,
    deletes: false,
    finalContract: live.contract,
  };
}
