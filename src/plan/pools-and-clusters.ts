/**
 * Pools and clusters depend on each other: a pool whose only references are clusters this plan
 * takes away can be deleted or replaced after them (P5, rule 5), and a cluster's registration or
 * move can be blocked by the contract its destination pool ends with (C4). The pool pass takes
 * the set of live clusters it may assume gone; the cluster pass decides which really go. This
 * module finds the assumption both passes agree on, as an explicit fixed point.
 */
import { address } from '../model/common.js';
import type { PlanError, PlanWarning } from '../model/plan.js';
import { planClusters } from './clusters.js';
import type { PoolsAndClusters } from './context.js';
import type { PlanIndex } from './plan-index.js';
import { planPools } from './pools.js';

/** The agreed pool and cluster decisions, with what both passes found. */
export interface PoolClusterPass extends PoolsAndClusters {
  readonly warnings: readonly PlanWarning[];
  readonly errors: readonly PlanError[];
  /** How many rounds it took (1: the first assumption was right). */
  readonly rounds: number;
}

/**
 * Starts from the clusters that can leave their pool (canLeave) and plans again with the clusters that do leave until the two sets
 * are equal. Why it ends:
 * - every set is a subset of the live clusters (only a live cluster is deleted or moved);
 * - a cluster's decision depends on the pools only through its destination's final contract,
 *   and a declared data plane matches the declared contract (V6), so a pool freed of references
 *   only unblocks the clusters that move into it: from the first assumption (every cluster that
 *   can leave) the sets only shrink, each further round takes at least one cluster out, and the
 *   loop ends within |live clusters| + 1 rounds (in practice one or two);
 * - a data plane the cluster reports (cluster_move) is compared with the contract its
 *   destination ends with, which can break that order; the loop then also ends when a set
 *   repeats an earlier assumption (both passes are functions of the assumption, so no further
 *   round leaves that cycle), and after |live clusters| + 1 rounds in any case, with the last
 *   round's decisions.
 */
/**
 * `stuck`: declared queues whose repointing the queue pass blocked, so their live pins stay
 * (unpin_first: clusters.ts pinnedReason; index.ts plans again with them once).
 */
export function planPoolsAndClusters(
  ix: PlanIndex,
  stuck: ReadonlySet<string> = new Set(),
): PoolClusterPass {
  const limit = ix.lClusters.size + 1;
  const tried: ReadonlySet<string>[] = [];
  let assumed: ReadonlySet<string> = canLeave(ix);
  for (let round = 1; ; round++) {
    const pools = planPools(ix, assumed);
    const clusters = planClusters(ix, pools.pools, stuck);
    const leaving = new Set([...clusters.deletedClusters, ...clusters.movedClusters]);
    tried.push(assumed);
    if (round >= limit || tried.some((s) => sameSet(s, leaving))) {
      return {
        pools: pools.pools,
        clusters: clusters.clusters,
        deletedClusters: clusters.deletedClusters,
        movedClusters: clusters.movedClusters,
        warnings: clusters.warnings,
        errors: pools.errors,
        rounds: round,
      };
    }
    assumed = leaving;
  }
}

/**
 * The live clusters that can leave their pool: pruned, declared in another pool, or replaced in
 * their own (`--replace`). The cluster pass takes out those it blocks.
 */
function canLeave(ix: PlanIndex): Set<string> {
  const out = new Set<string>();
  for (const l of ix.live.clusters) {
    const d = ix.dClusters.get(l.name);
    const moving = d !== undefined && d.pool !== l.pool;
    const replaced = d !== undefined && ix.forceReplace.has(address('Cluster', l.name));
    if ((!d && ix.prunes('Cluster', l.name)) || moving || replaced) out.add(l.name);
  }
  return out;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
