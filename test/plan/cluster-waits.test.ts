/**
 * The inventory's `cluster_waits` (docs/apply.md, Waits): the queues a cluster delete's wait
 * watched, recorded ahead of the first step so a wait cut short is watched again, until the delete
 * is done. Through the CLI: test/plan/cluster-delete.cli.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseInventory, type InventoryRecord } from '../../src/model/inventory.js';
import type { Plan, Step } from '../../src/model/plan.js';
import { nextClusterWaits } from '../../src/plan/inventory.js';

const RECORD: InventoryRecord = {
  format: 2,
  addresses: ['Cluster/c1'],
  updated_at: '2026-11-29T00:00:00.000Z',
  commit: null,
  control_plane: null,
};

const step = (id: string, s: Pick<Step, 'op' | 'args' | 'target'>) =>
  ({ id, depends_on: [], ...s }) as Step;
const deletingC3: Pick<Plan, 'steps' | 'inventory'> = {
  steps: [
    step('s1', {
      op: 'wait_idle',
      target: 'Cluster/c3',
      args: { queues: ['c3', 'q3'], cluster: 'c3' },
    }),
    step('s2', { op: 'delete_cluster', target: 'Cluster/c3', args: { name: 'c3' } }),
  ],
  inventory: { declared: ['Cluster/c1', 'Queue/q3'], gone: [], found: true },
};

describe('cluster_waits', () => {
  it('an inventory without it reads as before; one with it round trips; a wrong one is refused', () => {
    expect(parseInventory(RECORD)).toEqual(RECORD);
    const waits = { ...RECORD, cluster_waits: { c3: ['q3', 'c3'] } };
    expect(parseInventory(waits)).toEqual({ ...RECORD, cluster_waits: { c3: ['c3', 'q3'] } });
    expect(parseInventory({ ...RECORD, cluster_waits: { c3: 'q3' } })).toBe(
      'cluster_waits must map each cluster to a list of queue names',
    );
  });

  it('a delete ahead records its wait, a later plan adds to it, the delete done drops it', () => {
    const ahead = nextClusterWaits({}, deletingC3, new Set());
    expect(ahead).toEqual({ c3: ['c3', 'q3'] });
    // The re-plan after the repointing watches only the co-named queue: q3 stays recorded.
    const replan = {
      ...deletingC3,
      steps: deletingC3.steps.map((s) =>
        s.op === 'wait_idle' ? { ...s, args: { queues: ['c3'], cluster: 'c3' } } : s,
      ),
    };
    expect(nextClusterWaits(ahead!, replan, new Set())).toBeNull();
    expect(nextClusterWaits(ahead!, replan, new Set(['Cluster/c3']))).toEqual({});
  });

  it('a cluster the repository declares again and no longer deletes drops its record; another stays', () => {
    const keeps = {
      steps: [],
      inventory: { declared: ['Cluster/c1', 'Cluster/c3'], gone: [], found: true },
    };
    expect(nextClusterWaits({ c3: ['q3'], c9: ['q9'] }, keeps, new Set())).toEqual({
      c9: ['q9'],
    });
    expect(nextClusterWaits({}, keeps, new Set())).toBeNull();
  });
});
