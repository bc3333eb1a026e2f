/**
 * A saved plan's activation marked `completes_change` as the step builder marks it (steps.ts
 * addQueueLifecycleNodes), checked by `apply PLANFILE` from the live state (unplannedStep): a
 * queue drained to move it, and active before, is activated even while the apply stops.
 */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { computePlan } from '../../src/plan/index.js';
import { unplannedStep } from '../../src/plan/steps.js';
import { contract, desired, live } from './build.js';

describe('an activation’s completes_change in a saved plan', () => {
  const caps = { drain: true, queue_move: true, queue_delete: false };
  const pools = { gpu: contract('gpu'), cpu: contract('cpu') };
  const state = {
    ...live({
      pools,
      clusters: { c2: { pool: 'gpu' }, c3: { pool: 'cpu' } },
      queues: { m1: { pool: 'gpu', clusters: ['c2'] }, m2: { pool: 'gpu', clusters: ['c2'] } },
    }),
  };
  state.capabilities = { ...state.capabilities, ...caps };
  const moved = { pool: 'cpu', clusters: ['c3'] };
  const plan = computePlan(
    desired({
      pools,
      clusters: { c2: { pool: 'gpu' }, c3: { pool: 'cpu' } },
      queues: { m1: moved, m2: moved },
    }),
    state,
  );
  const activation = (p: Plan, q: string) =>
    p.steps.find((s) => s.op === 'activate_queue' && s.target === `Queue/${q}`)!;

  it('as planned: accepted', () => {
    expect(activation(plan, 'm1').completes_change).toBe(true);
    expect(activation(plan, 'm2').completes_change).toBe(true);
    expect(unplannedStep(plan, state, undefined)).toBeNull();
  });

  it('a mark removed (a stopping apply would leave the queue drained in its new pool): refused', () => {
    const edited = structuredClone(plan);
    delete activation(edited, 'm2').completes_change;
    expect(unplannedStep(edited, state, undefined)).toMatch(
      /^step s\d+ \(activate_queue Queue\/m2\) is not marked completes_change, but its changes drain an active queue to move it: a stopping apply would leave it drained$/,
    );
  });
});
