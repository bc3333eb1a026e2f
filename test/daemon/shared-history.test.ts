/**
 * The compact copy of the run history kept beside the Lease (issue 76 item 4 with several
 * replicas; src/daemon/shared-history.ts): runs without their plans, bounded to what a ConfigMap
 * holds by dropping the oldest no-op runs first, then the oldest runs, never the newest
 * deployment; merged into a new leader's history by id, a number the copy gives another run
 * moving the replica's own run after them; a copy that does not read says so.
 */
import { describe, expect, it } from 'vitest';
import {
  joinedHistory,
  mergedHistory,
  parseSharedHistory,
  SHARED_HISTORY_BYTES,
  sharedHistoryText,
} from '../../src/daemon/shared-history.js';
import { lastAppliedCommit, type RecentRun } from '../../src/daemon/status.js';
import { NewerFormatError } from '../../src/util/format-version.js';

const WHERE = 'ConfigMap poolsync/lead-history, key history.json';

/** A kept run as the reconciler records it; a deployment changed `changed` objects. */
function run(id: number, result: RecentRun['result'], changed = 0): RecentRun {
  const at = new Date(Date.UTC(2026, 10, 26, 9, id)).toISOString();
  return {
    id,
    trigger: ['poll'],
    startedAt: at,
    finishedAt: at,
    durationMs: 12,
    result,
    commit: 'a'.repeat(40),
    message: `${result} ${id}`,
    applied: { create: 0, update: changed, replace: 0, delete: 0, side_effects: 0 },
    changed: Array.from({ length: changed }, (_, i) => ({
      address: `Queue/queue-with-a-long-name-${i}`,
      action: 'update',
      sideEffect: false,
      fields: ['spec.run_concurrency', 'spec.action_concurrency'],
    })),
    changedTotal: changed,
    phasesMs: { fetch: 1, plan: 2 },
    // Only shape is read of a copied run's plan: it is never copied.
    plan: result === 'failed' ? null : ({ changes: [] } as unknown as RecentRun['plan']),
    planChangesOmitted: 0,
    drift: null,
  };
}

describe('the copy beside the Lease', () => {
  it('keeps every run without its plan, and reads back as a history', () => {
    const runs = [run(3, 'failed'), run(2, 'in_sync'), run(1, 'applied', 2)];
    const copy = parseSharedHistory(sharedHistoryText({ runs, lastDrift: null }), WHERE)!;
    expect(copy.runs.map((r) => [r.id, r.plan, r.planElsewhere])).toEqual([
      [3, null, undefined],
      [2, null, true],
      [1, null, true],
    ]);
    expect(copy.runs[2]!.changed).toEqual(runs[2]!.changed);
    expect(parseSharedHistory(null, WHERE)).toBeNull();
  });

  it('over the bound drops the oldest no-op runs, then the oldest runs, never the newest deployment', () => {
    // Newest first: deployments 9 and 6 (and 2), no-ops between them.
    const runs = [
      run(10, 'in_sync'),
      run(9, 'applied', 20),
      run(8, 'failed'),
      run(7, 'in_sync'),
      run(6, 'applied', 20),
      run(5, 'invalid'),
      run(2, 'applied', 20),
    ];
    const ids = (max: number) =>
      parseSharedHistory(sharedHistoryText({ runs, lastDrift: null }, max), WHERE)!.runs.map(
        (r) => r.id,
      );
    const size = (n: number) =>
      Buffer.byteLength(sharedHistoryText({ runs: runs.slice(0, n), lastDrift: null }));
    const whole = size(runs.length);
    expect(ids(whole)).toEqual([10, 9, 8, 7, 6, 5, 2]);
    // One byte short: the oldest no-op (5) goes first, then 7, 8, 10.
    expect(ids(whole - 1)).toEqual([10, 9, 8, 7, 6, 2]);
    const deployments = Buffer.byteLength(
      sharedHistoryText({ runs: [runs[1]!, runs[4]!, runs[6]!], lastDrift: null }),
    );
    expect(ids(deployments)).toEqual([9, 6, 2]);
    // Then the oldest deployments; the newest one whatever the bound.
    expect(ids(deployments - 1)).toEqual([9, 6]);
    expect(ids(10)).toEqual([9]);
  });

  it('holds at most its bound: 1,000 runs of 100 changed objects each', () => {
    const runs = Array.from({ length: 1000 }, (_, i) =>
      run(1000 - i, i % 3 === 0 ? 'applied' : 'in_sync', i % 3 === 0 ? 100 : 0),
    );
    const text = sharedHistoryText({ runs, lastDrift: null });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(SHARED_HISTORY_BYTES);
    const kept = parseSharedHistory(text, WHERE)!.runs;
    // Every no-op went before any deployment; the newest deployment stays.
    expect(kept.every((r) => r.result === 'applied')).toBe(true);
    expect(kept[0]!.id).toBe(1000);
  });

  it('a new leader merges the runs it lacks by id: its own win, ids go on', () => {
    const other = { runs: [run(4, 'applied', 1), run(3, 'applied', 1)], lastDrift: null };
    const copied = parseSharedHistory(sharedHistoryText(other), WHERE)!;
    const own = { runs: [run(5, 'in_sync'), run(4, 'in_sync')], lastDrift: null };
    const merged = mergedHistory(own, copied, 50);
    expect(merged.runs.map((r) => [r.id, r.result, r.planElsewhere ?? false])).toEqual([
      [5, 'in_sync', false],
      [4, 'in_sync', false],
      [3, 'applied', true],
    ]);
    // The retention of any history holds for the merged one (--history-limit).
    expect(mergedHistory({ runs: [], lastDrift: null }, copied, 1).runs.map((r) => r.id)).toEqual([
      4,
    ]);
  });

  it("a new term joins the copy: a number it gives another run is that run's, the replica's own moves after", () => {
    // Run 2 of this replica was recorded after its term ended; the next leader's run 2 is in
    // the copy (started later), and so is its run 3, folded into run 2.
    const later = (r: RecentRun, at: string): RecentRun => ({ ...r, startedAt: at });
    const theirs = {
      ...later(run(2, 'in_sync'), '2026-11-26T10:00:00.000Z'),
      repeats: {
        runs: 1,
        lastId: 3,
        lastFinishedAt: '2026-11-26T10:01:00.000Z',
        trigger: ['poll' as const],
      },
    };
    const deposed = {
      ...run(2, 'failed'),
      drift: { run: 2, at: '2026-11-26T09:02:00.000Z', commit: null, changes: [] },
    };
    const own = { runs: [deposed, run(1, 'applied', 1)], lastDrift: deposed.drift };
    const copy = parseSharedHistory(
      sharedHistoryText({ runs: [theirs, run(1, 'applied', 1)], lastDrift: null }),
      WHERE,
    )!;
    const joined = joinedHistory(own, copy, 50);
    expect(joined.runs.map((r) => [r.id, r.result, r.startedAt])).toEqual([
      [4, 'failed', deposed.startedAt],
      [2, 'in_sync', theirs.startedAt],
      [1, 'applied', run(1, 'applied').startedAt],
    ]);
    expect(joined.runs[0]!.drift?.run).toBe(4);
    expect(joined.lastDrift?.run).toBe(4);
    expect([...joined.renumbered]).toEqual([[2, 4]]);
    expect(joined.highest).toBe(4);
    // The replica's own run 1 kept its plan: the same run as the copy's.
    expect(joined.runs[2]!.plan).not.toBeNull();

    // Its own repeats reaching into a run of the copy: the copy's repeats (none) instead.
    const folded = {
      ...run(1, 'in_sync'),
      repeats: {
        runs: 2,
        lastId: 3,
        lastFinishedAt: '2026-11-26T09:03:00.000Z',
        trigger: ['poll' as const],
      },
    };
    const other = parseSharedHistory(
      sharedHistoryText({ runs: [theirs, run(1, 'in_sync')], lastDrift: null }),
      WHERE,
    )!;
    const capped = joinedHistory({ runs: [folded], lastDrift: null }, other, 50);
    expect(capped.runs.map((r) => [r.id, r.repeats?.lastId ?? null])).toEqual([
      [2, 3],
      [1, null],
    ]);
    expect(capped.renumbered.size).toBe(0);
    expect(capped.highest).toBe(3);
  });

  it('the commit last applied is the run of the latest term, whatever the replicas’ clocks say', () => {
    // Replica a (term 1) applied D in its run 2, recorded after its term ended; replica b
    // (term 2) then applied E in its own run 2. b's clock 300 s behind a's, or a's 90 s ahead:
    // E finished earlier by the clocks, and a's run is renumbered 3 when a joins again.
    for (const skewMs of [300_000, 90_000]) {
      const at = (ms: number) => new Date(Date.UTC(2026, 10, 26, 10) + ms).toISOString();
      const termed = (id: number, term: number, commit: string, ms: number): RecentRun => ({
        ...run(id, 'applied', 1),
        commit: commit.repeat(40),
        startedAt: at(ms),
        finishedAt: at(ms),
        term,
      });
      const first = termed(1, 1, 'a', 0);
      const mine = termed(2, 1, 'd', 10_000);
      const theirs = termed(2, 2, 'e', 20_000 - skewMs);
      const copy = { runs: [theirs, first], lastDrift: null };
      const joined = joinedHistory({ runs: [mine, first], lastDrift: null }, copy, 50);
      expect(joined.runs.map((r) => [r.id, r.term, r.commit])).toEqual([
        [3, 1, mine.commit],
        [2, 2, theirs.commit],
        [1, 1, first.commit],
      ]);
      expect(lastAppliedCommit(joined.runs)).toBe(theirs.commit);
      // a's new term comes after both.
      expect(joined.term).toBe(3);
      // b's run of term 2 read before the renumbered one: the same.
      expect(lastAppliedCommit([...joined.runs].reverse())).toBe(theirs.commit);
    }
  });

  it('runs without a term (no election, older builds) are ordered by finish time, as before', () => {
    const earlier = { ...run(2, 'applied', 1), commit: 'f'.repeat(40) };
    const later = {
      ...run(1, 'applied', 1),
      commit: 'g'.repeat(40),
      finishedAt: '2026-11-26T11:00:00.000Z',
    };
    expect(lastAppliedCommit([earlier, later])).toBe(later.commit);
    expect(lastAppliedCommit([{ ...earlier, term: 1 }, later])).toBe(later.commit);
    // A history of runs without terms is joined as term 1.
    const joined = joinedHistory(
      { runs: [earlier], lastDrift: null },
      { runs: [], lastDrift: null },
      50,
    );
    expect(joined.term).toBe(1);
  });

  it('a copy that does not read is an error naming where and what to do; a newer one is left to its build', () => {
    expect(() => parseSharedHistory('{"format":1,"runs":[{}]}', WHERE)).toThrow(
      /^the run history kept in ConfigMap poolsync\/lead-history, key history.json does not read \(history.runs\[0\]\.id is missing\): nothing was merged or written there; remove that key/,
    );
    expect(() => parseSharedHistory('not json', WHERE)).toThrow(/does not read \(is not JSON\)/);
    expect(() => parseSharedHistory('{"format":2,"runs":[]}', WHERE)).toThrow(NewerFormatError);
  });
});
