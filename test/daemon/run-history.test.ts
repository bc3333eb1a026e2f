/** What /status keeps of past runs: drift and whether each change was put back, a bounded history. */
import { describe, expect, it } from 'vitest';
import { driftRecord, withRecentRun } from '../../src/daemon/run-history.js';
import { RECENT_RUNS, type RecentRun } from '../../src/daemon/status.js';
import type { Change } from '../../src/model/plan.js';

const change = (address: string, action: Change['action'], caused_by?: string): Change => ({
  address,
  kind: address.split('/')[0] as Change['kind'],
  name: address.split('/')[1]!,
  action,
  before: {},
  after: {},
  diff: [],
  reason: null,
  destructive: action === 'delete',
  ...(caused_by ? { caused_by } : {}),
});
const run = { id: 7, finishedAt: '2026-11-22T12:00:00.000Z', commit: 'c'.repeat(40) };

describe('driftRecord', () => {
  it('is null without drift', () => {
    expect(driftRecord(run, [], null)).toBeNull();
  });

  it('marks a change corrected only when this run applied it', () => {
    const drift = [
      change('Queue/batch', 'update'),
      change('Cluster/old', 'delete'),
      change('Queue/old', 'update', 'Cluster/old'),
      change('Queue/failing', 'update'),
      change('Queue/fed', 'update', 'Queue/failing'),
    ];
    const record = driftRecord(run, drift, {
      notDone: new Set(['Queue/failing']),
      held: new Set(['Cluster/old', 'Queue/old']),
    })!;
    expect(record).toMatchObject({ run: 7, at: run.finishedAt, commit: run.commit });
    expect(Object.fromEntries(record.changes.map((c) => [c.address, c.corrected]))).toEqual({
      'Queue/batch': true,
      'Cluster/old': false,
      'Queue/old': false,
      'Queue/failing': false,
      'Queue/fed': false,
    });
  });

  it('corrects nothing when the run applied nothing (policy none, a failure before the apply)', () => {
    const record = driftRecord(run, [change('Queue/batch', 'update')], null)!;
    expect(record.changes[0]!.corrected).toBe(false);
  });
});

describe('withRecentRun', () => {
  it(`keeps the newest ${RECENT_RUNS} runs, newest first`, () => {
    let runs: RecentRun[] = [];
    for (let id = 1; id <= RECENT_RUNS + 3; id++) runs = withRecentRun(runs, { id } as RecentRun);
    expect(runs.map((r) => r.id)).toEqual(
      Array.from({ length: RECENT_RUNS }, (_, i) => RECENT_RUNS + 3 - i),
    );
  });
});
