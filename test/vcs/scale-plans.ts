/**
 * Plans of the 10,000-object organisation (bench/lib/scale.ts), made by the planner from a
 * written repository against an embedded control plane (issue 78): its first apply (11,652
 * changes with the C2 queues, 344 warnings), and the same organisation drifted with clusters
 * moved to other pools (a replace each, the co-named ones blocked).
 */
import { generateScaleModel, driftModel } from '../../bench/lib/scale.js';
import { seedControlPlane } from '../../bench/lib/seed.js';
import { writeRepository } from '../../bench/lib/yaml-writer.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Plan } from '../../src/model/plan.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { tempFolder } from '../support/temp-folder.js';

export const SCALE_OBJECTS = 10_000;

/** `moved`: the fraction of clusters live in another pool than the repository says (none: empty). */
export async function scalePlan(moved: number | null): Promise<Plan> {
  const model = generateScaleModel(SCALE_OBJECTS, 1);
  const dir = tempFolder('poolsync-scale-');
  await writeRepository(model, dir);
  const cp = await EmbeddedControlPlane.open({ path: null });
  try {
    if (moved !== null)
      await seedControlPlane(cp, driftModel(model, { clusterMoveFraction: moved }).model, {
        concurrency: 64,
      });
    const result = await planRepository(dir, cp, { commit: null });
    if (!result.ok) throw new Error(`the scale repository is invalid: ${result.errors.length}`);
    return result.plan;
  } finally {
    await cp.close();
  }
}
