/** What /status keeps of past runs: drift and whether each change was put back, a bounded history. */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempFolder } from '../support/temp-folder.js';
import {
  driftRecord,
  findKeptRun,
  missingRun,
  planDigest,
  readHistory,
  RECENT_PLAN_CHANGES,
  withRecentRun,
  writeHistory,
  type RecentRun,
} from '../../src/daemon/status.js';
import { OPTIONS } from '../../src/daemon/config-options.js';
import type { Change, Plan } from '../../src/model/plan.js';
import { countPlan } from '../../src/plan/counts.js';
import { renderText } from '../../src/render/text.js';
import { missingRunWords, runWords } from '../../src/render/daemon-words.js';

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

/** A kept run: `applied` ones changed an object, the others nothing. */
const kept = (id: number, result: RecentRun['result'], message = result as string) =>
  ({
    id,
    trigger: ['drift'],
    finishedAt: `2026-11-22T12:00:${String(id).padStart(2, '0')}.000Z`,
    result,
    commit: null,
    message,
    changedTotal: result === 'applied' ? 1 : 0,
    drift: null,
  }) as unknown as RecentRun;

/** The runs kept by default: --history-limit's default. */
const RECENT_RUNS = OPTIONS.find((o) => o.name === 'history-limit')!.default as number;

describe('withRecentRun', () => {
  it(`keeps the newest ${RECENT_RUNS} runs by default, newest first`, () => {
    let runs: RecentRun[] = [];
    for (let id = 1; id <= RECENT_RUNS + 3; id++)
      runs = withRecentRun(runs, kept(id, 'applied'), RECENT_RUNS);
    expect(runs.map((r) => r.id)).toEqual(
      Array.from({ length: RECENT_RUNS }, (_, i) => RECENT_RUNS + 3 - i),
    );
  });

  it('folds the runs that say nothing new into the one before them; findKeptRun finds each', () => {
    let runs: RecentRun[] = [kept(1, 'applied')];
    const failure = (n: number) =>
      `cannot read live state: ECONNREFUSED; retrying in ${5 * n}s (transient failure ${n} in a row)`;
    const steps: [RecentRun['result'], string?][] = [
      ['in_sync'],
      ['in_sync'],
      ['in_sync'],
      ['failed', failure(1)],
      ['failed', failure(2)],
      ['in_sync'],
    ];
    steps.forEach(
      ([result, message], i) =>
        (runs = withRecentRun(runs, kept(i + 2, result, message), RECENT_RUNS)),
    );
    expect(runs.map((r) => [r.id, r.result, r.repeats?.lastId ?? null])).toEqual([
      [7, 'in_sync', null],
      [5, 'failed', 6],
      [2, 'in_sync', 4],
      [1, 'applied', null],
    ]);
    expect(findKeptRun(runs, 3)?.id).toBe(2);
    expect(findKeptRun(runs, 6)?.id).toBe(5);
    expect(findKeptRun(runs, 8)).toBeUndefined();
    // An applied run is never folded, nor is a run that folds into one.
    expect(withRecentRun(runs, kept(8, 'applied'), RECENT_RUNS)).toHaveLength(5);
  });

  it('folds an outage into one line whichever read failed first, after however many attempts; another cause stays apart', () => {
    const unreachable = (label: string, attempts: number, retry: number) =>
      `cannot read live state: ${label}: cannot reach the control plane: nothing accepts connections at http://127.0.0.1:9 (ECONNREFUSED, ${attempts} attempts); is it running, and is --control-plane (env POOLSYNC_CONTROL_PLANE) right?; retrying in ${retry}s (transient failure ${retry} in a row)`;
    let runs: RecentRun[] = [kept(1, 'applied')];
    const failures = [
      unreachable('GET http://127.0.0.1:9/v1/clusters', 3, 1),
      unreachable('GET http://127.0.0.1:9/v1/pools', 1, 2),
      unreachable('GET http://127.0.0.1:9/v1/inventory?repository=a', 3, 3),
      // Another cause: not the same failure.
      unreachable('GET http://127.0.0.1:9/v1/pools', 3, 4).replace('ECONNREFUSED', 'EHOSTUNREACH'),
      // The Union backend names its call, not a URL.
      unreachable('ListClusters', 3, 5).replace('the control plane', 'Union'),
      unreachable('ListClusterPools', 1, 6).replace('the control plane', 'Union'),
    ];
    failures.forEach(
      (message, i) => (runs = withRecentRun(runs, kept(i + 2, 'failed', message), RECENT_RUNS)),
    );
    expect(runs.map((r) => [r.id, r.repeats?.lastId ?? null])).toEqual([
      [6, 7],
      [5, null],
      [2, 4],
      [1, null],
    ]);
    // The line says the first failure as it was met.
    expect(runs[2]!.message).toContain('GET http://127.0.0.1:9/v1/clusters: cannot reach');
  });

  it('folds a Git outage into one line: each fetch failure counts its attempt', () => {
    const fetchFailed = (n: number) =>
      `${runWords.fetchFailed(n, 'git fetch origin: could not resolve host github.com')}; retrying in ${5 * n}s (transient failure ${n} in a row)`;
    let runs: RecentRun[] = [kept(1, 'applied')];
    for (let n = 1; n <= 11; n++)
      runs = withRecentRun(runs, kept(n + 1, 'failed', fetchFailed(n)), RECENT_RUNS);
    expect(runs.map((r) => [r.id, r.repeats?.lastId ?? null])).toEqual([
      [2, 12],
      [1, null],
    ]);
    // The line says the first failure as it was met.
    expect(runs[0]!.message).toContain('fetch failed (attempt 1)');
  });

  it('folds a run that found no new commit into the line before it, whatever that did, so findKeptRun finds every run number', () => {
    const poll = (id: number) => ({ ...kept(id, 'unchanged'), trigger: ['poll'] }) as RecentRun;
    let runs: RecentRun[] = [kept(1, 'applied')];
    for (const run of [poll(2), poll(3), kept(4, 'in_sync'), poll(5), kept(6, 'in_sync')])
      runs = withRecentRun(runs, run, RECENT_RUNS);
    expect(runs.map((r) => [r.id, r.result, r.repeats ?? null])).toEqual([
      [4, 'in_sync', expect.objectContaining({ runs: 2, lastId: 6, unchanged: 1 })],
      [1, 'applied', expect.objectContaining({ runs: 2, lastId: 3, unchanged: 2 })],
    ]);
    expect(runs[0]!.repeats!.trigger).toEqual(['drift', 'poll']);
    for (let id = 1; id <= 6; id++) expect(findKeptRun(runs, id)?.id).toBe(id < 4 ? 1 : 4);
  });

  it('says why a run number is not kept: not finished yet, older than the oldest kept, or dropped between', () => {
    const runs = [kept(9, 'applied'), kept(7, 'applied'), kept(5, 'applied')];
    expect(missingRun(runs, 12, 10)).toEqual({ why: 'later', last: 10 });
    expect(missingRun(runs, 12)).toEqual({ why: 'later', last: 9 });
    expect(missingRun([], 3)).toEqual({ why: 'later', last: null });
    expect(missingRun(runs, 2, 10)).toEqual({ why: 'older', oldest: 5 });
    expect(missingRun(runs, 6, 10)).toEqual({ why: 'dropped', oldest: 5, newest: 10, kept: 3 });
    expect(missingRunWords(2, missingRun(runs, 2, 10))).toMatch(
      /^run #2 left the history: the oldest run the daemon keeps is #5 /,
    );
  });

  it('past the limit, drops the oldest in-sync line before anything applied, held or failed', () => {
    let runs: RecentRun[] = [];
    for (const [id, result] of [
      [1, 'applied'],
      [2, 'in_sync'],
      [3, 'waiting_for_approval'],
      [4, 'in_sync'],
      [5, 'failed'],
    ] as const)
      runs = withRecentRun(runs, kept(id, result), 3);
    expect(runs.map((r) => r.id)).toEqual([5, 3, 1]);
  });
});

describe('a kept plan cut to RECENT_PLAN_CHANGES counts the whole plan', () => {
  it('a run of 6,950 updates says 6950 to update, not 200', () => {
    const changes = Array.from({ length: 6950 }, (_, i) =>
      change(`Queue/q${String(i).padStart(4, '0')}`, 'update'),
    );
    const plan = {
      format_version: '1',
      desired_fingerprint: 'd',
      live_fingerprint: 'l',
      commit: null,
      summary: {
        create: 0,
        update: 6950,
        replace: 0,
        delete: 0,
        blocked: 0,
        unmanaged: 0,
        noop: 0,
      },
      changes,
      steps: changes.map((c, i) => ({
        id: `s${i}`,
        op: 'update_queue',
        target: c.address,
        depends_on: [],
        params: {},
      })),
      warnings: [],
      errors: [],
    } as unknown as Plan;
    const digest = planDigest(plan);
    expect(digest.plan.changes).toHaveLength(RECENT_PLAN_CHANGES);
    const text = renderText(digest.plan, { color: false, counts: countPlan(plan) });
    expect(text).toContain('Plan: 0 to create, 6950 to update, 0 to replace, 0 to delete');
    expect(renderText(digest.plan, { color: false })).toContain('200 to update');
  });
});

describe('the history kept across restarts', () => {
  it('reads back what it wrote; a file that is not a history is set aside, said, never half read', async () => {
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
    expect(back!.runs.map((r) => r.id)).toEqual(runs.map((r) => r.id));
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
