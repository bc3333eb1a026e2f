/**
 * The Terraform baseline: the same N objects as `terraform_data` resources (built into
 * Terraform, no provider download), one per pool, cluster, queue and assignment, with local
 * state. Terraform never talks to the network here (CHECKPOINT_DISABLE).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ScaleModel } from './scale.js';

const run = promisify(execFile);

export async function terraformVersion(): Promise<string | null> {
  try {
    const { stdout } = await run('terraform', ['version'], { env: terraformEnv('/dev/null') });
    return stdout.split('\n')[0]?.trim() ?? 'terraform';
  } catch {
    return null;
  }
}

/** No CLI config from the user's home, no update check, no colour, no prompts. */
export function terraformEnv(cliConfig: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfig,
    CHECKPOINT_DISABLE: '1',
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
  };
}

/** Resource address and input of every object, in a stable order. */
export function terraformResources(model: ScaleModel): Array<{ name: string; input: string }> {
  const all: Array<{ name: string; input: string }> = [];
  for (const p of model.pools)
    all.push({ name: `pool_${p.name}`, input: p.contract.object_store_ref.uri });
  for (const c of model.clusters) all.push({ name: `cluster_${c.name}`, input: c.pool });
  for (const q of model.queues)
    all.push({ name: `queue_${q.name}`, input: `${q.spec.pool}:${q.spec.run_concurrency}` });
  for (const a of model.assignments) all.push({ name: `assignment_${a.name}`, input: a.pool });
  return all;
}

export function terraformConfig(model: ScaleModel): string {
  return terraformResources(model)
    .map(
      (r) => `resource "terraform_data" "${r.name}" {\n  input = ${JSON.stringify(r.input)}\n}\n`,
    )
    .join('');
}

/**
 * The state `terraform apply` would have written for this configuration (format 4, the one
 * Terraform 1.x writes). Used to measure `terraform plan` at sizes where a real apply would take
 * longer than the whole benchmark; `terraform plan` then refreshes every resource as usual.
 */
export function terraformState(model: ScaleModel, terraformVersionNumber: string): string {
  const resources = terraformResources(model).map((r) => ({
    mode: 'managed',
    type: 'terraform_data',
    name: r.name,
    provider: 'provider["terraform.io/builtin/terraform"]',
    instances: [
      {
        schema_version: 0,
        attributes: {
          id: randomUUID(),
          input: { value: r.input, type: 'string' },
          output: { value: r.input, type: 'string' },
          triggers_replace: null,
        },
        sensitive_attributes: [],
      },
    ],
  }));
  return JSON.stringify({
    version: 4,
    terraform_version: terraformVersionNumber,
    serial: resources.length + 1,
    lineage: randomUUID(),
    outputs: {},
    resources,
    check_results: null,
  });
}

export interface TerraformDir {
  dir: string;
  env: NodeJS.ProcessEnv;
}

/** Writes main.tf and runs `terraform init` (fast: the builtin provider needs no download). */
export async function prepareTerraformDir(dir: string, model: ScaleModel): Promise<TerraformDir> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const cliConfig = join(dir, '.terraformrc');
  await writeFile(cliConfig, '');
  await writeFile(join(dir, 'main.tf'), terraformConfig(model));
  const env = terraformEnv(cliConfig);
  await run('terraform', ['init', '-input=false', '-no-color'], {
    cwd: dir,
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { dir, env };
}

export async function resetTerraformState(tf: TerraformDir): Promise<void> {
  await rm(join(tf.dir, 'terraform.tfstate'), { force: true });
  await rm(join(tf.dir, 'terraform.tfstate.backup'), { force: true });
}

export async function writeTerraformState(
  tf: TerraformDir,
  model: ScaleModel,
  versionLine: string,
): Promise<void> {
  const version = /v(\d+\.\d+\.\d+)/.exec(versionLine)?.[1] ?? '1.0.0';
  await writeFile(join(tf.dir, 'terraform.tfstate'), terraformState(model, version));
}
