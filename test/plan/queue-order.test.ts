/**
 * The queue pass merges the declared and live queue lists as they come, sorted (issue 79 item 5),
 * and sorts them when they are not: the same changes either way, each queue once, by name.
 */
import { describe, expect, it } from 'vitest';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import { computePlan } from '../../src/plan/index.js';
import {
  desiredCluster,
  desiredPool,
  desiredQueue,
  liveCluster,
  livePool,
  liveQueue,
} from '../support/builders.js';

function states(): { desired: DesiredState; live: LiveState } {
  const desired: DesiredState = {
    pools: [desiredPool('gpu'), desiredPool('cpu')].sort((a, b) => (a.name < b.name ? -1 : 1)),
    // c-new registers (C2: its co-named queue, C3: `default` again); c-old is live already.
    clusters: [desiredCluster('c-new', { pool: 'gpu' }), desiredCluster('c-old', { pool: 'cpu' })],
    queues: [
      desiredQueue('a-queue', { pool: 'cpu', clusters: ['c-old'] }),
      desiredQueue('c-old', { pool: 'cpu', clusters: ['c-old'], run_concurrency: 3 }),
      desiredQueue('m-queue', { pool: 'gpu', clusters: ['*'] }),
      desiredQueue('z-queue', { pool: 'gpu', clusters: ['c-new'], depth: 7 }),
    ],
    assignments: [],
    config: { prune: true, ignore: [] },
    commit: null,
  };
  const live: LiveState = {
    pools: [livePool('cpu', undefined, ['c-old']), livePool('default')],
    clusters: [liveCluster('c-old', { pool: 'cpu' })],
    queues: [
      liveQueue('b-gone', { pool: 'cpu', clusters: ['c-old'] }),
      liveQueue('c-old', { pool: 'cpu', clusters: ['c-old'], cluster_managed: true }),
      liveQueue('m-queue', { pool: 'gpu', clusters: ['*'], run_concurrency: 9 }),
    ],
    assignments: [],
    capabilities: { ...BASELINE_CAPABILITIES },
  };
  return { desired, live };
}

const queueChanges = (desired: DesiredState, live: LiveState) =>
  computePlan(desired, live).changes.filter((c) => c.kind === 'Queue');

describe('the queue pass', () => {
  it('decides each declared, live, co-named and default queue once, by name', () => {
    const { desired, live } = states();
    const names = queueChanges(desired, live).map((c) => c.name);
    expect(names).toEqual(['a-queue', 'b-gone', 'c-new', 'c-old', 'default', 'm-queue', 'z-queue']);
  });

  it('gives the same changes from lists in any order', () => {
    const { desired, live } = states();
    const sorted = queueChanges(desired, live);
    const reversed = queueChanges(
      { ...desired, queues: [...desired.queues].reverse() },
      { ...live, queues: [...live.queues].reverse() },
    );
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(sorted));
  });
});
