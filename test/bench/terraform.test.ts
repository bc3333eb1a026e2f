import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScaleModel } from '../../bench/lib/scale.js';
import {
  prepareTerraformDir,
  terraformConfig,
  terraformVersion,
  writeTerraformState,
} from '../../bench/lib/terraform.js';

const run = promisify(execFile);
const version = await terraformVersion();
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('Terraform baseline', () => {
  it('declares one terraform_data resource per object', () => {
    const model = generateScaleModel(200, 1);
    const config = terraformConfig(model);
    expect(config.match(/^resource "terraform_data" /gm)).toHaveLength(200);
    expect(config).toContain(`resource "terraform_data" "pool_${model.pools[0]!.name}"`);
  });

  // The 10,000-object `terraform plan` row relies on this: the state the benchmark writes is
  // exactly what `terraform apply` would have written, so the plan finds no changes.
  it.skipIf(version === null)(
    'writes a state that `terraform plan` finds in sync (exit 0)',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-tf-'));
      dirs.push(dir);
      const model = generateScaleModel(40, 2);
      const tf = await prepareTerraformDir(join(dir, 'tf'), model);
      await writeTerraformState(tf, model, version!);
      const plan = await run(
        'terraform',
        ['plan', '-input=false', '-no-color', '-detailed-exitcode', '-lock=false'],
        {
          cwd: tf.dir,
          env: tf.env,
        },
      ).catch((e: { code: number; stdout: string; stderr: string }) => e);
      expect(plan).not.toHaveProperty('code');
      expect((plan as { stdout: string }).stdout).toMatch(/No changes/);
    },
  );
});
