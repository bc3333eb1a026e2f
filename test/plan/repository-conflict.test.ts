/**
 * A declared object another repository applied is left as it is (docs/plan.md, Prune scope):
 * where its manifest differs, or it is gone from the control plane, the plan says so as a
 * blocked change (HELD_BY_OTHER_REPOSITORY), in the planner's order; where it matches, the
 * warning alone.
 */
import { describe, expect, it } from 'vitest';
import type { QueueSpec } from '../../src/model/common.js';
import { computePlan } from '../../src/plan/index.js';
import { renderText } from '../../src/render/text.js';
import { contract, desired, live } from './build.js';

const OTHER = 'github.com/acme/platform';
const HERE = 'github.com/acme/team';
const queue = (run_concurrency: number): Partial<QueueSpec> => ({
  pool: 'prod',
  clusters: ['c1'],
  run_concurrency,
  action_concurrency: 100,
});

describe('a declared object another repository applied', () => {
  it('is blocked where its manifest differs or it is gone, a warning only where it matches', () => {
    const applied = ['ClusterPool/prod', 'Cluster/c1', 'Queue/qa', 'Queue/qb', 'Queue/qc'].sort();
    const plan = computePlan(
      desired({
        pools: { prod: contract('prod') },
        clusters: { c1: { pool: 'prod' } },
        queues: { qa: queue(10), qb: queue(15), qc: queue(10) },
      }),
      {
        ...live({
          pools: { prod: contract('prod') },
          clusters: { c1: { pool: 'prod' } },
          queues: { qa: queue(10), qb: queue(10) },
          // Hand-made, after the queues in the plan's order.
          assignments: [{ project: 'p', domain: 'd', pool: 'prod' }],
        }),
        inventory: applied,
        inventory_owners: { [OTHER]: applied },
      },
      { repository: HERE },
    );
    const shown = plan.changes.filter((c) => c.action !== 'noop' && c.kind !== 'ClusterPool');
    expect(shown.map((c) => [c.address, c.action, c.why?.code])).toEqual([
      ['Cluster/c1', 'unmanaged', 'OTHER_REPOSITORY'],
      ['Queue/qa', 'unmanaged', 'OTHER_REPOSITORY'],
      ['Queue/qb', 'blocked', 'HELD_BY_OTHER_REPOSITORY'],
      ['Queue/qc', 'blocked', 'HELD_BY_OTHER_REPOSITORY'],
      ['PoolAssignment/p/d', 'unmanaged', 'PRUNE_OFF'],
    ]);
    const [qb, qc] = shown.slice(2);
    expect(qb).toMatchObject({
      before: { run_concurrency: 10 },
      after: { run_concurrency: 15 },
      diff: [{ path: 'run_concurrency', before: 10, after: 15, forces_replacement: false }],
      why: { params: { repository: OTHER, here: HERE } },
      destructive: false,
    });
    expect(qc).toMatchObject({ before: null, after: { run_concurrency: 10 } });
    expect([plan.summary.blocked, plan.steps, plan.errors]).toEqual([2, [], []]);
    expect(plan.warnings.filter((w) => w.code === 'REPOSITORY_CONFLICT')).toHaveLength(5);
    expect(plan.inventory?.declared).toEqual([]);
  });

  it("is counted in the unmanaged summary as that repository's, beside the other reasons", () => {
    const applied = ['ClusterPool/prod', 'Cluster/c1', 'Queue/qa'].sort();
    const plan = (assignments: { project: string; domain: string; pool: string }[]) =>
      computePlan(
        desired({
          pools: { prod: contract('prod') },
          clusters: { c1: { pool: 'prod' } },
          queues: { qa: queue(10) },
        }),
        {
          ...live({
            pools: { prod: contract('prod') },
            clusters: { c1: { pool: 'prod' } },
            queues: { qa: queue(10) },
            assignments,
          }),
          inventory: applied,
          inventory_owners: { [OTHER]: applied },
        },
        { repository: HERE },
      );
    // It said "(prune is off)" while each line said the other repository applied it.
    expect(renderText(plan([]), { color: false })).toContain(
      `3 objects unmanaged (applied by repository ${OTHER}).`,
    );
    const mixed = plan([{ project: 'p', domain: 'd', pool: 'prod' }]);
    expect(renderText(mixed, { color: false })).toContain(
      `4 objects unmanaged (3: applied by repository ${OTHER}; 1: prune is off).`,
    );
  });
});
