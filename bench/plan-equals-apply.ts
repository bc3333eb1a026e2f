/**
 * Plan equals apply at scale (issue 46): the property of test/plan/property/plan-equals-apply.ts
 * over many generated cases per backend, the seed and fast-check's replay path printed on a
 * failure (pass them back with --seed and --path to replay it, shrunk).
 *
 *   node --import tsx bench/plan-equals-apply.ts [--cases 5000] [--union-share 0.05] [--seed N] [--path P]
 *
 * The cases are split: the embedded control plane with its default capabilities and with
 * Union's set (in process), and `--union-share` of them on the Union stand-in (over Connect, a
 * server per case). Prints the cases run, the steps they applied, and the changes planned blocked.
 */
import { toolArgs } from './lib/args.js';
import fc from 'fast-check';
import { caseArb, runCase, type Backend } from '../test/plan/property/plan-equals-apply.js';

const { values } = toolArgs(
  {
    options: {
      cases: { type: 'string', default: '5000' },
      'union-share': { type: 'string', default: '0.05' },
      seed: { type: 'string' },
      path: { type: 'string' },
    },
  },
  import.meta.url,
);
const total = Number(values.cases);
const union = Math.round(total * Number(values['union-share']));
const split: [Backend, number][] = [
  ['embedded', Math.floor((total - union) / 2)],
  ['union-embedded', Math.ceil((total - union) / 2)],
  ['union', union],
];
let failed = false;
for (const [backend, numRuns] of split) {
  if (numRuns === 0) continue;
  let steps = 0;
  let blocked = 0;
  const t0 = performance.now();
  const prop = fc.asyncProperty(caseArb(backend), async (c) => {
    const out = await runCase(backend, c);
    steps += out.steps;
    blocked += out.blocked;
    if (out.wrong.length > 0) throw new Error(out.wrong.join('\n'));
  });
  const details = await fc.check(prop, {
    numRuns,
    ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
    ...(values.path !== undefined ? { path: values.path } : {}),
  });
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  if (details.failed) {
    failed = true;
    console.log(
      `${backend}: FAILED after ${details.numRuns} cases (seed ${details.seed}, path ${details.counterexamplePath}): ${fc.defaultReportMessage(details)}\n${String((details.errorInstance as Error | null)?.message ?? '')}`,
    );
  } else
    console.log(
      `${backend}: ${details.numRuns} cases hold (seed ${details.seed}; ${steps} steps applied, ${blocked} changes planned blocked; ${s} s)`,
    );
}
process.exit(failed ? 1 : 0);
