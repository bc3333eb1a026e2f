/**
 * The plan is what happens, seen from outside (issue 58), at scale: the property of
 * test/plan/property/outside/outside.ts over many generated cases per backend. Prints, per
 * backend, the cases run (applied, refused by the loader or planner), the steps they applied and
 * the changes they showed, the time per case, and each counterexample found: shrunk (unless
 * --no-shrink), with its seed and path to replay it, and the first of what went wrong.
 * After a counterexample the backend goes on with the cases left, from the next seed, so one run
 * counts the distinct failures (the same first complaint, names aside, is counted once).
 *
 * flyteadmin runs on the real one (scripts/flyte-go.sh; skipped, saying why, where it is not
 * built), `flyteadmin-stand-in` on src/standins/flyteadmin.
 *
 *   node --import tsx bench/property-outside.ts [--cases 1000] [--backends file,rest,union,flyteadmin]
 *       [--seed N] [--path P] [--no-shrink] [--max-failures 10] [--transitions]
 * `--transitions`: only cases where another client edits between plan and apply, or the apply
 * is killed at a step boundary (issue 73 item 10).
 */
import { toolArgs } from './lib/args.js';
import fc from 'fast-check';
import { flyteadminTargets, type FlyteadminUnderTest } from '../test/flyteadmin/targets.js';
import { flyteadminTarget } from '../test/plan/property/outside/flyteadmin.js';
import { runCase, SHAPES, type Outcome } from '../test/plan/property/outside/outside.js';
import type { Target } from '../test/plan/property/outside/targets.js';
import {
  caseArb,
  PROJECTS,
  type BackendName,
  type Case,
} from '../test/plan/property/outside/world.js';

const { values } = toolArgs(
  {
    options: {
      cases: { type: 'string', default: '1000' },
      backends: { type: 'string', default: 'file,rest,union,flyteadmin' },
      seed: { type: 'string' },
      path: { type: 'string' },
      'no-shrink': { type: 'boolean', default: false },
      'max-failures': { type: 'string', default: '10' },
      transitions: { type: 'boolean', default: false },
    },
  },
  import.meta.url,
);
const total = Number(values.cases);
const backends = values.backends.split(',');
const flyteadmins = flyteadminTargets();

/** A complaint with names, numbers and lists taken out, so the same failure counts once. */
const signature = (line: string) =>
  line.replace(/\[[^\]]*\]/g, '[…]').replace(/\b[a-z]{1,3}\d\b|\d+/g, '#');

let failures = 0;
for (const name of backends) {
  const backend = (name.startsWith('flyteadmin') ? 'flyteadmin' : name) as BackendName;
  if (!(backend in SHAPES))
    throw new Error(`no backend ${name}: ${Object.keys(SHAPES).join(', ')}`);
  let fa: FlyteadminUnderTest | null = null;
  let start: (() => Promise<Target>) | undefined;
  if (backend === 'flyteadmin') {
    const t = flyteadmins.list.find(
      (x) => x.name.startsWith('flyteadmin v') === (name === 'flyteadmin'),
    )!;
    if (t.missing) {
      console.log(`${name}: skipped: ${t.missing}`);
      continue;
    }
    const started = await t.start({ projects: PROJECTS });
    fa = started;
    start = async () => flyteadminTarget(started);
  }
  const tally = { applied: 0, refused: 0, steps: 0, changed: 0, between: 0, killed: 0 };
  const states = new Map<string, number>();
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
    const cases = caseArb(SHAPES[backend]);
    const arb = values.transitions
      ? cases.filter((c) => (c.between ?? []).length > 0 || !!c.cut)
      : cases;
    const prop = fc.asyncProperty(arb, async (c) => {
      const out: Outcome = await runCase(backend, c, start);
      if (shrinking) shrinks++;
      if (out.wrong.length > 0) {
        shrinking = true;
        throw new Error(out.wrong.join('\n'));
      }
      if (shrinking) return;
      tally[out.result]++;
      if (out.between) tally.between++;
      if (out.killed) tally.killed++;
      for (const st of out.states) states.set(st, (states.get(st) ?? 0) + 1);
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
    if (!found.has(sig)) {
      const f = {
        seed: details.seed,
        path: details.counterexamplePath ?? '',
        first: message,
        c: details.counterexample![0] as Case,
      };
      found.set(sig, f);
      // Printed as found: a long run cut short keeps what it found.
      console.log(
        `${name}: counterexample after ${run} cases (seed ${f.seed}, path ${f.path}):\n    ${f.first.split('\n').join('\n    ')}\n    case: ${JSON.stringify(f.c)}`,
      );
    }
    seed = (seed + 7919) % 2 ** 31;
  }
  const s = (performance.now() - t0) / 1000;
  await fa?.close();
  console.log(
    `${name}: ${run} cases (${tally.applied} applied, ${tally.refused} refused; ${tally.between} edited between plan and apply, ${tally.killed} killed at a step boundary; ${tally.steps} steps, ${tally.changed} changes shown), ${found.size} counterexamples (${shrinks} runs shrinking them); ${s.toFixed(1)} s, ${((s * 1000) / Math.max(1, run + shrinks)).toFixed(0)} ms a run`,
  );
  if (states.size > 0)
    console.log(
      `  applied with objects ${[...states].map(([st, k]) => `${st} in ${k} cases`).join(', ')}`,
    );
  if (refusals.size > 0)
    console.log(
      `  refused: ${[...refusals]
        .sort((a, b) => b[1] - a[1])
        .map(([r, n]) => `${r} ${n}`)
        .join(', ')}`,
    );
  failures += found.size;
}
await flyteadmins.close();
process.exit(failures > 0 ? 1 : 0);
