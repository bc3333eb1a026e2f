/**
 * Issue 38, item 5 and issue 46, item 9: with 10 % faults in front of the Union stand-in
 * (connections reset before forwarding, 500s without a Connect code before and after the
 * server carried the call out, bodies cut off or reset after their headers), applies converge
 * like the REST and flyteadmin ones: each of 8 fault sequences reaches a plan without a step
 * within 5 tries, with pools, clusters, queues (created, updated, deleted) and a default-queue
 * setting; no create or delete lands twice, nothing is lost (fault-runs.ts). At 30 %:
 * bench/union-faults.ts.
 */
import { describe, expect, it } from 'vitest';
import { faultRun } from './fault-runs.js';

describe('union: applies converge with 10 % faults in front of the stand-in', () => {
  it('8 fault sequences: each converges within 5 tries, nothing created or deleted twice, nothing lost', async () => {
    let faults = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const run = await faultRun(seed, 0.1);
      faults += run.faults;
      expect({ seed, ...run, faults: undefined }).toEqual({
        seed,
        converged: expect.any(Number),
        faults: undefined,
        twice: [],
        wrong: [],
      });
      expect(run.converged, `seed ${seed}`).toBeGreaterThanOrEqual(1);
    }
    expect(faults).toBeGreaterThan(8);
  }, 300_000);
});
