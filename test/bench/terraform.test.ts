import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScaleModel } from '../../bench/lib/scale.js';
import { writeRepository } from '../../bench/lib/yaml-writer.js';
import {
  prepareTerraformDir,
  terraformConfig,
  terraformResources,
  terraformVersion,
  writeTerraformState,
} from '../../bench/lib/terraform.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { loadRepository } from '../../src/manifests/index.js';
import { computePlan } from '../../src/plan/index.js';

const run = promisify(execFile);
const version = await terraformVersion();
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The steps of a generated organisation's plan against an empty control plane. */
async function stepsOf(objects: number, seed: number) {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-tf-'));
  dirs.push(dir);
  await writeRepository(generateScaleModel(objects, seed), join(dir, 'repo'));
  const loaded = await loadRepository(join(dir, 'repo'));
  const cp = await EmbeddedControlPlane.open({ path: null });
  return { dir, steps: computePlan(loaded.desired!, await readLiveState(cp)).steps };
}

describe('Terraform baseline (the twin of the plan)', () => {
  it("declares one terraform_data resource per object a step acts on, with the step graph's edges", async () => {
    const { steps } = await stepsOf(200, 1);
    const resources = terraformResources(steps);
    expect(resources).toHaveLength(new Set(steps.map((s) => s.target)).size);
    const config = terraformConfig(resources);
    expect(config.match(/^resource "terraform_data" /gm)).toHaveLength(resources.length);
    // A cluster's registration waits for its pool: the twin's resource depends on the pool's.
    const register = steps.find((s) => s.op === 'register_cluster')!;
    const pool = (register.args as { pool: string }).pool;
    const cluster = resources.find((r) => r.name === `cluster_${register.target.split('/')[1]}`)!;
    expect(cluster.dependsOn).toContain(`clusterpool_${pool}`);
    expect(config).toContain(`depends_on = [terraform_data.clusterpool_${pool}`);
    const edges = resources.reduce((sum, r) => sum + r.dependsOn.length, 0);
    expect(edges).toBeGreaterThan(resources.length / 2);
  });

  // The 10,000-object `terraform plan` row relies on this: the state the benchmark writes is
  // exactly what `terraform apply` would have written, so the plan finds no changes.
  it.skipIf(version === null)(
    'writes a state that `terraform plan` finds in sync (exit 0)',
    async () => {
      const { dir, steps } = await stepsOf(40, 2);
      const resources = terraformResources(steps);
      const tf = await prepareTerraformDir(join(dir, 'tf'), resources);
      await writeTerraformState(tf, resources, version!);
      const plan = await run(
        'terraform',
        ['plan', '-input=false', '-no-color', '-detailed-exitcode', '-lock=false'],
        { cwd: tf.dir, env: tf.env },
      ).catch((e: { code: number; stdout: string; stderr: string }) => e);
      expect(plan).not.toHaveProperty('code');
      expect((plan as { stdout: string }).stdout).toMatch(/No changes/);
    },
  );
});
