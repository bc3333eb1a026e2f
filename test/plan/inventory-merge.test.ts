/**
 * The inventory sorted once (issue 79 item 5): what an apply records is merged from sorted lists
 * (the plan's declared addresses, the recorded inventory, the control plane's lists by name, the
 * planner's changes by name) instead of sets and maps sorted again. Each merge gives what the
 * set-and-sort form gave, for lists in order and out of order (edited by hand: sorted first).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LiveState } from '../../src/model/live.js';
import type { PlanInventory } from '../../src/model/plan.js';
import { computePlan } from '../../src/plan/index.js';
import { appliedState, nextInventory, planInventory } from '../../src/plan/inventory.js';
import { contract, desired, live } from './build.js';

const address = fc
  .tuple(
    fc.constantFrom('Cluster', 'ClusterPool', 'Queue', 'PoolAssignment'),
    fc.integer({ min: 0, max: 12 }),
  )
  .map(([kind, n]) => `${kind}/n${n}`);
const addresses = fc.array(address, { maxLength: 30 });

/** nextInventory as it was: sets of both lists, sorted again. */
function bySets(
  current: readonly string[] | null,
  inventory: PlanInventory,
  deleted: ReadonlySet<string>,
): string[] | null {
  const declared = new Set(inventory.declared);
  const next = new Set(current ?? []);
  for (const a of declared) next.add(a);
  for (const a of inventory.gone) next.delete(a);
  for (const a of deleted) if (!declared.has(a)) next.delete(a);
  const sorted = [...next].sort();
  const same =
    current !== null &&
    sorted.length === current.length &&
    sorted.every((a, i) => a === current[i]);
  return same ? null : sorted;
}

describe('the inventory, merged', () => {
  it('nextInventory gives what sets sorted again gave, for recorded lists in and out of order', () => {
    fc.assert(
      fc.property(
        fc.option(addresses),
        addresses,
        addresses,
        addresses,
        fc.boolean(),
        (current, declared, gone, deleted, sortCurrent) => {
          const recorded = current && sortCurrent ? [...new Set(current)].sort() : current;
          // The plan's declared list is sorted once, where it is made (planInventory).
          const inventory = { found: true, declared: [...new Set(declared)].sort(), gone };
          const del = new Set(deleted);
          expect(nextInventory(recorded, inventory, del)).toEqual(bySets(recorded, inventory, del));
        },
      ),
    );
  });

  it('planInventory: gone is what the recorded inventory holds, neither declared nor live, in its order', () => {
    const d = desired({ pools: { prod: contract('prod') }, clusters: { c1: { pool: 'prod' } } });
    const l = live({ pools: { prod: contract('prod') }, clusters: { hand: { pool: 'prod' } } });
    for (const recorded of [
      ['Cluster/c1', 'Cluster/gone-2', 'Cluster/hand', 'ClusterPool/prod', 'Queue/gone-1'],
      ['Queue/gone-1', 'ClusterPool/prod', 'Cluster/hand', 'Cluster/gone-2', 'Cluster/c1'],
    ]) {
      const inv = planInventory(d, { ...l, inventory: recorded })!;
      expect(inv.declared).toEqual(['Cluster/c1', 'ClusterPool/prod']);
      expect(inv.gone).toEqual(recorded.filter((a) => a.includes('gone')));
    }
  });

  it('appliedState merges sorted live lists with the changes as the map of them did', () => {
    const names = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 5 });
    fc.assert(
      fc.property(names, names, names, names, (dClusters, lClusters, dQueues, lQueues) => {
        const pools = { prod: contract('prod') };
        const d = desired({
          prune: true,
          pools,
          clusters: Object.fromEntries(dClusters.map((c) => [`c-${c}`, { pool: 'prod' }])),
          queues: Object.fromEntries(dQueues.map((q) => [`q-${q}`, { pool: 'prod' }])),
        });
        const l: LiveState = live({
          pools,
          clusters: Object.fromEntries(lClusters.map((c) => [`c-${c}`, { pool: 'prod' }])),
          queues: Object.fromEntries(
            lQueues.map((q) => [`q-${q}`, { pool: 'prod', run_concurrency: 3 }]),
          ),
        });
        const plan = computePlan(d, l);
        const merged = appliedState(l, plan);
        // The same lists reversed take the map (out of order): the same state.
        const reversed = {
          ...l,
          pools: [...l.pools].reverse(),
          clusters: [...l.clusters].reverse(),
          queues: [...l.queues].reverse(),
        };
        expect(merged).toEqual(appliedState(reversed, plan));
        for (const list of [merged.pools, merged.clusters, merged.queues])
          expect(list.map((o) => o.name)).toEqual(list.map((o) => o.name).sort());
      }),
    );
  });
});
