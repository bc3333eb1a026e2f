/** The daemon's reuse of its last plan (src/incremental/plan-reuse.ts). */
import { describe, expect, it } from 'vitest';
import type { LiveState } from '../../src/model/live.js';
import { PlanReuse } from '../../src/incremental/plan-reuse.js';
import { computePlan } from '../../src/plan/index.js';
import { contract, desired, live } from '../plan/build.js';

/** A state whose list elements are frozen, as the embedded control plane's list views are. */
function frozen(state: LiveState): LiveState {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state))
    out[k] = Array.isArray(v) ? v.map((e: object) => Object.freeze({ ...e })) : v;
  return out as unknown as LiveState;
}

const base = () =>
  live({
    pools: { gpu: contract('gpu') },
    clusters: { c1: { pool: 'gpu' } },
    queues: { q1: { pool: 'gpu' } },
  });

describe('the daemon’s plan reuse', () => {
  it('the daemon’s plans carry the same fingerprint as a cold plan', () => {
    const d = desired({ pools: { gpu: contract('gpu') }, queues: { q2: { pool: 'gpu' } } });
    const state = frozen(base());
    expect(new PlanReuse().plan(d, state).live_fingerprint).toBe(
      computePlan(d, state).live_fingerprint,
    );
  });
});
