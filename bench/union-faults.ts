/**
 * Applies through a fault proxy in front of the Union stand-in (issue 46, item 9): per seed,
 * a share of requests is reset, answered 500 before or after the server carried it out, or
 * cut after its headers; poolsync plans and applies until a plan has no step (test/controlplane/
 * union/fault-runs.ts). Prints, per run, the try that converged, the faults met, and whether a
 * create or delete landed twice or the end state is wrong; exits 1 when any run failed.
 *
 *   node --import tsx bench/union-faults.ts [--rate 0.3] [--runs 8]
 */
import { toolArgs } from './lib/args.js';
import { faultRun } from '../test/controlplane/union/fault-runs.js';

const { values } = toolArgs(
  {
    options: { rate: { type: 'string', default: '0.3' }, runs: { type: 'string', default: '8' } },
  },
  import.meta.url,
);
const rate = Number(values.rate);
const runs = Number(values.runs);
let ok = 0;
console.log(
  `| seed | converged on try | faults | twice | wrong |\n| ---: | ---: | ---: | --- | --- |`,
);
for (let seed = 1; seed <= runs; seed++) {
  const r = await faultRun(seed, rate);
  const good = r.converged > 0 && r.twice.length === 0 && r.wrong.length === 0;
  if (good) ok++;
  console.log(
    `| ${seed} | ${r.converged || 'no'} | ${r.faults} | ${r.twice.join('; ') || '—'} | ${r.wrong.join('; ') || '—'} |`,
  );
}
console.log(
  `\n${ok} of ${runs} runs at ${Math.round(rate * 100)} % faults converged within 5 applies, nothing twice, nothing lost`,
);
process.exit(ok === runs ? 0 : 1);
