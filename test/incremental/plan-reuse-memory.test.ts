/**
 * What the daemon's plan reuse keeps between runs (issue 79 item 1): a live state read over HTTP
 * (new, changeable objects at every drift check) is never among the states it remembers, so a
 * state it no longer plans against is garbage. At 10,000 objects the last 16 of them were kept.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { DesiredState } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import { PlanReuse } from '../../src/incremental/plan-reuse.js';
import { contract, desired, live } from '../plan/build.js';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

const read = (): LiveState =>
  live({
    pools: { gpu: contract('gpu') },
    clusters: { c1: { pool: 'gpu' } },
    queues: { q1: { pool: 'gpu' } },
  });

/** `n` plans against fresh reads: WeakRefs to the reads, no other reference left behind. */
function driftChecks(plans: PlanReuse, d: DesiredState, n: number): WeakRef<LiveState>[] {
  const states = Array.from({ length: n }, read);
  const first = plans.plan(d, states[0]!);
  const reused = states.slice(1).every((state) => plans.plan(d, state) === first);
  if (!reused) throw new Error('a plan was made again for an unchanged state');
  return states.map((s) => new WeakRef(s));
}

describe('the daemon’s plan reuse, in memory', () => {
  it('keeps no live state read over HTTP once a later read replaced it', async () => {
    const plans = new PlanReuse();
    const d = desired({ pools: { gpu: contract('gpu') }, queues: { q1: { pool: 'gpu' } } });
    // Twenty drift checks, each a fresh read of the same state; the plan is reused each time.
    const refs = driftChecks(plans, d, 20);
    // A WeakRef holds its target until the job that made it ends.
    await new Promise((r) => setImmediate(r));
    collect();
    // The latest read stays (the plan is remembered against it: it equals the first); no
    // other one does.
    expect(refs.map((r) => r.deref() !== undefined)).toEqual([...Array(19).fill(false), true]);
  });
});
