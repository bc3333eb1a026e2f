/**
 * The plan is what happens, seen from outside (issue 58), at scale: the property of
 * test/plan/property/outside/outside.ts over many generated cases per backend. Prints, per
 * backend, the cases run (applied, refused by the loader or planner), the steps they applied and
 * the changes they showed, the time per case, and each counterexample found: shrunk (unless
 * --no-shrink), with its seed and path to replay it, and the first of what went wrong.
 * After a counterexample the backend goes on with the cases left, from the next seed, so one run
 * counts the distinct failures (the same first complaint, names aside, is counted once).
 *
 *   node --import tsx bench/property-outside.ts [--cases 1000] [--backends file,rest,union]
 *       [--seed N] [--path P] [--no-shrink] [--max-failures 10]
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { runCase, SHAPES, type Outcome } from '../test/plan/property/outside/outside.js';
import { caseArb, type Case } from '../test/plan/property/outside/world.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000' },
    backends: { type: 'string', default: Object.keys(SHAPES).join(',') },
    seed: { type: 'string' },
    path: { type: 'string' },
    'no-shrink': { type: 'boolean', default: false },
    'max-failures': { type: 'string', default: '10' },
  },
});
const total = Number(values.cases);
const backends = values.backends.split(',') as (keyof typeof SHAPES)[];

/** A complaint with names and numbers taken out, so the same failure counts once. */
const signature = (line: string) => line.replace(/\b[a-z]{1,3}\d\b|\d+/g, '#');

let failures = 0;
for (const backend of backends) {
  const tally = { applied: 0, refused: 0, steps: 0, changed: 0 };
  const refusals = new Map<string, number>();
  const found = new Map<string, { seed: number; path: string; first: string; c: Case }>();
  let left = Math.max(1, Math.round(total / backends.length));
  let seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
  const t0 = performance.now();
  let run = 0;
  let shrinks = 0;
  while (left > 0 && found.size < Number(values['max-failures'])) {
    // Once a case fails, the runs that follow are shrinking it: counted apart.
    let shrinking = false;
    const prop = fc.asyncProperty(caseArb(SHAPES[backend]), async (c) => {
      const out: Outcome = await runCase(backend, c);
      if (shrinking) shrinks++;
      if (out.wrong.length > 0) {
        shrinking = true;
        throw new Error(out.wrong.join('\n'));
      }
      if (shrinking) return;
      tally[out.result]++;
      tally.steps += out.steps;
      tally.changed += out.changed;
      if (out.refusal) refusals.set(out.refusal, (refusals.get(out.refusal) ?? 0) + 1);
    });
    const details = await fc.check(prop, {
      numRuns: left,
      seed,
      ...(values.path !== undefined && run === 0 ? { path: values.path } : {}),
      endOnFailure: values['no-shrink'],
    });
    run += details.numRuns;
    left -= details.numRuns;
    if (!details.failed) break;
    const message = String((details.errorInstance as Error | null)?.message ?? '');
    const first = message.split('\n')[0]!;
    const sig = signature(first);
    if (!found.has(sig))
      found.set(sig, {
        seed: details.seed,
        path: details.counterexamplePath ?? '',
        first: message,
        c: details.counterexample![0] as Case,
      });
    seed = (seed + 7919) % 2 ** 31;
  }
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${backend}: ${run} cases (${tally.applied} applied, ${tally.refused} refused; ${tally.steps} steps, ${tally.changed} changes shown), ${found.size} counterexamples (${shrinks} runs shrinking them); ${s.toFixed(1)} s, ${((s * 1000) / Math.max(1, run + shrinks)).toFixed(0)} ms a run`,
  );
  if (refusals.size > 0)
    console.log(
      `  refused: ${[...refusals]
        .sort((a, b) => b[1] - a[1])
        .map(([r, n]) => `${r} ${n}`)
        .join(', ')}`,
    );
  for (const f of found.values()) {
    failures++;
    console.log(
      `  counterexample (seed ${f.seed}, path ${f.path}):\n    ${f.first.split('\n').join('\n    ')}`,
    );
    console.log(`    case: ${JSON.stringify(f.c)}`);
  }
}
process.exit(failures > 0 ? 1 : 0);
