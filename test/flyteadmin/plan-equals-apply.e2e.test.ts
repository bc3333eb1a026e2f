/**
 * Plan equals apply on the real flyteadmin (issue 46; test/plan/property/plan-equals-apply.ts):
 * generated execution cluster label rows (project/domain and workflow level) and repositories
 * (prune on or off, cascades accepted or not), planned, applied and held to the plan on one real
 * flyteadmin, each case starting from the rows the history sets. Skips where flyteadmin is not
 * built (scripts/flyte-go.sh).
 */
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { openControlPlane } from '../../src/controlplane/open.js';
import { checkLabels, labelCaseArb } from '../plan/property/plan-equals-apply.js';
import { flyteadminTargets } from './targets.js';

const targets = flyteadminTargets();
afterAll(() => targets.close());
const real = targets.list.find((t) => t.name.startsWith('flyteadmin v'))!;
const CASES = Math.max(1, Math.round(40 * Number(process.env.PROPERTY_CASES ?? 1)));

describe.skipIf(real.missing !== null)(
  `plan equals apply on ${real.name}${real.missing ? ` (skipped: ${real.missing})` : ''}`,
  () => {
    it(`${CASES} generated cases`, async () => {
      const fa = await real.start();
      const cp = await openControlPlane(fa.url, { env: process.env });
      try {
        await fc.assert(
          fc.asyncProperty(labelCaseArb, async (c) => {
            const { wrong } = await checkLabels(cp, c);
            if (wrong.length > 0) throw new Error(wrong.join('\n'));
          }),
          { numRuns: CASES },
        );
      } finally {
        await cp.close();
        await fa.close();
      }
    }, 600_000);
  },
);
