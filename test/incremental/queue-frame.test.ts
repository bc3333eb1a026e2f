import { describe, expect, it } from 'vitest';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import type { QueueFrame } from '../../src/plan/queue-frame.js';
import type { QueueDecision } from '../../src/plan/context.js';
import type { QueueOwn } from '../../src/plan/queue-frame.js';
import {
  queueMemoStats,
  reuseQueueDecisions,
  sameFrame,
} from '../../src/incremental/queue-reuse.js';

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
          activates: false,
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

describe('the queue pass memo: it compares the whole typed frame', () => {
  it('equal frames built apart are the same, and so is a structured clone', () => {
    expect(sameFrame(frame(), frame())).toBe(true);
    expect(sameFrame(structuredClone(frame()), frame())).toBe(true);
  });

  it('every field of the frame is compared, maps and sets by content, undefined apart from null', () => {
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
    const changed = changes.map(([, change]) => change(frame()));
    for (const f of changed) {
      expect(sameFrame(f, frame())).toBe(false);
      expect(sameFrame(frame(), f)).toBe(false);
    }
    // Each change differs from every other one too.
    for (const [i, f] of changed.entries())
      for (const [j, g] of changed.entries()) expect(sameFrame(f, g)).toBe(i === j);
  });

  it('undefined, null and a missing field differ; order and kind of collection count', () => {
    const base = frame();
    const { pruneScope: _dropped, ...missing } = base;
    expect(sameFrame(missing as unknown as QueueFrame, base)).toBe(false);
    expect(sameFrame({ ...base, pruneScope: null } as unknown as QueueFrame, base)).toBe(false);
    const asSet = { ...base, settingQueues: new Set(['q1']) } as unknown as QueueFrame;
    expect(sameFrame(asSet, base)).toBe(false);
    const reordered = { ...base, livePools: new Set(['p2', 'p1']) };
    expect(sameFrame(reordered, base)).toBe(false);
    const c1 = base.clusters.get('c1')!;
    const disabled = new Map([['c1', { ...c1, final: { ...c1.final!, enabled: false } }]]);
    expect(sameFrame({ ...base, clusters: disabled }, base)).toBe(false);
  });

  it('keeps a copy of the frame: a set the planner adds to after the pass is not compared as then', () => {
    const own: QueueOwn = Object.freeze({
      name: 'q1',
      desired: undefined,
      live: undefined,
      deleted: undefined,
    });
    const decision = null as QueueDecision | null;
    const pass = (f: QueueFrame) => {
      const before = queueMemoStats();
      reuseQueueDecisions('')(
        f,
        ['q1'],
        () => own,
        () => decision,
      );
      const after = queueMemoStats();
      return { reused: after.reused - before.reused, planned: after.planned - before.planned };
    };
    const first = frame();
    const deletedQueues = new Set<string>();
    expect(pass({ ...first, deletedQueues })).toEqual({ reused: 0, planned: 1 });
    // The planner's context adds to its sets after the queue pass (deletes found later).
    deletedQueues.add('q2');
    expect(pass({ ...frame(), deletedQueues: new Set(['q2']) })).toEqual({ reused: 0, planned: 1 });
    expect(pass({ ...frame(), deletedQueues: new Set(['q2']) })).toEqual({ reused: 1, planned: 0 });
  });
});
