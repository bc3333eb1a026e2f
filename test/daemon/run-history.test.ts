/** What /status keeps of past runs: drift and whether each change was put back, a bounded history. */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempFolder } from '../support/temp-folder.js';
import {
  driftRecord,
  readHistory,
  RECENT_RUNS,
  withRecentRun,
  writeHistory,
  type RecentRun,
} from '../../src/daemon/status.js';
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

describe('the history kept across restarts', () => {
  it('reads back what it wrote, bounded; a file that is not a history is set aside, said, never half read', async () => {
    const dir = tempFolder('poolsync-history-');
    const warned: string[] = [];
    const warn = (m: string) => warned.push(m);
    expect(await readHistory(dir, warn)).toBeNull();
    const recent = (id: number) =>
      ({
        id,
        trigger: ['poll'],
        startedAt: '2026-11-22T12:00:00.000Z',
        finishedAt: '2026-11-22T12:00:01.000Z',
        durationMs: 1000,
        result: 'applied',
        commit: 'c'.repeat(40),
        message: 'applied',
        applied: { create: 1, update: 0, replace: 0, delete: 0, side_effects: 0 },
        changed: [],
        changedTotal: 0,
        phasesMs: {},
        plan: null,
        planChangesOmitted: 0,
        drift: null,
      }) as RecentRun;
    const runs = Array.from({ length: RECENT_RUNS + 3 }, (_, i) => recent(20 - i));
    await writeHistory(dir, { runs, lastDrift: null });
    const back = await readHistory(dir, warn);
    expect(back!.runs.map((r) => r.id)).toEqual(runs.slice(0, RECENT_RUNS).map((r) => r.id));
    expect(warned).toEqual([]);
    // What a reader would trip on (a run without its triggers, a plan that is not one), or
    // not JSON at all: set aside beside it, said once, and read as no history.
    const broken = [
      '{"format": 1, "runs": [{"id": "x"}]}',
      JSON.stringify({ format: 1, runs: [{ ...recent(1), trigger: undefined }] }),
      JSON.stringify({ format: 1, runs: [{ ...recent(1), plan: { changes: 'no' } }] }),
      '{"format": 1, "runs": [',
    ];
    for (const [i, text] of broken.entries()) {
      writeFileSync(join(dir, 'history.json'), text);
      expect(await readHistory(dir, warn)).toBeNull();
      expect(existsSync(join(dir, 'history.json'))).toBe(false);
      expect(warned).toHaveLength(i + 1);
    }
    expect(warned[0]).toMatch(
      /^the run history .*history\.json is not one poolsync can read \(history\.runs\[0\]\.id is not a number\): set aside as .*history\.json\.corrupt-\S+, starting anew$/,
    );
    expect(warned[1]).toContain('(history.runs[0].trigger is missing)');
    expect(warned[2]).toContain('(history.runs[0].plan is not a plan)');
    expect(warned[3]).toContain('(not JSON)');
    const aside = readdirSync(dir).filter((f) => f.startsWith('history.json.corrupt-'));
    expect(aside.length).toBeGreaterThanOrEqual(1);
  });
});
