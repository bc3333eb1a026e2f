import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { pick, QUEUE_SPEC_FIELDS } from '../../src/model/common.js';
import { declaredDataPlane, driftModel, generateScaleModel } from '../../bench/lib/scale.js';
import { seedControlPlane } from '../../bench/lib/seed.js';

describe('seeding a control plane with the scale model', () => {
  it('creates every object through the ControlPlane calls, in dependency order (P1, C1, C2, Q1, A1)', async () => {
    const model = generateScaleModel(600, 5);
    const cp = await EmbeddedControlPlane.open({ path: null });
    const pools = new Map(model.pools.map((p) => [p.name, p]));
    const result = await seedControlPlane(cp, model, {
      concurrency: 8,
      afterRegister: async (c) => {
        await cp.reportClusterStatus(c.name, declaredDataPlane(pools.get(c.pool)!.contract));
      },
    });
    const live = await readLiveState(cp);
    await cp.close();

    expect(result.calls).toBeGreaterThanOrEqual(600);
    expect(live.pools.map((p) => p.name).sort()).toEqual(
      ['default', ...model.pools.map((p) => p.name)].sort(),
    );
    expect(live.clusters).toHaveLength(model.clusters.length);
    expect(live.clusters.every((c) => c.health === 'healthy')).toBe(true); // C5
    expect(live.clusters.filter((c) => !c.enabled)).toHaveLength(
      model.clusters.filter((c) => !c.enabled).length,
    ); // C6
    // C2 + C3: one co-named queue per cluster and `default`, besides the standalone queues.
    const standalone = model.queues.filter((q) => !q.coNamed);
    expect(live.queues).toHaveLength(standalone.length + model.clusters.length + 1);
    const liveQueues = new Map(live.queues.map((q) => [q.name, q]));
    for (const q of model.queues) {
      expect(pick(liveQueues.get(q.name)!, QUEUE_SPEC_FIELDS)).toEqual(q.spec);
      expect(liveQueues.get(q.name)!.cluster_managed).toBe(q.coNamed);
    }
    expect(live.assignments).toHaveLength(model.assignments.length);
  });

  it('seeds a drifted copy that differs from the model where the drift says', async () => {
    const model = generateScaleModel(600, 5);
    const { model: drifted, summary } = driftModel(model);
    const cp = await EmbeddedControlPlane.open({ path: null });
    await seedControlPlane(cp, drifted, { concurrency: 4 });
    const live = await readLiveState(cp);
    await cp.close();
    const liveClusters = new Map(live.clusters.map((c) => [c.name, c.pool]));
    const moved = model.clusters.filter((c) => liveClusters.get(c.name) !== c.pool);
    expect(moved).toHaveLength(summary.clustersMoved);
    const liveQueues = new Map(live.queues.map((q) => [q.name, q]));
    const changed = model.queues.filter(
      (q) => liveQueues.get(q.name)!.run_concurrency !== q.spec.run_concurrency,
    );
    expect(changed).toHaveLength(summary.queuesChanged);
  });

  it('stops at the first rejected call and reports it (P3)', async () => {
    const model = generateScaleModel(100, 1);
    const cp = await EmbeddedControlPlane.open({ path: null });
    await cp.createPool(model.pools[0]!.name, model.pools[0]!.contract);
    await expect(seedControlPlane(cp, model)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await cp.close();
  });
});
