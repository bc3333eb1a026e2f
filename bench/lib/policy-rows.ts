/**
 * The policy rows (issue 75, docs/policies.md): `plan --policies examples/policies` (the five
 * example rules, one OPA process) beside `plan` itself on the same converged organisation, and
 * OPA's own evaluation of that plan alone (evaluatePolicies: the plan JSON and poolsync's data
 * written, OPA spawned, its answer read), at each N. Without OPA the rows say so and are skipped.
 */
import { join } from 'node:path';
import type { Plan } from '../../src/model/plan.js';
import { loadDesired } from '../../src/ops/plan-run.js';
import { DEFAULT_LIMITS, evaluatePolicies } from '../../src/policy/evaluate.js';
import { findOpa } from '../../src/policy/opa.js';
import { formatMs, median } from './measure.js';
import { repeat, type SizeContext } from './rows.js';

const EXAMPLES = join(import.meta.dirname, '../../examples/policies');

export async function policyRows(ctx: SizeContext): Promise<void> {
  const { n, o, sink, medians } = ctx;
  let opa: string;
  try {
    opa = findOpa(undefined, process.env);
  } catch (err) {
    const notes = `Not run: ${(err as Error).message}`;
    sink.add({
      n,
      name: '`plan --policies`',
      ms: null,
      runs: 0,
      peakRss: null,
      target: '',
      met: null,
      notes,
    });
    return;
  }
  // A 10,000-object plan needs more than the default 256 MiB (docs/policies.md, What fails, closed).
  const memoryMiB = 512;
  const env = { ...process.env, POOLSYNC_OPA: opa, POOLSYNC_OPA_MEMORY: String(memoryMiB) };
  const args = ['plan', ctx.repo, '--control-plane', `file:${ctx.noopState}`, '--no-color'];
  const r = await repeat(o.runs, () => ctx.poolsync([...args, '--policies', EXAMPLES], { env }));
  const plan = medians.get(`plan/${n}`);
  const added =
    plan === undefined
      ? ''
      : ` \`plan\` alone: ${formatMs(plan)} (its row); the policies add ${formatMs(r.ms - plan)}.`;
  sink.add({
    n,
    name: '`plan --policies` (the five examples), no changes',
    ms: r.ms,
    cpuMs: r.cpuMs,
    runs: o.runs,
    peakRss: r.peakRss,
    target: '',
    met: null,
    notes: `Whole process, file: control plane, OPA ${opa}.${added}`,
  });
  // OPA alone on the same plan and desired state, as the command evaluates them.
  const json = await ctx.poolsync([...args, '--output', 'json'], { env, captureStdout: true });
  const made = JSON.parse(json.stdout) as Plan;
  const loaded = await loadDesired(ctx.repo);
  if (!loaded.valid) throw new Error(`the generated repository at ${n} is invalid`);
  const set = {
    source: 'examples/policies',
    at: { kind: 'folder' as const, dir: EXAMPLES },
    owners: [],
  };
  const times: number[] = [];
  const opaTimes: number[] = [];
  let rules = 0;
  for (let i = 0; i < o.runs; i++) {
    const t0 = performance.now();
    const report = await evaluatePolicies(
      set,
      made,
      { desired: loaded.desired, branch: 'main' },
      opa,
      { ...DEFAULT_LIMITS, memoryMiB },
    );
    times.push(performance.now() - t0);
    opaTimes.push(report.elapsed_ms);
    if (report.error !== undefined || report.deny.length > 0)
      throw new Error(
        `the example policies do not pass the converged organisation: ${report.error ?? report.deny[0]!.msg}`,
      );
    rules = report.rules;
  }
  sink.add({
    n,
    name: 'policy evaluation alone (OPA, the five examples)',
    ms: median(times),
    runs: o.runs,
    peakRss: null,
    target: '',
    met: null,
    notes: `evaluatePolicies in the bench's process (the plan JSON of ${made.changes.length.toLocaleString('en-US')} changes and poolsync's data written, OPA's capabilities asked, OPA run, its answer read); the \`opa eval\` process alone ${formatMs(median(opaTimes))}; ${rules} rule name(s) (\`deny\` in 5 files).`,
  });
}
