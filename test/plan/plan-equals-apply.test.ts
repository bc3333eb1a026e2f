/**
 * Plan equals apply (issue 46; test/plan/property/plan-equals-apply.ts): generated live
 * histories and repositories within each capability set, planned, applied by the executor,
 * and held to what the plan showed. Cases per backend: PROPERTY_CASES (default below); the
 * bench (bench/plan-equals-apply.ts) runs thousands. A failing case prints its seed and path
 * (fast-check's replay) and its shrunk repository, which becomes a named regression test in
 * test/plan/plan-equals-apply-regressions.test.ts.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { property, type Backend } from './property/plan-equals-apply.js';

const CASES: Record<Backend, number> = {
  embedded: 150,
  'union-embedded': 150,
  union: 40,
};
const scale = Number(process.env.PROPERTY_CASES ?? 1);

describe('plan equals apply (fast-check)', () => {
  for (const backend of Object.keys(CASES) as Backend[]) {
    const numRuns = Math.max(1, Math.round(CASES[backend] * scale));
    it(`${backend}: ${numRuns} generated cases`, async () => {
      await fc.assert(property(backend), { numRuns, endOnFailure: process.env.CI === 'true' });
    }, 600_000);
  }
});
