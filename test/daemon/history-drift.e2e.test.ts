/**
 * An operator's day with the daemon, in process (issue 61 items 1 and 3): the history keeps what
 * was applied, held or failed while runs that find nothing new fold into one line, and drift
 * is only what changed outside Git: a repository edit held for approval, approved, or failed to
 * apply is never drift, whether the daemon watches a folder or follows a Git branch.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import { history } from '../../src/cli/commands/daemon-client.js';
import type { DaemonStatus, RunRecord } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { memoryIo } from '../support/memory-io.js';
import { manifests, setRunConcurrency } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const ADMIN = 'admin-token-history-drift-0123456789';

/** A daemon following `repo` with its state in `state`, once its first run is done. */
async function startedOn(repo: TestRepo, state: string) {
  const h = await startTestDaemon({ flags: { repo: repo.bare }, state, logLevel: 'silent' });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  return h;
}

function writeFolder(dir: string, files: Record<string, string | null>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    if (content === null) rmSync(full, { force: true });
    else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
}

/** A control plane whose queue updates fail while `failing.on` (a step the server refuses). */
function refusingUpdates(cp: ControlPlane, failing: { on: boolean }): ControlPlane {
  if (!failing.on) return cp;
  const refused = () =>
    Promise.reject(Object.assign(new Error('refused by the test'), { code: 'INVALID' }));
  const queues = new Proxy(cp.queues!, {
    get: (target, key) => (key === 'updateQueue' ? refused : Reflect.get(target, key)),
  });
  return new Proxy(cp, {
    get: (target, key) => (key === 'queues' ? queues : Reflect.get(target, key)),
  });
}

async function startOn(source: { repo: TestRepo } | { watch: string }, policy: string) {
  const failing = { on: false };
  const h = await startTestDaemon({
    ...('repo' in source ? { repo: source.repo } : {}),
    // The test says when the folder changed: its watcher waits an hour.
    flags: {
      policy,
      ...('watch' in source ? { watch: source.watch, 'watch-debounce': '1h' } : {}),
    },
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
    logLevel: 'silent',
    deps: {
      pipeline: {
        executePlan: (plan, cp, options) =>
          executePlan(plan, refusingUpdates(cp, failing), options),
      },
    },
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  return { ...h, failing };
}

const approve = async (url: string, fingerprint: string) =>
  fetch(`${url}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ fingerprint, approver: 'alice' }),
  });

describe('the history keeps what happened', () => {
  it('after 20 drift ticks and 5 empty syncs `poolsync history` still lists the first apply, and every run it lists can be shown', async () => {
    const folder = tempDir();
    writeFolder(folder, manifests());
    const h = await startOn({ watch: folder }, 'all');
    for (let i = 0; i < 20; i++) await h.daemon.reconcile('drift');
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${h.daemon.url}/reconcile?wait=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(res.status).toBe(200);
    }
    const listed = memoryIo();
    expect(await history({ daemon: h.daemon.url, output: 'text', wait: true }, listed)).toBe(0);
    const lines = listed.out().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^#2–#26 in sync since \S+ \S+, last \S+ \S+ \(25 runs: drift, manual\) commit —: in sync$/,
    );
    expect(lines[1]).toMatch(/^#1 applied .*\(startup, \d+ ms\) commit —: applied: 4 created/);
    // Any run of the folded line, and the first apply with its plan.
    for (const run of [1, 2, 14, 26]) {
      const shown = memoryIo();
      expect(await history({ daemon: h.daemon.url, output: 'text', wait: true, run }, shown)).toBe(
        0,
      );
      expect(shown.out().split('\n')[0]).toMatch(run === 1 ? /^#1 applied/ : /^#2–#26 in sync/);
    }
    const first = memoryIo();
    await history({ daemon: h.daemon.url, output: 'text', wait: true, run: 1 }, first);
    expect(first.out()).toContain('+ Queue/batch');
    expect(first.out()).toContain('Plan: 4 to create, 0 to update, 0 to replace, 0 to delete');
  });

  it('a new change after the quiet runs is kept beside them; past the limit the in-sync lines go first', async () => {
    const folder = tempDir();
    writeFolder(folder, manifests());
    const h = await startTestDaemon({
      flags: { watch: folder, 'watch-debounce': '1h', 'history-limit': '3' },
      logLevel: 'silent',
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    for (const n of [60, 70, 80]) {
      await h.daemon.reconcile('drift');
      writeFolder(folder, manifests({ batchRunConcurrency: n }));
      await h.daemon.reconcile('watch');
    }
    const results = h.daemon.status().runs.map((r) => `${r.id} ${r.result}`);
    // Applied runs outlast the in-sync lines between them; the newest in-sync line stays.
    expect(results).toEqual(['7 applied', '5 applied', '3 applied']);
    await h.daemon.reconcile('drift');
    expect(h.daemon.status().runs.map((r) => `${r.id} ${r.result}`)).toEqual([
      '8 in_sync',
      '7 applied',
      '5 applied',
    ]);
  });
});

describe('every run number the daemon shows is one `poolsync history N` answers', () => {
  const show = (url: string, run: number) =>
    history({ daemon: url, output: 'text', wait: true, run }, memoryIo());

  it('polls that found no new commit are in the line before them, and a restart numbers on after them', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const state = tempDir();
    const start = () => startedOn(repo, state);
    repo.commit(manifests(), 'A');
    let h = await start();
    for (let i = 0; i < 3; i++) await h.daemon.reconcile('poll');
    repo.commit(manifests({ batchRunConcurrency: 60 }), 'B');
    for (let i = 0; i < 3; i++) await h.daemon.reconcile('poll');
    // What `poolsync status` says as `Last run:`.
    expect(h.daemon.status().lastRun).toMatchObject({ id: 7, result: 'unchanged' });
    const listed = memoryIo();
    expect(await history({ daemon: h.daemon.url, output: 'text', wait: true }, listed)).toBe(0);
    const lines = listed.out().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^#5–#7 applied since \S+ \S+, last \S+ \S+ \(3 runs: poll; 2 found no new commit\) commit \w+: applied: 0 created, 1 updated/,
    );
    expect(lines[1]).toMatch(
      /^#1–#4 applied since .*\(4 runs: poll, startup; 3 found no new commit\)/,
    );
    for (let run = 1; run <= 7; run++) {
      const shown = memoryIo();
      expect(await history({ daemon: h.daemon.url, output: 'text', wait: true, run }, shown)).toBe(
        0,
      );
      expect(shown.out()).toMatch(run < 5 ? /^#1–#4 applied/ : /^#5–#7 applied/);
    }
    await expect(show(h.daemon.url, 8)).rejects.toThrow(
      'the daemon has no run #8 yet: the last run that finished is #7: `poolsync history` lists the runs kept',
    );
    // The kept history holds the polls' numbers: none is given again.
    await h.stop();
    h = await start();
    expect(h.daemon.status().lastRun).toMatchObject({ id: 8, trigger: ['startup'] });
  });

  it('after a history set aside, numbers go on from the run the kept rollback names, and that run is said to be older than the history', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const commit = repo.commit(manifests(), 'A');
    const state = tempDir();
    mkdirSync(join(state, 'daemon'), { recursive: true, mode: 0o700 });
    writeFileSync(join(state, 'daemon', 'history.json'), 'not a history', { mode: 0o600 });
    const pin = { run: 7, commit, branchHead: commit, since: '2026-11-22T12:00:00.000Z' };
    writeFileSync(
      join(state, 'daemon', 'rollback.json'),
      JSON.stringify({ rollback: { ...pin, by: 'alice', reason: null } }),
      { mode: 0o600 },
    );
    const h = await startTestDaemon({ flags: { repo: repo.bare }, state, logLevel: 'silent' });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    expect(h.daemon.status().lastRun).toMatchObject({ id: 8, rollback: { to: 7, commit } });
    await expect(show(h.daemon.url, 7)).rejects.toThrow(
      /^run #7 left the history: the oldest run the daemon keeps is #8 \(.*history\.json set aside as unreadable\): `poolsync history` lists the runs kept$/,
    );
  });
});

describe('a restart on the same state folder', () => {
  it('after a kill while a run applied, that run is in the history, said cut off, and numbers go on after it', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(manifests(), 'A');
    // What the state folder holds as the apply starts: all a kill -9 then leaves of the run.
    const state = tempDir();
    const file = join(state, 'daemon', 'history.json');
    let atApply: string | null = null;
    const onApplyPlan = () => (atApply = existsSync(file) ? readFileSync(file, 'utf8') : '');
    const h = await startTestDaemon({
      flags: { repo: repo.bare },
      state,
      logLevel: 'silent',
      deps: { onApplyPlan },
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    expect(h.daemon.status().lastRun).toMatchObject({ id: 1, result: 'applied' });
    // Its own record replaced the line it was kept under.
    expect(JSON.parse(readFileSync(file, 'utf8')).runs).toMatchObject([
      { id: 1, result: 'applied' },
    ]);
    await h.stop();

    // Kept as its apply began: its time runs until then, never 0 ms from its start.
    const kept = (JSON.parse(atApply!) as { runs: RunRecord[] }).runs[0]!;
    expect(kept.durationMs).toBe(Date.parse(kept.finishedAt) - Date.parse(kept.startedAt));
    expect(kept.durationMs).toBeGreaterThan(0);
    const killed = tempDir();
    mkdirSync(join(killed, 'daemon'), { recursive: true, mode: 0o700 });
    writeFileSync(join(killed, 'daemon', 'history.json'), atApply!, { mode: 0o600 });
    const again = await startedOn(repo, killed);
    expect(again.daemon.status().lastRun).toMatchObject({ id: 2, trigger: ['startup'] });
    const shown = memoryIo();
    await history({ daemon: again.daemon.url, output: 'text', wait: true, run: 1 }, shown);
    expect(shown.out().split('\n')[0]).toMatch(
      /^#1 failed .*\(startup, [1-9]\d* ms\) commit \w+: the daemon stopped while this run applied \(killed, its machine went down, or its leadership term ended: then its replica's own history keeps what it applied\), before it recorded what the apply changed or when it ended \(the time shown ends where its apply began\)/,
    );
    // With the plan it began to apply.
    expect(shown.out()).toMatch(/^ {2}\+ Queue\/batch$/m);
  });

  it('says the commit last applied from the kept history, before any run applies', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const state = tempDir();
    const start = () => startedOn(repo, state);
    const applied = repo.commit(manifests(), 'A');
    let h = await start();
    expect(h.daemon.status().appliedCommit).toBe(applied);
    await h.stop();
    // The startup run finds an invalid commit: it applies nothing, so only the history says A.
    repo.commit(manifests({ invalid: true }), 'B: invalid');
    h = await start();
    const s = (await (await fetch(`${h.daemon.url}/status`)).json()) as DaemonStatus;
    expect(s).toMatchObject({ outcome: 'invalid', appliedCommit: applied });
  });
});

describe('drift put back by the first run after a restart', () => {
  /** A daemon of `repo` on `cp` (both outlive it), its state in `state`, once its first run is done. */
  async function on(repo: TestRepo, state: string, cp: EmbeddedControlPlane) {
    const h = await startTestDaemon({ cp, state, flags: { repo: repo.bare }, logLevel: 'silent' });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const metrics = await (await fetch(`${h.daemon.url}/metrics`)).text();
    return { ...h, metrics };
  }

  async function appliedThenStopped(files = manifests()) {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const cp = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => cp.close());
    const state = tempDir();
    const applied = repo.commit(files, 'A');
    const h = await on(repo, state, cp);
    expect(h.daemon.status().outcome).toBe('applied');
    await h.stop();
    return { repo, cp, state, applied };
  }

  it('is drift measured from the commit the kept history last applied', async () => {
    const { repo, cp, state, applied } = await appliedThenStopped();
    await setRunConcurrency(cp, 'batch', 12);
    const h = await on(repo, state, cp);
    const s = h.daemon.status();
    expect(s.lastRun).toMatchObject({ id: 2, result: 'applied', trigger: ['startup'] });
    const found = { run: 2, commit: applied };
    const changes = [{ address: 'Queue/batch', action: 'update', corrected: true }];
    expect(s.lastDrift).toMatchObject({ ...found, changes });
    expect(s.runs[0]!.drift).toMatchObject({ ...found, changes });
    expect(h.metrics).toMatch(/^poolsync_drift_detected_total 1$/m);
    expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
  });

  it('with a new head too: only what the new commit did not change', async () => {
    const critical = (run: number) =>
      `apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: critical\nspec:\n  pool: prod\n  clusters: ['*']\n  run_concurrency: ${run}\n  action_concurrency: 100\n`;
    const { repo, cp, state, applied } = await appliedThenStopped({
      ...manifests(),
      'queues/critical.yaml': critical(8),
    });
    // The head retunes batch; by hand, batch and critical, which the head leaves as A had it.
    repo.commit({ ...manifests({ batchRunConcurrency: 60 }), 'queues/critical.yaml': critical(8) });
    await setRunConcurrency(cp, 'batch', 12);
    await setRunConcurrency(cp, 'critical', 3);
    const h = await on(repo, state, cp);
    const s = h.daemon.status();
    expect(s.lastRun).toMatchObject({ id: 2, result: 'applied', applied: { update: 2 } });
    expect(s.lastRun!.commit).not.toBe(applied);
    expect(s.lastDrift).toMatchObject({
      run: 2,
      commit: s.lastRun!.commit,
      changes: [{ address: 'Queue/critical', action: 'update', corrected: true }],
    });
    expect(h.metrics).toMatch(/^poolsync_drift_detected_total 1$/m);
  });
});

/** Drift as /status tells it: the last drift found, and each kept run's. */
function driftOf(s: DaemonStatus): string[] {
  return [
    ...(s.lastDrift?.changes.map((c) => `lastDrift ${c.action} ${c.address}`) ?? []),
    ...s.runs.flatMap((r) => r.drift?.changes.map((c) => `run ${r.id} ${c.address}`) ?? []),
  ];
}

describe('drift means a change made outside Git', () => {
  for (const mode of ['watch', 'git'] as const) {
    it(`${mode}: held, approved and failed repository edits are not drift; a change on the control plane is`, async () => {
      const repo = mode === 'git' ? new TestRepo() : null;
      const folder = mode === 'watch' ? tempDir() : null;
      const edit = async (files: Record<string, string | null>) => {
        if (repo) repo.commit(files, 'edit', { replaceAll: true });
        else writeFolder(folder!, files);
        // A Git daemon learns of a push by its webhook; a watched folder by its watcher.
        await h.daemon.reconcile(repo ? 'webhook' : 'watch');
      };
      if (repo) repo.commit(manifests());
      else writeFolder(folder!, manifests());
      const h = await startOn(repo ? { repo } : { watch: folder! }, 'safe');
      expect(h.daemon.status().outcome).toBe('applied');

      // A cluster deleted in the repository: held; drift ticks find it again, and it is no drift.
      await edit({ ...manifests({ clusters: ['prod-1'] }), 'clusters/prod-2.yaml': null });
      expect(h.daemon.status().outcome).toBe('waiting_for_approval');
      await h.daemon.reconcile('drift');
      await h.daemon.reconcile('drift');
      expect(driftOf(h.daemon.status())).toEqual([]);
      // Approved: the run that applies it finds no drift either.
      const pending = h.daemon.status().approval!.pending!;
      expect((await approve(h.daemon.url, pending.fingerprint)).status).toBe(200);
      // (the approval asks for that run itself; this one waits for it and runs after)
      await h.daemon.reconcile('manual');
      const approved = h.daemon.status().runs.find((r) => r.message.includes('approved by alice'));
      expect(approved?.result).toBe('applied');
      expect((await h.cp.listClusters()).map((c) => c.name)).toEqual(['prod-1']);
      expect(driftOf(h.daemon.status())).toEqual([]);

      // An edit the control plane refuses: failed, and still no drift on the next ticks.
      h.failing.on = true;
      await edit({ ...manifests({ clusters: ['prod-1'], batchRunConcurrency: 90 }) });
      expect(h.daemon.status().outcome).toBe('failed');
      await h.daemon.reconcile('drift');
      expect(h.daemon.status().outcome).toBe('failed');
      expect(driftOf(h.daemon.status())).toEqual([]);
      h.failing.on = false;
      await h.daemon.reconcile('drift');
      expect(h.daemon.status().outcome).toBe('applied');
      expect(driftOf(h.daemon.status())).toEqual([]);

      // A change made on the control plane, behind Git's back: drift, put back.
      await setRunConcurrency(h.cp, 'batch', 1);
      await h.daemon.reconcile('drift');
      const s = h.daemon.status();
      expect(s.lastDrift?.changes).toEqual([
        expect.objectContaining({ address: 'Queue/batch', action: 'update', corrected: true }),
      ]);
      expect((await h.cp.getQueue('batch')).run_concurrency).toBe(90);
    });
  }
});
