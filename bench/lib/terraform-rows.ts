/**
 * The Terraform rows: `terraform apply` and `terraform plan` of the twin of poolsync's plan
 * (bench/lib/terraform.ts: one `terraform_data` per object, the step graph's edges as
 * `depends_on`), next to poolsync's own figures of the same run.
 */
import { join } from 'node:path';
import type { Step } from '../../src/model/plan.js';
import { TimeoutError, formatMs, runProcess } from './measure.js';
import { repeat, type Options, type Sink } from './rows.js';
import {
  prepareTerraformDir,
  resetTerraformState,
  terraformResources,
  writeTerraformState,
  type TerraformDir,
} from './terraform.js';

export interface TerraformContext {
  o: Options;
  sink: Sink;
  /** poolsync `plan` (no changes) median at this N, ms. */
  planMs?: number;
  /** poolsync HTTP `apply` median at parallelism 16, ms. */
  applyMs?: number;
}

export async function terraformRows(
  ctx: TerraformContext,
  n: number,
  steps: readonly Step[],
  dir: string,
  tfVersion: string | null,
): Promise<void> {
  if (tfVersion === null) {
    ctx.sink.add({
      n,
      name: 'Terraform',
      ms: null,
      runs: 0,
      peakRss: null,
      target: '',
      met: null,
      notes: '`terraform` was not found on PATH: Terraform rows skipped.',
    });
    return;
  }
  const resources = terraformResources(steps);
  const tf: TerraformDir = await prepareTerraformDir(join(dir, 'terraform'), resources);
  const slowRuns = n >= 10_000 ? ctx.o.slowRuns : Math.min(ctx.o.runs, 3);
  const tfRun = (args: string[]) =>
    runProcess('terraform', args, {
      cwd: tf.dir,
      env: tf.env,
      timeoutMs: ctx.o.terraformTimeoutMs,
    });
  let applied = false;
  if (n <= ctx.o.terraformApplyMax) {
    const r = await repeat(slowRuns, async () => {
      await resetTerraformState(tf);
      return tfRun(['apply', '-auto-approve', '-input=false', '-no-color', '-parallelism=16']);
    });
    applied = true;
    const ours = ctx.applyMs;
    ctx.sink.add({
      n,
      name: `\`terraform apply\` of ${n.toLocaleString('en-US')} \`terraform_data\` creates, parallelism 16`,
      ms: r.ms,
      cpuMs: r.cpuMs,
      runs: slowRuns,
      peakRss: r.peakRss,
      target: '',
      met: null,
      notes: `${ours === undefined ? '' : `poolsync / Terraform = **${(ours / r.ms).toFixed(2)}×** (poolsync apply at parallelism 16 with ${ctx.o.latencyMs} ms per call; Terraform's resources make no calls). `}Local state, no provider.`,
    });
  } else {
    ctx.sink.add({
      n,
      name: `\`terraform apply\` of ${n.toLocaleString('en-US')} \`terraform_data\` creates`,
      ms: null,
      runs: 0,
      peakRss: null,
      target: '',
      met: null,
      notes: `Not run: slow and superlinear (16-60 s at 1,000 and 4.6 min at 5,000 on this 2-CPU machine, depending on load). \`--terraform-apply-max ${n}\` runs it.`,
    });
  }
  if (!applied) await writeTerraformState(tf, resources, tfVersion);
  let r;
  try {
    r = await repeat(n >= 100_000 ? 1 : slowRuns, () =>
      tfRun(['plan', '-input=false', '-no-color', '-detailed-exitcode', '-lock=false']),
    );
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    ctx.sink.add({
      n,
      name: '`terraform plan`, no changes',
      ms: null,
      runs: 0,
      peakRss: null,
      target: '',
      met: null,
      notes: `Did not finish within ${formatMs(ctx.o.terraformTimeoutMs)} (stopped): no side-by-side figure at this N.`,
    });
    return;
  }
  const ours = ctx.planMs;
  ctx.sink.add({
    n,
    name: '`terraform plan`, no changes',
    ms: r.ms,
    cpuMs: r.cpuMs,
    runs: slowRuns,
    peakRss: r.peakRss,
    target: '',
    met: null,
    notes: `${ours === undefined ? '' : `poolsync / Terraform = **${(ours / r.ms).toFixed(2)}×** (\`plan\`, no changes). `}${applied ? 'State from the apply above.' : 'State written by the benchmark in the format `terraform apply` writes (an apply at this N takes too long).'}`,
  });
}
