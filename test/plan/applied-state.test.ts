/**
 * The state an apply records for `plan --refresh-only` without reading the control plane again
 * (src/plan/inventory.ts): for real plans executed against the embedded control plane, it has
 * no drift against the state read after the apply (creates, updates, replaces, deletes, the
 * co-named queues a registration makes, C2), and blocked changes leave the state as it was.
 */
import { describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { loadRepository } from '../../src/manifests/index.js';
import { appliedState } from '../../src/plan/inventory.js';
import { computePlan } from '../../src/plan/index.js';
import { parseCapabilities } from '../../src/model/capabilities.js';
import { driftSince } from '../../src/plan/refresh.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';

const V1: RepoSpec = {
  pools: ['legacy', 'prod', 'tmp'],
  clusters: { 'old-1': 'legacy', 'old-2': 'legacy', mover: 'legacy', 'prod-1': 'prod' },
  queues: {
    batch: { pool: 'legacy', clusters: ['old-1', 'old-2'] },
    web: { pool: 'prod', clusters: ['prod-1'] },
  },
  assignments: { 'proj/dev': 'tmp', 'proj/prod': 'prod' },
};

/** Retire old-1, move `mover` to prod (a replace), add a pool, drop tmp, retune a queue. */
const V2: RepoSpec = {
  pools: ['legacy', 'prod', 'gpu'],
  clusters: { 'old-2': 'legacy', mover: { pool: 'prod', enabled: false }, 'prod-1': 'prod' },
  queues: {
    batch: { pool: 'legacy', clusters: ['old-2'], run_concurrency: 3 },
    web: { pool: 'prod', clusters: ['prod-1', 'mover'] },
    gq: { pool: 'gpu', clusters: [] },
  },
  assignments: { 'proj/prod': 'gpu' },
};

describe('appliedState', () => {
  it('is the state a successful apply leaves, on every field drift compares', async () => {
    const dir = await tempDir();
    const cp = await EmbeddedControlPlane.open({ path: null });
    for (const spec of [V1, V2]) {
      await writeRepo(dir, spec);
      const loaded = await loadRepository(dir);
      if (!loaded.valid) throw new Error(JSON.stringify(loaded.errors));
      const before = await readLiveState(cp);
      const plan = computePlan(loaded.desired, before);
      expect(plan.errors).toEqual([]);
      expect((await executePlan(plan, cp, { parallelism: 8 })).ok).toBe(true);
      const recorded = appliedState(before, plan);
      const last = { format_version: '1' as const, applied_at: '', commit: null, live: recorded };
      expect(driftSince(last, await readLiveState(cp)).drift).toEqual([]);
    }
    await cp.close();
  });

  it("with drain, leaves a co-named queue drained or active with its cluster (registered disabled, enabled, disabled): the drift view of poolsync's own apply is empty", async () => {
    const dir = await tempDir();
    const parsed = parseCapabilities('drain');
    if (!parsed.ok) throw new Error(parsed.error);
    const cp = await EmbeddedControlPlane.open({ path: null, capabilities: parsed.capabilities });
    for (const enabled of [false, true, false]) {
      await writeRepo(dir, { clusters: { c0: { pool: 'default', enabled } } });
      const loaded = await loadRepository(dir);
      if (!loaded.valid) throw new Error(JSON.stringify(loaded.errors));
      const before = await readLiveState(cp);
      const plan = computePlan(loaded.desired, before);
      expect((await executePlan(plan, cp)).ok).toBe(true);
      const recorded = appliedState(before, plan);
      expect(recorded.queues.find((q) => q.name === 'c0')?.state).toBe(
        enabled ? 'active' : 'drained',
      );
      const last = { format_version: '1' as const, applied_at: '', commit: null, live: recorded };
      expect(driftSince(last, await readLiveState(cp)).drift).toEqual([]);
    }
    await cp.close();
  });

  it('leaves what the plan does not change (no-ops, blocked changes) as it was read', async () => {
    const dir = await tempDir();
    const cp = await EmbeddedControlPlane.open({ path: null });
    await writeRepo(dir, V1);
    const loaded = await loadRepository(dir);
    if (!loaded.valid) throw new Error(JSON.stringify(loaded.errors));
    await executePlan(computePlan(loaded.desired, await readLiveState(cp)), cp, {});
    const live = await readLiveState(cp);
    const plan = computePlan(loaded.desired, live);
    expect(plan.steps).toEqual([]);
    expect(appliedState(live, plan)).toEqual(live);
    await cp.close();
  });
});
