/**
 * The pool and cluster passes agree by an explicit fixed point (src/plan/pools-and-clusters.ts):
 * the pool pass assumes the clusters that can leave are gone, the cluster pass decides which
 * really go, and both run again until the two sets are equal.
 */
import { describe, expect, it } from 'vitest';
import { PlanIndex } from '../../src/plan/context.js';
import { planPoolsAndClusters } from '../../src/plan/pools-and-clusters.js';
import { computePlan } from '../../src/plan/index.js';
import { contract, desired, live } from './build.js';
import { change } from './helpers.js';

describe('pools and clusters, planned to a fixed point', () => {
  // c1 is declared in pool b; live, it is in pool a, which the repository leaves out (pruned).
  const repo = desired({
    prune: true,
    pools: { b: contract('b') },
    clusters: { c1: { pool: 'b' } },
  });
  const twoPools = { a: contract('a'), b: contract('b') };

  it('takes a second round when a cluster assumed gone is blocked, and the pool it keeps stays', () => {
    // The name "c1" is taken by a queue (N2): its registration in b is blocked and it stays in a.
    const state = live({
      pools: twoPools,
      clusters: { c1: { pool: 'a' } },
      queues: { c1: { pool: 'b', clusters: ['*'], cluster_managed: false } },
    });
    const pc = planPoolsAndClusters(new PlanIndex(repo, state));
    expect(pc.rounds).toBe(2);
    expect(pc.clusters.get('c1')?.change.action).toBe('blocked');
    expect([...pc.deletedClusters, ...pc.movedClusters]).toEqual([]);
    expect(pc.pools.get('a')?.change.action).toBe('blocked');
    const plan = computePlan(repo, state);
    expect(change(plan, 'ClusterPool/a').action).toBe('blocked');
    expect(change(plan, 'Cluster/c1').action).toBe('blocked');
  });

  it('ends after one round when the first assumption holds', () => {
    const state = live({
      pools: twoPools,
      clusters: { c1: { pool: 'a' } },
      // No co-named queue left in pool a to keep it (C7).
      noConamed: ['c1'],
    });
    const pc = planPoolsAndClusters(new PlanIndex(repo, state));
    expect(pc.rounds).toBe(1);
    expect(pc.clusters.get('c1')?.change.action).toBe('replace');
    expect(pc.pools.get('a')?.change.action).toBe('delete');
  });
});
