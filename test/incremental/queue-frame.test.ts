import { describe, expect, it } from 'vitest';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import type { QueueFrame } from '../../src/plan/queue-frame.js';
import { frameKey } from '../../src/incremental/queue-reuse.js';

function frame(): QueueFrame {
  return {
    caps: { ...BASELINE_CAPABILITIES },
    pruneScope: undefined,
    queueInventory: null,
    absentDefault: false,
    settingQueues: new Map([['q1', ['the organisation']]]),
    finalPools: new Set(['p1']),
    livePools: new Set(['p1', 'p2']),
    undeletedPools: new Set(),
    clusters: new Map([
      [
        'c1',
        {
          action: 'noop',
          registers: false,
          deletes: false,
          moves: false,
          undeletes: null,
          final: { pool: 'p1', enabled: true, health: 'healthy' },
        },
      ],
    ]),
    desiredClusterPools: new Map([['c1', 'p1']]),
    liveClusterPools: new Map([['c1', 'p1']]),
    deletedClusters: new Set(),
    movedClusters: new Set(),
    deletedQueues: new Set(),
    drainedBy: new Map(),
    firstRegistration: null,
  };
}

describe('the queue pass memo: the key is the whole typed frame', () => {
  it('equal frames built apart have one key', () => {
    expect(frameKey(frame())).toBe(frameKey(frame()));
  });

  it('every field of the frame is in the key, maps and sets by content, undefined apart from null', () => {
    const base = frameKey(frame());
    const changes: [keyof QueueFrame, (f: QueueFrame) => QueueFrame][] = [
      ['caps', (f) => ({ ...f, caps: { ...f.caps, drain: true } })],
      ['pruneScope', (f) => ({ ...f, pruneScope: { kinds: ['Queue'], source: 'manage' } })],
      ['queueInventory', (f) => ({ ...f, queueInventory: new Set() })],
      ['absentDefault', (f) => ({ ...f, absentDefault: true })],
      ['settingQueues', (f) => ({ ...f, settingQueues: new Map() })],
      ['finalPools', (f) => ({ ...f, finalPools: new Set(['p2']) })],
      // Read by the undelete rules, and left out of the hand-kept key this replaced.
      ['livePools', (f) => ({ ...f, livePools: new Set(['p1']) })],
      ['undeletedPools', (f) => ({ ...f, undeletedPools: new Set(['p2']) })],
      ['clusters', (f) => ({ ...f, clusters: new Map() })],
      ['desiredClusterPools', (f) => ({ ...f, desiredClusterPools: new Map([['c1', 'p2']]) })],
      // A live cluster's pool (not only its name) is read by the undelete rules.
      ['liveClusterPools', (f) => ({ ...f, liveClusterPools: new Map([['c1', 'p2']]) })],
      ['deletedClusters', (f) => ({ ...f, deletedClusters: new Set(['c1']) })],
      ['movedClusters', (f) => ({ ...f, movedClusters: new Set(['c1']) })],
      ['deletedQueues', (f) => ({ ...f, deletedQueues: new Set(['q1']) })],
      ['drainedBy', (f) => ({ ...f, drainedBy: new Map([['q1', ['c1']]]) })],
      ['firstRegistration', (f) => ({ ...f, firstRegistration: 'c1' })],
    ];
    // Every field of the frame is exercised above: a field added to QueueFrame needs a line here.
    expect(changes.map(([k]) => k).sort()).toEqual(Object.keys(frame()).sort());
    const keys = changes.map(([, change]) => frameKey(change(frame())));
    for (const key of keys) expect(key).not.toBe(base);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
