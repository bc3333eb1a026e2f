/**
 * The words of a drained queue's re-activation (QUEUE_REACTIVATED, docs/plan.md "A queue's serving
 * state"): one another client drained is said to be drained from outside, not left drained by
 * poolsync nor routed again; one kept drained by a selector that routed nowhere, and one a move cut
 * short left drained, keep the words that say so.
 */
import { describe, expect, it } from 'vitest';
import type { QueueState } from '../../src/model/live.js';
import { computePlan } from '../../src/plan/index.js';
import { noteText } from '../../src/render/common.js';
import { contract, desired, live, type DesiredInput, type LiveInput } from './build.js';
import { change, hasStep } from './helpers.js';

const GPU = contract('gpu');
const CPU = contract('cpu');
const settings = { run_concurrency: 10, action_concurrency: 100 };

function plan(repo: DesiredInput, state: LiveInput, drained: Record<string, QueueState>) {
  const l = live(state);
  l.capabilities = { ...l.capabilities, drain: true, queue_move: true };
  l.queues = l.queues.map((q) => (drained[q.name] ? { ...q, state: drained[q.name] } : q));
  return computePlan(desired({ prune: true, ...repo }), l);
}

describe('a drained queue re-activated: what the plan says happened', () => {
  it('drained by another client, routing as before: found drained from outside', () => {
    const state = {
      pools: { gpu: GPU },
      clusters: { c1: { pool: 'gpu' } },
      queues: { batch: { pool: 'gpu', clusters: ['c1'], ...settings } },
    };
    const p = plan(
      { pools: { gpu: GPU }, clusters: { c1: { pool: 'gpu' } }, queues: state.queues },
      state,
      { batch: 'drained' },
    );
    expect(hasStep(p, 'activate_queue Queue/batch')).toBe(true);
    expect(noteText(change(p, 'Queue/batch'))).toBe(
      'found drained, drained by another client or an apply cut short: re-activated, as the repository wants it active',
    );
  });

  it('left drained routing nowhere (`*` in a pool without clusters), a cluster joining: it routes to clusters again', () => {
    const queues = { batch: { pool: 'gpu', clusters: ['*'], ...settings } };
    const p = plan(
      { pools: { gpu: GPU }, clusters: { c1: { pool: 'gpu' } }, queues },
      { pools: { gpu: GPU }, queues },
      { batch: 'drained' },
    );
    expect(hasStep(p, 'activate_queue Queue/batch')).toBe(true);
    expect(noteText(change(p, 'Queue/batch'))).toBe(
      'left drained (drain): re-activated, since it routes to clusters again',
    );
  });

  it('a move cut short after its drain: moved, then re-activated, as it was left', () => {
    const state = {
      pools: { gpu: GPU, cpu: CPU },
      clusters: { c1: { pool: 'gpu' }, c3: { pool: 'cpu' } },
      queues: { mover: { pool: 'gpu', clusters: ['c1'], ...settings } },
    };
    const p = plan(
      {
        pools: state.pools,
        clusters: state.clusters,
        queues: { mover: { pool: 'cpu', clusters: ['c3'], ...settings } },
      },
      state,
      { mover: 'drained' },
    );
    expect(hasStep(p, 'move_queue Queue/mover')).toBe(true);
    expect(noteText(change(p, 'Queue/mover'))).toContain(
      'left drained (drain): re-activated, since it routes to clusters again',
    );
  });
});
