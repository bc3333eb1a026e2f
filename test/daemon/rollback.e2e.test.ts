/**
 * `poolsync rollback RUN` (issue 76; docs/daemon.md#rollback), in process against real Git: the
 * commit run RUN applied is planned against live state and applied through the same gate as any
 * run; the branch head is then not applied (drift is put back to the rolled-back state) until a
 * new commit lands or `poolsync resume`; it survives a restart. A rollback whose plan holds a
 * destructive change is held for approval; a watched folder is refused in words.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  approve,
  freeze,
  history,
  rollback,
  status,
  sync,
} from '../../src/cli/commands/daemon-client.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { cleanup } from '../support/cleanup.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { main } from '../../src/cli/run.js';
import { manifests, setRunConcurrency } from './fixtures.js';
import { startOwnTestDaemon, startTestDaemon } from './harness.js';
import { QUEUE, twoEnvironments } from '../environments/helpers.js';
import { git, TestRepo, tempDir } from './helpers.js';
import { daemonClientArgs } from '../support/daemon-client-args.js';

const ADMIN = 'admin-token-rollback-0123456789';
const env = { POOLSYNC_ADMIN_TOKEN: ADMIN };

export const critical = (n: number) =>
  [
    'apiVersion: poolsync/v1',
    'kind: Queue',
    'metadata:',
    '  name: critical',
    'spec:',
    '  pool: prod',
    "  clusters: ['*']",
    `  run_concurrency: ${n}`,
    '  action_concurrency: 100',
    '',
  ].join('\n');

/** Pools, clusters and queues as the control plane reads them, what it reports of health aside. */
async function liveOf(cp: EmbeddedControlPlane) {
  const live = await readLiveState(cp);
  return {
    pools: live.pools,
    clusters: live.clusters.map(({ name, pool, enabled }) => ({ name, pool, enabled })),
    queues: live.queues,
  };
}

/** The repository is the test's (a restart keeps it): passed by its URL, not for the harness to remove. */
async function daemonOn(repo: TestRepo, state: string, cp: EmbeddedControlPlane, policy = 'all') {
  const flags = { repo: repo.bare, policy };
  const h = await startTestDaemon({ cp, state, flags, env, logLevel: 'silent' });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  return h;
}

/** A test repository and an in-memory embedded control plane, both closed when the test ends. */
async function repoAndPlane() {
  const repo = new TestRepo();
  cleanup.add(() => repo.cleanup());
  const cp = await EmbeddedControlPlane.open({ path: null });
  cleanup.add(() => cp.close());
  return { repo, cp };
}

/** Commit A (critical at 10) applied by a daemon's first run, then B (20) by a webhook: what a rollback to A goes back over. */
async function rolledForward() {
  const { repo, cp } = await repoAndPlane();
  const a = repo.commit({ ...manifests(), 'queues/critical.yaml': critical(10) }, 'A');
  const h = await daemonOn(repo, tempDir(), cp);
  const runA = h.daemon.status().lastRun!.id;
  const b = repo.commit({ 'queues/critical.yaml': critical(20) }, 'B');
  await h.daemon.reconcile('webhook');
  return { cp, h, runA, a, b };
}

describe('poolsync rollback RUN', () => {
  it('applies the commit of run A after B, holds it against the branch and drift, survives a restart, and a new commit applies normally', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const state = tempDir();
    const cp = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => cp.close());
    const a = repo.commit({ ...manifests(), 'queues/critical.yaml': critical(10) }, 'A');
    let h = await daemonOn(repo, state, cp);
    const runA = h.daemon.status().lastRun!;
    expect(runA).toMatchObject({ result: 'applied', commit: a });
    const afterA = await liveOf(cp);
    const b = repo.commit(
      {
        'clusters/prod-3.yaml': manifests({ clusters: ['prod-3'] })['clusters/prod-3.yaml']!,
        'queues/critical.yaml': critical(20),
      },
      'B',
    );
    await h.daemon.reconcile('webhook');
    expect(h.daemon.status().lastRun).toMatchObject({ result: 'applied', commit: b });
    expect((await cp.getQueue('critical')).run_concurrency).toBe(20);
    await cp.getCluster('prod-3');

    const io = memoryIo(env);
    const code = await rollback(
      daemonClientArgs(h.daemon.url, { run: runA.id, reason: 'incident 7', as: 'alice' }),
      io,
    );
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    expect(io.out()).toMatch(
      new RegExp(
        `^Rolled back to run #${runA.id} \\(commit ${a.slice(0, 12)}\\): #\\d+ applied .*\\(rollback, \\d+ ms\\) commit ${a.slice(0, 12)} \\(rollback to run #${runA.id}\\): applied: 0 created, \\d+ updated, 0 replaced, 1 deleted`,
      ),
    );
    // The plan it applied is shown, in the past, and what holds now.
    expect(io.out()).toContain('\npoolsync performed the following actions:\n');
    expect(io.out()).not.toContain('will perform');
    expect(io.out()).toMatch(/- Cluster\/prod-3/);
    expect(io.out()).toMatch(/~ Queue\/critical\n\s+run_concurrency: 20 → 10/);
    expect(io.out()).toMatch(/`poolsync resume` applies the branch again/);
    // Read through the control plane's own API: the state after A.
    expect((await cp.getQueue('critical')).run_concurrency).toBe(10);
    await expect(cp.getCluster('prod-3')).rejects.toThrow();
    // All of it, through the control plane's own reads: A's state again. B's cluster's co-named
    // queue stays, routing nowhere: queues cannot be deleted (Q6), a rollback no more than a plan.
    const back = await liveOf(cp);
    expect(back.queues.find((q) => q.name === 'prod-3')).toMatchObject({ clusters: [] });
    expect({ ...back, queues: back.queues.filter((q) => q.name !== 'prod-3') }).toEqual(afterA);
    let s = h.daemon.status();
    expect(s.appliedCommit).toBe(a);
    expect(s.rollback).toMatchObject({
      run: runA.id,
      commit: a,
      branchHead: b,
      by: 'alice',
      reason: 'incident 7',
    });
    expect(s.lastRun).toMatchObject({
      trigger: ['rollback'],
      rollback: { to: runA.id, commit: a },
    });

    // The branch (still at B) is not applied: a poll, a webhook, a sync leave the rollback.
    await h.daemon.reconcile('webhook');
    await h.daemon.reconcile('manual');
    expect((await cp.getQueue('critical')).run_concurrency).toBe(10);
    // Drift is put back to the rolled-back state, not to the branch head.
    await setRunConcurrency(cp, 'critical', 3);
    await h.daemon.reconcile('drift');
    expect(h.daemon.status().lastRun).toMatchObject({
      result: 'applied',
      commit: a,
      rollback: { to: runA.id },
    });
    expect((await cp.getQueue('critical')).run_concurrency).toBe(10);
    // /status, the terminal and the page say so.
    const body = (await (await fetch(`${h.daemon.url}/status`)).json()) as typeof s;
    expect(body.rollback?.why).toMatch(
      new RegExp(
        `^rolled back to run #${runA.id} \\(commit ${a.slice(0, 12)}\\) by alice \\(incident 7\\) since .*: the branch head ${b.slice(0, 12)} is not applied until a new commit lands or \`poolsync resume\``,
      ),
    );
    const st = memoryIo(env);
    await status(daemonClientArgs(h.daemon.url), st);
    expect(st.out()).toMatch(new RegExp(`^Rolled back: rolled back to run #${runA.id}`, 'm'));
    const page = await (await fetch(`${h.daemon.url}/`)).text();
    expect(page).toContain(`Rolled back to run #${runA.id}`);
    expect(await (await fetch(`${h.daemon.url}/metrics`)).text()).toMatch(
      /^poolsync_rolled_back 1$/m,
    );

    // A restart keeps it: the branch head is still not applied.
    await h.stop();
    h = await daemonOn(repo, state, cp);
    s = h.daemon.status();
    expect(s.rollback).toMatchObject({ run: runA.id, commit: a, branchHead: b });
    expect(s.lastRun).toMatchObject({ commit: a, rollback: { to: runA.id } });
    expect((await cp.getQueue('critical')).run_concurrency).toBe(10);

    // A new commit lifts it and applies normally.
    const c = repo.commit({ 'queues/critical.yaml': critical(30) }, 'C');
    await h.daemon.reconcile('webhook');
    s = h.daemon.status();
    expect(s.rollback).toBeNull();
    expect(await (await fetch(`${h.daemon.url}/metrics`)).text()).toMatch(
      /^poolsync_rolled_back 0$/m,
    );
    expect(s.lastRun).toMatchObject({ result: 'applied', commit: c });
    expect(s.lastRun!.rollback).toBeUndefined();
    expect((await cp.getQueue('critical')).run_concurrency).toBe(30);
    await cp.getCluster('prod-3');

    // The history of the queue: exactly the runs that changed it, with their fields.
    const listed = memoryIo(env);
    expect(await history(daemonClientArgs(h.daemon.url, { run: 'Queue/critical' }), listed)).toBe(
      0,
    );
    const lines = listed.out().trimEnd().split('\n');
    expect(lines.map((l) => l.replace(/ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, ' TIME '))).toEqual([
      expect.stringMatching(
        new RegExp(`^#\\d+ update run_concurrency TIME commit ${c.slice(0, 12)} \\(webhook\\)$`),
      ),
      expect.stringMatching(
        new RegExp(
          `^#\\d+ update run_concurrency TIME commit ${a.slice(0, 12)} \\(drift\\), rollback to run #${runA.id}$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^#\\d+ update run_concurrency TIME commit ${a.slice(0, 12)} \\(rollback\\), rollback to run #${runA.id}$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^#\\d+ update run_concurrency TIME commit ${b.slice(0, 12)} \\(webhook\\)$`),
      ),
      expect.stringMatching(
        new RegExp(`^#${runA.id} create TIME commit ${a.slice(0, 12)} \\(startup\\)$`),
      ),
    ]);
    const applied = memoryIo(env);
    await history(daemonClientArgs(h.daemon.url, { result: ['in_sync'] }), applied);
    expect(applied.out()).not.toMatch(/ applied /);
  });

  it('its log records name the branch head once known, never as null', async () => {
    const { repo, cp } = await repoAndPlane();
    repo.commit({ ...manifests(), 'queues/critical.yaml': critical(10) }, 'A');
    const flags = { repo: repo.bare, policy: 'all' };
    const h = await startTestDaemon({ cp, flags, env, logLevel: 'info' });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const runA = h.daemon.status().lastRun!.id;
    const b = repo.commit({ 'queues/critical.yaml': critical(20) }, 'B');
    await h.daemon.reconcile('webhook');
    expect(await rollback(daemonClientArgs(h.daemon.url, { run: runA }), memoryIo(env))).toBe(0);
    const records = h.logs
      .map((line) => JSON.parse(line) as { rollback?: { branchHead?: string | null } })
      .filter((r) => r.rollback !== undefined);
    expect(records.length).toBeGreaterThanOrEqual(2);
    expect(records.map((r) => r.rollback!.branchHead)).not.toContain(null);
    expect(records.at(-1)!.rollback!.branchHead).toBe(b);
  });

  it('resume lifts it: the branch head is applied again', async () => {
    const { cp, h, runA, b } = await rolledForward();
    expect(await rollback(daemonClientArgs(h.daemon.url, { run: runA }), memoryIo(env))).toBe(0);
    expect((await cp.getQueue('critical')).run_concurrency).toBe(10);
    const resumed = memoryIo(env);
    expect(await freeze(daemonClientArgs(h.daemon.url), resumed, false)).toBe(0);
    await h.daemon.reconcile('manual');
    expect(h.daemon.status()).toMatchObject({ rollback: null, appliedCommit: b });
    expect((await cp.getQueue('critical')).run_concurrency).toBe(20);
  });

  it('its checkout beside the branch’s goes once the rollback is lifted and at stop; a restart removes what a killed process or an earlier build left, nothing else', async () => {
    const { repo, cp } = await repoAndPlane();
    const state = tempDir();
    const folder = join(state, 'daemon');
    const beside = () => readdirSync(folder).filter((n) => n.startsWith('checkout'));
    const a = repo.commit({ ...manifests(), 'queues/critical.yaml': critical(10) }, 'A');
    let h = await daemonOn(repo, state, cp);
    const runA = h.daemon.status().lastRun!.id;
    const b = repo.commit({ 'queues/critical.yaml': critical(20) }, 'B');
    await h.daemon.reconcile('webhook');
    expect(await rollback(daemonClientArgs(h.daemon.url, { run: runA }), memoryIo(env))).toBe(0);
    expect(beside().sort()).toEqual(['checkout', 'checkout-rollback']);
    // Lifted: the first run of the branch head has no more use for it.
    expect(await freeze(daemonClientArgs(h.daemon.url), memoryIo(env), false)).toBe(0);
    await h.daemon.reconcile('manual');
    expect(beside()).toEqual(['checkout']);
    // Held at a stop: gone.
    expect(await rollback(daemonClientArgs(h.daemon.url, { run: runA }), memoryIo(env))).toBe(0);
    await h.stop();
    expect(beside()).toEqual(['checkout']);
    // What a killed process or an earlier build left: a rollback's checkout (of another commit),
    // a tip's (a worktree then), a pull request's copy of the tip; beside them, a folder of yours.
    const clone = join(folder, 'checkout');
    git(clone, 'worktree', 'add', '--quiet', '--detach', join(folder, 'checkout-rollback'), b);
    git(clone, 'worktree', 'add', '--quiet', '--detach', join(folder, 'checkout-tip'), b);
    mkdirSync(join(folder, 'checkout-tip.0a1b2c', 'tree'), { recursive: true });
    mkdirSync(join(folder, 'checkout-notes'));
    writeFileSync(join(folder, 'checkout-notes', 'mine.txt'), 'kept\n');
    // The restart removes them; its first run, still rolled back, checks the rollback out anew.
    h = await daemonOn(repo, state, cp);
    expect(h.daemon.status()).toMatchObject({ rollback: { run: runA }, appliedCommit: a });
    expect(beside().sort()).toEqual(['checkout', 'checkout-notes', 'checkout-rollback']);
    expect(git(join(folder, 'checkout-rollback'), 'rev-parse', 'HEAD')).toBe(a);
    expect(git(clone, 'worktree', 'list', '--porcelain')).not.toMatch(/checkout-tip/);
  });

  it('asked while applies are frozen, holds through `poolsync resume`, which applies it; a second resume lifts it', async () => {
    const { cp, h, runA, a, b } = await rolledForward();
    expect(await freeze(daemonClientArgs(h.daemon.url, { as: 'ops' }), memoryIo(env), true)).toBe(
      0,
    );
    expect(await rollback(daemonClientArgs(h.daemon.url, { run: runA }), memoryIo(env))).toBe(0);
    expect((await cp.getQueue('critical')).run_concurrency).toBe(20);

    const resumed = memoryIo(env);
    expect(await freeze(daemonClientArgs(h.daemon.url), resumed, false)).toBe(0);
    expect(resumed.out()).toBe(
      'Applies resumed: the daemon runs now and applies what waited.\n' +
        `The rollback to run #${runA} holds: its commit ${a.slice(0, 12)} is applied now, not the branch head, until a new commit lands (\`poolsync resume\` again lifts it).\n`,
    );
    await h.daemon.reconcile('manual');
    expect(h.daemon.status()).toMatchObject({ rollback: { run: runA }, appliedCommit: a });
    expect((await cp.getQueue('critical')).run_concurrency).toBe(10);

    // Nothing suspended now: resume lifts the rollback, and the branch head is applied again.
    const lifted = memoryIo(env);
    expect(await freeze(daemonClientArgs(h.daemon.url), lifted, false)).toBe(0);
    expect(lifted.out()).toBe(
      `Applies were not suspended; the rollback to run #${runA} is lifted: the daemon runs now and applies the branch head.\n`,
    );
    await h.daemon.reconcile('manual');
    expect(h.daemon.status()).toMatchObject({ rollback: null, appliedCommit: b });
    expect((await cp.getQueue('critical')).run_concurrency).toBe(20);
  });

  it('while applies are frozen, says so rather than that it rolled back, and exits 0 as sync does; an override applies it', async () => {
    const { cp, h, runA, a } = await rolledForward();
    expect(await freeze(daemonClientArgs(h.daemon.url, { as: 'ops' }), memoryIo(env), true)).toBe(
      0,
    );
    const io = memoryIo(env);
    expect(await rollback(daemonClientArgs(h.daemon.url, { run: runA }), io)).toBe(0);
    expect(io.out()).toMatch(
      new RegExp(
        `^Rollback to run #${runA} \\(commit ${a.slice(0, 12)}\\) holds, but applies are frozen: #\\d+ frozen .*\\(rollback, \\d+ ms\\) commit ${a.slice(0, 12)} \\(rollback to run #${runA}\\): applies frozen, suspended by ops`,
      ),
    );
    expect(io.out()).toContain(
      `the daemon plans commit ${a.slice(0, 12)}, not the branch, and applies it once applies may go (\`poolsync resume\` lifts the suspension), or now with \`poolsync sync --override-freeze\`; a \`poolsync resume\` with nothing suspended lifts the rollback and applies the branch again.\n`,
    );
    expect((await cp.getQueue('critical')).run_concurrency).toBe(20);
    expect(
      await sync(daemonClientArgs(h.daemon.url, { 'override-freeze': true }), memoryIo(env)),
    ).toBe(0);
    expect((await cp.getQueue('critical')).run_concurrency).toBe(10);
  });

  it('is held for approval like any run when its plan deletes (policy safe), and refused in words for a run it cannot go back to', async () => {
    const { repo, cp } = await repoAndPlane();
    repo.commit({ ...manifests(), 'queues/critical.yaml': critical(10) }, 'A');
    const h = await daemonOn(repo, tempDir(), cp, 'safe');
    const runA = h.daemon.status().lastRun!.id;
    // B adds a cluster: rolling back to A deletes it, which policy safe holds.
    repo.commit({ ...manifests({ clusters: ['prod-1', 'prod-2', 'prod-3'] }) }, 'B');
    await h.daemon.reconcile('webhook');
    expect(h.daemon.status().lastRun!.result).toBe('applied');
    const io = memoryIo(env);
    await rollback(daemonClientArgs(h.daemon.url, { run: runA }), io);
    const s = h.daemon.status();
    expect(s.lastRun).toMatchObject({ result: 'waiting_for_approval', rollback: { to: runA } });
    expect(s.approval?.pending?.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ address: 'Cluster/prod-3', action: 'delete' }),
      ]),
    );
    await cp.getCluster('prod-3');

    // Refused: a run not kept, a run that applied nothing.
    const none = memoryIo(env);
    await expect(rollback(daemonClientArgs(h.daemon.url, { run: 999 }), none)).rejects.toThrow(
      /^Not rolled back: the daemon has no run #999 yet: the last run that finished is #\d+: `poolsync history` lists the runs kept$/,
    );
    await expect(
      rollback(daemonClientArgs(h.daemon.url, { run: s.lastRun!.id }), memoryIo(env)),
    ).rejects.toThrow(
      /^Not rolled back: run #\d+ waiting for approval: only a run that applied its commit or found the control plane equal to it \(applied, in sync\) can be rolled back to$/,
    );

    // Approved like any held change: the delete lands, and the run says who approved it.
    const fingerprint = s.approval!.pending!.fingerprint;
    expect(
      await approve(daemonClientArgs(h.daemon.url, { fingerprint, as: 'bob' }), memoryIo(env)),
    ).toBe(0);
    // POST /approve asks for the run that applies them; this one waits for it.
    await h.daemon.reconcile('manual');
    const approved = h.daemon.status().runs.find((r) => r.result === 'applied')!;
    expect(approved).toMatchObject({
      result: 'applied',
      approvedBy: 'bob',
      rollback: { to: runA },
    });
    await expect(cp.getCluster('prod-3')).rejects.toThrow();
    const listed = memoryIo(env);
    await history(daemonClientArgs(h.daemon.url, { run: 'Cluster/prod-3' }), listed);
    expect(listed.out()).toMatch(
      new RegExp(
        `^#${approved.id} delete .* \\(manual\\), approved by bob, rollback to run #${runA}\n#\\d+ create `,
      ),
    );
    // The Objects view says who changed it last.
    const page = await (await fetch(`${h.daemon.url}/`)).text();
    expect(page).toMatch(
      new RegExp(
        `id="object-Queue/prod-3".*last changed by <a href="#run-${approved.id}">run #${approved.id}</a> \\(update, commit <code[^>]*>[0-9a-f]{12}</code>, approved by bob, rollback to run #${runA}\\)`,
      ),
    );
  });

  it('is refused as a whole when its plan would replace a protected object (prevent-destroy: a plan error): nothing applied, the branch followed as before', async () => {
    const { repo, cp } = await repoAndPlane();
    const cluster = (pool: string, guarded: boolean) =>
      `apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: prod-2\n${guarded ? '  annotations:\n    poolsync/prevent-destroy: "true"\n' : ''}spec:\n  pool: ${pool}\n`;
    const prodPool = manifests()['pools/prod.yaml']!;
    const stage = prodPool.replace('name: prod', 'name: stage').replace('acme-prod', 'acme-stage');
    const a = repo.commit({ ...manifests(), 'clusters/prod-2.yaml': cluster('prod', true) }, 'A');
    const h = await daemonOn(repo, tempDir(), cp);
    const runA = h.daemon.status().lastRun!.id;
    // B lifts the protection, applied on its own (docs/plan.md#guardrails); C moves the cluster
    // to another pool (a replace, policy all).
    repo.commit({ 'clusters/prod-2.yaml': cluster('prod', false) }, 'B');
    await h.daemon.reconcile('webhook');
    expect(h.daemon.status().lastRun!.result).toBe('in_sync');
    const c = repo.commit(
      { 'pools/stage.yaml': stage, 'clusters/prod-2.yaml': cluster('stage', false) },
      'C',
    );
    await h.daemon.reconcile('webhook');
    expect(h.daemon.status().lastRun!.result).toBe('applied');
    expect((await cp.getCluster('prod-2')).pool).toBe('stage');
    // Going back to A would replace it again, and A protects it: the rollback is refused.
    const io = memoryIo(env);
    const cli = ['rollback', String(runA), '--daemon', h.daemon.url, '--wait'];
    expect(await exitOf(io, main(cli, io))).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(
      new RegExp(
        `^Error: Not rolled back: the commit of run #${runA} \\(${a.slice(0, 12)}\\) does not plan against the live state now \\(1 error\\): nothing of it was applied, and the daemon follows the branch as before\\. Cluster/prod-2: Cluster/prod-2 .*prevent-destroy`,
      ),
    );
    const s = h.daemon.status();
    expect(s.rollback).toBeNull();
    expect(s.lastRun).toMatchObject({
      result: 'failed',
      rollback: { to: runA },
      message: `the plan has 1 error; nothing applied: the rollback to run #${runA} is refused, and the branch is followed as before`,
    });
    expect((await cp.getCluster('prod-2')).pool).toBe('stage');
    // The branch head (C) is enforced again: drift is put back to it, not to A.
    await setRunConcurrency(cp, 'batch', 3);
    await h.daemon.reconcile('drift');
    expect(h.daemon.status().lastRun).toMatchObject({ result: 'applied', commit: c });
    expect(h.daemon.status().lastRun!.rollback).toBeUndefined();
    expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
  });

  it('fetches the commit again when the checkout lacks it, and refuses one the remote no longer serves', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const state = tempDir();
    const cp = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => cp.close());
    const a = repo.commit({ ...manifests(), 'queues/critical.yaml': critical(10) }, 'A');
    git(repo.work, 'tag', 'good', a);
    git(repo.work, 'push', '--quiet', 'origin', 'good');
    let h = await daemonOn(repo, state, cp);
    const runA = h.daemon.status().lastRun!.id;
    // The branch is rewritten without A (only the tag still reaches it), and this replica's
    // checkout is lost (a new pod): its history still names A.
    git(repo.work, 'checkout', '--quiet', '--orphan', 'rewritten');
    const b = repo.commit({ ...manifests(), 'queues/critical.yaml': critical(20) }, 'B', {
      force: true,
    });
    await h.stop();
    rmSync(join(state, 'daemon', 'checkout'), { recursive: true, force: true });
    h = await daemonOn(repo, state, cp);
    expect(h.daemon.status().appliedCommit).toBe(b);
    expect(await rollback(daemonClientArgs(h.daemon.url, { run: runA }), memoryIo(env))).toBe(0);
    expect(h.daemon.status()).toMatchObject({ appliedCommit: a, rollback: { commit: a } });
    expect((await cp.getQueue('critical')).run_concurrency).toBe(10);

    // Once nothing on the remote reaches A, and this checkout is lost again: refused, in words.
    git(repo.work, 'push', '--quiet', 'origin', ':refs/tags/good');
    git(repo.bare, 'reflog', 'expire', '--expire=now', '--all');
    git(repo.bare, 'gc', '--quiet', '--prune=now');
    expect(await freeze(daemonClientArgs(h.daemon.url), memoryIo(env), false)).toBe(0);
    await h.stop();
    rmSync(join(state, 'daemon', 'checkout'), { recursive: true, force: true });
    h = await daemonOn(repo, state, cp);
    await expect(
      rollback(daemonClientArgs(h.daemon.url, { run: runA }), memoryIo(env)),
    ).rejects.toThrow(
      new RegExp(
        `^Not rolled back: commit ${a} is neither in the checkout nor fetchable from .*remote\\.git \\(was branch main rewritten\\?\\)`,
      ),
    );
    expect(h.daemon.status().rollback).toBeNull();
  });

  it('with environments: rolls back the environment named, from its own worktree, and leaves the others to the branch', async () => {
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const queue = (n: number) => QUEUE.replace('run_concurrency: 10', `run_concurrency: ${n}`);
    const envs = twoEnvironments({
      dev: `file:${state}/dev.json`,
      prod: `file:${state}/prod.json`,
    });
    repo.commit(envs, 'A');
    const h = await startOwnTestDaemon({
      state,
      env,
      flags: { repo: repo.bare, 'control-plane': `file:${state}/unused.json` },
      logLevel: 'silent',
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const devQueue = async () => {
      const cp = await EmbeddedControlPlane.open({ path: `${state}/dev.json` });
      try {
        return (await cp.getQueue('training')).run_concurrency;
      } finally {
        await cp.close();
      }
    };
    const runA = h.daemon.status().environments!.dev!.lastRun!.id;
    repo.commit({ 'base/queue.yaml': queue(20) }, 'B');
    await h.daemon.reconcile('webhook');
    expect(await devQueue()).toBe(20);
    // Run numbers are per environment: one must be named.
    await expect(
      rollback(daemonClientArgs(h.daemon.url, { run: runA }), memoryIo(env)),
    ).rejects.toThrow(
      /^Not rolled back: run numbers are per environment: name one with --env \(dev, prod\)$/,
    );
    const io = memoryIo(env);
    expect(await rollback(daemonClientArgs(h.daemon.url, { run: runA, env: 'dev' }), io)).toBe(0);
    expect(io.out()).toMatch(/^Rolled back in environment dev to run #\d+/);
    expect(await devQueue()).toBe(10);
    const s = h.daemon.status().environments!;
    expect(s.dev!.rollback).toMatchObject({ run: runA });
    expect(s.prod!.rollback).toBeNull();
    await h.daemon.reconcile('poll');
    expect(await devQueue()).toBe(10);
    repo.commit({ 'base/queue.yaml': queue(30) }, 'C');
    await h.daemon.reconcile('webhook');
    expect(await devQueue()).toBe(30);
    expect(h.daemon.status().environments!.dev!.rollback).toBeNull();
  });

  it('says what it cannot do for a watched folder', async () => {
    const folder = join(tempDir(), 'repo');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    for (const [path, content] of Object.entries(manifests())) {
      mkdirSync(join(folder, path, '..'), { recursive: true });
      writeFileSync(join(folder, path), content);
    }
    const h = await startTestDaemon({
      flags: { watch: folder, 'watch-debounce': '1h' },
      env,
      logLevel: 'silent',
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const run = h.daemon.status().lastRun!.id;
    // The command line as typed: one line on stderr, exit 1.
    const io = memoryIo(env);
    expect(await exitOf(io, main(['rollback', String(run), '--daemon', h.daemon.url], io))).toBe(1);
    expect(io.err()).toMatch(
      /^Error: Not rolled back: this daemon watches a folder on disk \(--watch\): it keeps no commits to roll back to; put the files back/,
    );
    expect(io.err().trimEnd().split('\n')).toHaveLength(1);
    const word = memoryIo(env);
    expect(await exitOf(word, main(['rollback', 'last', '--daemon', h.daemon.url], word))).toBe(1);
    // A positional is named as the usage writes it: the user typed no --run.
    expect(word.err()).toMatch(/<run> must be a whole number of at least 1 \(got "last"\)/);
  });
});
