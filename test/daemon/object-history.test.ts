/**
 * History per object and retention (issue 76 items 3 and 4): `poolsync history ADDRESS` lists
 * exactly the kept runs that changed the object; a history.json the daemon wrote before this
 * release (test/fixtures/daemon/history-before-rollback.json, made by main's build: creates, an
 * update, drift put back, a held delete approved, folded in-sync runs, an invalid commit) still
 * reads and answers; retention by count drops no-ops before any deployment, by age all but the
 * last deployment.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import {
  objectChanges,
  readHistory,
  retained,
  withRecentRun,
  type RecentRun,
} from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon, startTestDaemon } from './harness.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/daemon/history-before-rollback.json');

describe('a history.json written before rollback', () => {
  it('reads whole, and says which runs changed each object, with the fields of its updates', async () => {
    const dir = tempFolder('poolsync-history-');
    copyFileSync(FIXTURE, join(dir, 'history.json'));
    const warned: string[] = [];
    const kept = await readHistory(dir, (m) => warned.push(m));
    expect(warned).toEqual([]);
    expect(kept!.runs.map((r) => [r.id, r.result])).toEqual([
      [9, 'invalid'],
      [8, 'in_sync'],
      [7, 'applied'],
      [6, 'waiting_for_approval'],
      [5, 'applied'],
      [3, 'in_sync'],
      [2, 'applied'],
      [1, 'applied'],
    ]);
    const critical = objectChanges(kept!.runs, 'Queue/critical');
    expect(critical.unknown).toBe(0);
    expect(critical.changes.map((c) => [c.run, c.action, c.fields, c.trigger])).toEqual([
      [5, 'update', ['run_concurrency'], ['drift']],
      [2, 'update', ['run_concurrency'], ['webhook']],
      [1, 'create', [], ['startup']],
    ]);
    expect(objectChanges(kept!.runs, 'Cluster/prod-2').changes.map((c) => c.run)).toEqual([7, 1]);
    expect(objectChanges(kept!.runs, 'Queue/nope').changes).toEqual([]);
  });

  it('a daemon started on it serves `poolsync history Queue/critical` (no more "run #NaN")', async () => {
    const root = tempFolder('poolsync-history-daemon-');
    const folder = join(root, 'repo');
    const { writeFileSync } = await import('node:fs');
    for (const [path, content] of Object.entries(manifests())) {
      mkdirSync(join(folder, path, '..'), { recursive: true });
      writeFileSync(join(folder, path), content);
    }
    mkdirSync(join(root, 'state', 'daemon'), { recursive: true });
    copyFileSync(FIXTURE, join(root, 'state', 'daemon', 'history.json'));
    const h = await startTestDaemon({
      flags: { watch: folder, 'watch-debounce': '1h', 'history-limit': 50 },
      state: join(root, 'state'),
      logLevel: 'silent',
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const io = memoryIo();
    const code = await exitOf(
      io,
      main(['history', 'Queue/critical', '--daemon', h.daemon.url], io),
    );
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    expect(io.out().replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, 'TIME')).toBe(
      [
        '#5 update run_concurrency TIME commit c63383ed2ddd (drift)',
        '#2 update run_concurrency TIME commit c63383ed2ddd (webhook)',
        '#1 create TIME commit 1c1babcc3e95 (startup)',
        '',
      ].join('\n'),
    );
    const json = memoryIo();
    await exitOf(
      json,
      main(['history', 'Cluster/prod-2', '--output', 'json', '--daemon', h.daemon.url], json),
    );
    expect(JSON.parse(json.out())).toMatchObject({
      changes: {
        address: 'Cluster/prod-2',
        // This daemon's first run (numbers go on from the kept ones) made it again.
        changes: [
          { run: 10, action: 'create', trigger: ['startup'] },
          { run: 7, action: 'delete' },
          { run: 1, action: 'create' },
        ],
      },
    });
    // Filtered by result; a word that is not a result, or an address of no kind, is one line.
    const applied = memoryIo();
    await exitOf(
      applied,
      main(['history', '--result', 'invalid', '--daemon', h.daemon.url], applied),
    );
    expect(applied.out()).toMatch(/^#9 invalid .*commit [0-9a-f]{12}: 4 validation errors/);
    expect(applied.out().trimEnd().split('\n')).toHaveLength(1);
    const bad = memoryIo();
    expect(
      await exitOf(bad, main(['history', '--result', 'aplied', '--daemon', h.daemon.url], bad)),
    ).toBe(1);
    expect(bad.err()).toMatch(
      /^Error: --result aplied is not a run's result \(did you mean 'applied'\?\); one of applied, in_sync/,
    );
    const none = memoryIo();
    await exitOf(none, main(['history', 'Queue/never', '--daemon', h.daemon.url], none));
    expect(none.out()).toMatch(
      /^No kept run changed Queue\/never \(\d+ runs kept, the oldest #1 of [^)]*\)\.\n$/,
    );
    // A typo of an object the daemon knows: the closest one (it said only "No kept run changed").
    const typo = memoryIo();
    expect(
      await exitOf(typo, main(['history', 'Queue/critcal', '--daemon', h.daemon.url], typo)),
    ).toBe(0);
    expect(typo.out()).toMatch(
      /^No kept run changed Queue\/critcal \(\d+ runs kept, the oldest #1 of [^)]*\): did you mean Queue\/critical\?\n$/,
    );
    const kind = memoryIo();
    expect(
      await exitOf(kind, main(['history', 'Queues/critical', '--daemon', h.daemon.url], kind)),
    ).toBe(1);
    expect(kind.err()).toMatch(
      /"Queues\/critical" is neither a run number nor an object's address: write `poolsync history 12` \(a run\) or KIND\/NAME such as Queue\/critical \(did you mean 'Queue\/critical'\?\); KIND is one of ClusterPool, Cluster, Queue/,
    );
  });
});

describe('state show ADDRESS --daemon URL', () => {
  it('says which kept run last changed the object, beside its live fields', async () => {
    const root = tempFolder('poolsync-state-show-');
    const folder = join(root, 'repo');
    const { writeFileSync } = await import('node:fs');
    for (const [path, content] of Object.entries(manifests())) {
      mkdirSync(join(folder, path, '..'), { recursive: true });
      writeFileSync(join(folder, path), content);
    }
    const h = await startOwnTestDaemon({
      flags: { watch: folder, 'watch-debounce': '1h' },
      logLevel: 'silent',
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const run = h.daemon.status().lastRun!;
    expect(run.result).toBe('applied');
    const cp = ['--control-plane', `file:${h.cpPath}`];
    const io = memoryIo();
    const code = await exitOf(
      io,
      main(['state', 'show', 'Queue/batch', folder, ...cp, '--daemon', h.daemon.url], io),
    );
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    expect(io.out()).toMatch(
      new RegExp(
        `^Queue/batch: .*\nLast changed by run #${run.id} \\(create, commit —\\)\n  name `,
        'm',
      ),
    );
    const json = memoryIo();
    await exitOf(
      json,
      main(
        [
          'state',
          'show',
          'Queue/batch',
          folder,
          ...cp,
          '--daemon',
          h.daemon.url,
          '--output',
          'json',
        ],
        json,
      ),
    );
    expect(JSON.parse(json.out())).toMatchObject({ lastChange: { run: run.id, action: 'create' } });
    // Without --daemon (nor POOLSYNC_DAEMON_URL) no daemon is asked.
    const alone = memoryIo();
    await exitOf(alone, main(['state', 'show', 'Queue/batch', folder, ...cp], alone));
    expect(alone.out()).not.toContain('Last changed');
  });
});

/** A kept run: deployments changed an object, the others nothing. */
const run = (id: number, result: RecentRun['result'], minutesAgo = 0) =>
  ({
    id,
    trigger: ['poll'],
    finishedAt: new Date(NOW - minutesAgo * 60_000).toISOString(),
    result,
    commit: String(id).repeat(40).slice(0, 40),
    message: `${result} ${id}`,
    changed:
      result === 'applied' ? [{ address: 'Queue/q', action: 'update', sideEffect: false }] : [],
    changedTotal: result === 'applied' ? 1 : 0,
    drift: null,
  }) as unknown as RecentRun;
const NOW = Date.UTC(2026, 10, 26, 12);

describe('retention', () => {
  it('past --history-limit drops in-sync runs, then other runs that changed nothing, before any deployment', () => {
    const runs = [
      run(8, 'failed'),
      run(7, 'applied'),
      run(6, 'in_sync'),
      run(5, 'waiting_for_approval'),
      run(4, 'applied'),
      run(3, 'invalid'),
      run(2, 'in_sync'),
      run(1, 'applied'),
    ];
    expect(retained(runs, 5).map((r) => r.id)).toEqual([8, 7, 5, 4, 1]);
    expect(retained(runs, 3).map((r) => r.id)).toEqual([8, 7, 4]);
    // The newest is kept whatever it is.
    expect(retained([run(9, 'in_sync'), ...runs], 1).map((r) => r.id)).toEqual([9]);
  });

  it('--history-max-age drops older runs, all but the newest and the last deployment', () => {
    const runs = [
      run(5, 'in_sync', 1),
      run(4, 'failed', 90),
      run(3, 'applied', 120),
      run(2, 'applied', 200),
    ];
    const age = { maxAgeMs: 60 * 60_000, now: NOW };
    expect(retained(runs, 20, age).map((r) => r.id)).toEqual([5, 3]);
    expect(retained(runs, 20, { ...age, maxAgeMs: 0 }).map((r) => r.id)).toEqual([5, 4, 3, 2]);
    // Added as runs finish: the age is read at each.
    expect(withRecentRun(runs, run(6, 'failed'), 20, age).map((r) => r.id)).toEqual([6, 5, 3]);
  });

  it('is applied to a history read at start (a restart keeps the same runs)', () => {
    const text = readFileSync(FIXTURE, 'utf8');
    const runs = (JSON.parse(text) as { runs: RecentRun[] }).runs;
    expect(retained(runs, 4).map((r) => [r.id, r.result])).toEqual([
      [9, 'invalid'],
      [7, 'applied'],
      [5, 'applied'],
      [2, 'applied'],
    ]);
  });
});
