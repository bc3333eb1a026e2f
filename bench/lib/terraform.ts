/**
 * The Terraform baseline, a twin of poolsync's plan: one `terraform_data` resource (built into
 * Terraform, no provider download) per object the plan creates — pool, cluster, queue,
 * assignment — whose `input` is what poolsync sends for it, and whose `depends_on` are the
 * edges of poolsync's step graph between objects (a cluster after its pool, a queue after its
 * pool and the clusters it names, an assignment after its pool; issue 25: like for like).
 * Local state; Terraform never talks to the network here (CHECKPOINT_DISABLE).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Step } from '../../src/model/plan.js';

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

export interface TerraformResource {
  name: string;
  input: string;
  /** Names of the resources it depends on. */
  dependsOn: string[];
}

/** A Terraform resource name for a poolsync address (`Queue/a.b` → `queue_a_b`). */
function resourceName(address: string): string {
  const [kind, ...rest] = address.split('/');
  return `${kind!.toLowerCase()}_${rest.join('_').replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/**
 * One resource per object the plan's steps act on (in step order), its input the JSON of its
 * steps' arguments, its dependencies the objects its steps depend on.
 */
export function terraformResources(steps: readonly Step[]): TerraformResource[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const resources = new Map<string, { input: unknown[]; deps: Set<string> }>();
  for (const step of steps) {
    const name = resourceName(step.target);
    let r = resources.get(name);
    if (!r) resources.set(name, (r = { input: [], deps: new Set() }));
    r.input.push(step.args);
    for (const dep of step.depends_on) {
      const other = resourceName(byId.get(dep)!.target);
      if (other !== name) r.deps.add(other);
    }
  }
  return [...resources].map(([name, r]) => ({
    name,
    input: JSON.stringify(r.input.length === 1 ? r.input[0] : r.input),
    dependsOn: [...r.deps].sort(),
  }));
}

export function terraformConfig(resources: readonly TerraformResource[]): string {
  return resources
    .map((r) => {
      const deps = r.dependsOn.map((d) => `terraform_data.${d}`).join(', ');
      return (
        `resource "terraform_data" "${r.name}" {\n  input = ${JSON.stringify(r.input)}\n` +
        (deps ? `  depends_on = [${deps}]\n` : '') +
        '}\n'
      );
    })
    .join('');
}

/**
 * The state `terraform apply` would have written for this configuration (format 4, the one
 * Terraform 1.x writes). Used to measure `terraform plan` at sizes where a real apply would take
 * longer than the whole benchmark; `terraform plan` then refreshes every resource as usual.
 */
export function terraformState(
  all: readonly TerraformResource[],
  terraformVersionNumber: string,
): string {
  const resources = all.map((r) => ({
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
        ...(r.dependsOn.length > 0
          ? { dependencies: r.dependsOn.map((d) => `terraform_data.${d}`) }
          : {}),
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
export async function prepareTerraformDir(
  dir: string,
  resources: readonly TerraformResource[],
): Promise<TerraformDir> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const cliConfig = join(dir, '.terraformrc');
  await writeFile(cliConfig, '');
  await writeFile(join(dir, 'main.tf'), terraformConfig(resources));
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
  resources: readonly TerraformResource[],
  versionLine: string,
): Promise<void> {
  const version = /v(\d+\.\d+\.\d+)/.exec(versionLine)?.[1] ?? '1.0.0';
  await writeFile(join(tf.dir, 'terraform.tfstate'), terraformState(resources, version));
}
