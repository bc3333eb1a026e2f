/**
 * The apply lock across machines: the control plane's own lease-style lock (REST API over a
 * real socket), and a Kubernetes Lease (`--lock k8s:NS/NAME`) for control planes with none.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { holdSharedApplyLock, LockHeldError } from '../../src/apply/lock.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import { startFakeKubeApi } from '../support/fake-kube-api.js';
import { runCli, servedByCli, startCli } from '../support/cli.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { until } from '../support/until.js';
import { ManualClock } from '../support/virtual-clock.js';
import { recordedAddresses } from '../../src/model/inventory.js';

const REPO: RepoSpec = {
  pools: ['prod'],
  clusters: { 'prod-1': 'prod', 'prod-2': 'prod', 'prod-3': 'prod' },
  queues: { batch: { pool: 'prod', clusters: ['*'] } },
};

describe('the control plane apply lock (PUT/GET/DELETE /v1/apply-lock)', () => {
  it('one holder at a time; renewals by the same id; taken over once expired; released', async () => {
    // The lease's time is the plane's clock, moved here alone: a slow machine expires nothing.
    let now = Date.parse('2026-01-01T00:00:00Z');
    const { server } = await servedControlPlane({}, { now: () => now });
    const a = new HttpControlPlane(server.url).applyLock;
    const b = new HttpControlPlane(server.url).applyLock;
    const idA = 'a'.repeat(24);
    const idB = 'b'.repeat(24);
    const held = await a.acquireApplyLock({ id: idA, holder: 'ci-runner-1', ttl_seconds: 1 });
    expect(held).toMatchObject({ holder: 'ci-runner-1', taken_over_from: null });
    await expect(
      b.acquireApplyLock({ id: idB, holder: 'daemon', ttl_seconds: 5 }),
    ).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining('held by ci-runner-1'),
    });
    const renewed = await a.acquireApplyLock({ id: idA, holder: 'ci-runner-1', ttl_seconds: 1 });
    expect(renewed.acquired_at).toBe(held.acquired_at);
    expect((await b.getApplyLock())?.holder).toBe('ci-runner-1');
    now += 999;
    expect((await b.getApplyLock())?.holder).toBe('ci-runner-1');
    now += 1;
    expect(await b.getApplyLock()).toBeNull();
    const taken = await b.acquireApplyLock({ id: idB, holder: 'daemon', ttl_seconds: 5 });
    expect(taken.taken_over_from).toBe('ci-runner-1');
    await a.releaseApplyLock(idA); // not a's any more: no effect
    expect((await a.getApplyLock())?.holder).toBe('daemon');
    await b.releaseApplyLock(idB);
    expect(await a.getApplyLock()).toBeNull();
  });

  it('the same id from another holder (the next apply of a machine, after a killed one) is a takeover, not a renewal', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const { server } = await servedControlPlane({}, { now: () => now });
    const lock = new HttpControlPlane(server.url).applyLock;
    const id = 'm'.repeat(32);
    const dead = 'poolsync apply (ci@runner-7, pid 4242)';
    const next = 'poolsync apply (ci@runner-7, pid 4243)';
    const first = await lock.acquireApplyLock({ id, holder: dead, ttl_seconds: 30 });
    now += 5000;
    const taken = await lock.acquireApplyLock({ id, holder: next, ttl_seconds: 30 });
    expect(taken).toMatchObject({ holder: next, taken_over_from: dead });
    expect(taken.acquired_at).not.toBe(first.acquired_at);
    now += 5000;
    const renewed = await lock.acquireApplyLock({ id, holder: next, ttl_seconds: 30 });
    expect(renewed).toMatchObject({ acquired_at: taken.acquired_at, taken_over_from: dead });
    expect(renewed.renewed_at).not.toBe(taken.renewed_at);
    // Another apply is told since when the new holder holds it, not the dead one's start.
    await expect(
      lock.acquireApplyLock({ id: 'o'.repeat(32), holder: 'daemon', ttl_seconds: 30 }),
    ).rejects.toMatchObject({
      message: expect.stringContaining(`held by ${next} since ${taken.acquired_at}`),
    });
  });

  it('a lease held by a pid of this host that no longer runs: refused saying so and when it lapses; then taken over, saying when', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const { server } = await servedControlPlane({}, { now: () => now });
    // A pid that ran on this host and exited (reaped), as an apply killed with -9 leaves it.
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    const dead = `poolsync apply (ci@${hostname()}, pid ${child.pid})`;
    const lock = new HttpControlPlane(server.url).applyLock;
    await lock.acquireApplyLock({ id: 'k'.repeat(32), holder: dead, ttl_seconds: 30 });
    const opts = {
      cp: new HttpControlPlane(server.url),
      url: server.url,
      who: 'poolsync apply',
      lockFile: '/other/state/lock',
      warn: () => {},
    };
    const refused = await holdSharedApplyLock(opts).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as Error).message).toBe(
      `the apply lock is held by ${dead} since 2026-01-01T00:00:00.000Z, but pid ${child.pid} no longer runs on this host: a killed apply's lease, no longer renewed, which lapses at 2026-01-01T00:00:30.000Z; the next apply then takes it over`,
    );
    now += 30_000;
    const held = await holdSharedApplyLock(opts);
    expect(held.takeover).toBe(
      `took over the apply lock (control plane) at 2026-01-01T00:00:30.000Z from ${dead}, whose lease lapsed`,
    );
    await held.release();
    // A live holder of this host (this process) keeps the usual words.
    await lock.acquireApplyLock({
      id: 'l'.repeat(32),
      holder: `poolsync apply (ci@${hostname()}, pid ${process.pid})`,
      ttl_seconds: 30,
    });
    const live = await holdSharedApplyLock(opts).catch((e: unknown) => e);
    expect((live as Error).message).toMatch(/renewed while it applies\); wait for it to finish$/);
  });

  it('a holder that cannot renew for a whole TTL loses the lock: `lost` aborts (no new step starts)', async () => {
    const { server } = await servedControlPlane();
    const cp = new HttpControlPlane(server.url);
    // The renewals sleep on it, moved a third of the TTL at a time once the last renewal is done.
    const clock = new ManualClock();
    const held = await holdSharedApplyLock({
      cp,
      url: server.url,
      who: 'test',
      ttlMs: 1200,
      clock,
      warn: () => {},
    });
    const other = new HttpControlPlane(server.url).applyLock;
    const lock = await other.getApplyLock();
    expect(lock?.holder).toMatch(/^test \(/);
    // A partition: this holder's renewals fail from now on.
    let refused = 0;
    (cp.applyLock as { acquireApplyLock: unknown }).acquireApplyLock = () => {
      refused++;
      return Promise.reject(new Error('connection refused'));
    };
    const settled = () =>
      until('the renewal settled', () => clock.sleeping === 1 || held.lost.aborted);
    const renewal = async (n: number) => {
      await settled();
      clock.advance(400);
      await until(`renewal ${n} refused`, () => refused === n);
      await settled();
    };
    // Two thirds of the TTL without a renewal: still held.
    await renewal(1);
    await renewal(2);
    expect(held.lost.aborted).toBe(false);
    // A whole TTL: lost.
    await renewal(3);
    expect(held.lost.aborted).toBe(true);
    expect(String((held.lost.reason as Error).message)).toMatch(/could not be renewed/);
    await held.release();
  });

  it('a leadership term holds the lock under its own id: another term is refused; once the term ends `lost` aborts at once and the lock is neither renewed nor released: it lapses, then the next term takes it', async () => {
    const { embedded: cp, server } = await servedControlPlane();
    // What reaches the lock after the first term ended; it ends as a renewal of it is answered
    // (none other is in flight then), once `ending`.
    const first = new AbortController();
    let ending = false;
    const after: string[] = [];
    const { applyLock } = cp;
    const acquire = applyLock.acquireApplyLock.bind(applyLock);
    const release = applyLock.releaseApplyLock.bind(applyLock);
    applyLock.acquireApplyLock = async (request) => {
      if (first.signal.aborted) after.push(`acquire ${request.holder}`);
      const lease = await acquire(request);
      if (ending) first.abort(new Error('stopped leading: test'));
      return lease;
    };
    applyLock.releaseApplyLock = async (id) => {
      if (first.signal.aborted) after.push('release');
      return release(id);
    };
    const options = (term: { signal: AbortSignal; id: string }) => ({
      cp: new HttpControlPlane(server.url, { signal: term.signal }),
      url: server.url,
      who: 'poolsync daemon',
      ttlMs: 1000,
      warn: () => {},
      term,
    });
    const held = await holdSharedApplyLock(options({ signal: first.signal, id: 'term-1' }));
    const second = { signal: new AbortController().signal, id: 'term-2' };
    await expect(holdSharedApplyLock(options(second))).rejects.toBeInstanceOf(LockHeldError);
    const lock = new HttpControlPlane(server.url).applyLock;
    const before = (await lock.getApplyLock())!;
    ending = true;
    await until('the term ended', () => held.lost.aborted);
    await held.release();
    // Neither renewed nor released since: the term's lock lapses on its own.
    await until('the lock lapsed', async () => (await lock.getApplyLock()) === null);
    expect(after).toEqual([]);
    const next = await holdSharedApplyLock(options(second));
    expect((await lock.getApplyLock())?.taken_over_from).toBe(before.holder);
    await next.release();
    expect(await lock.getApplyLock()).toBeNull();
  });

  it("two `poolsync apply` from separate state dirs on one HTTP control plane: the second is refused with the holder's name", async () => {
    const { embedded: cp, server } = await servedControlPlane();
    // Registrations wait where they land (POST /v1/clusters answers registeredCluster) until the
    // second apply is done: the first is still running.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const register = cp.registeredCluster.bind(cp);
    let gated = 0;
    cp.registeredCluster = async (r) => {
      gated++;
      await gate;
      return register(r);
    };
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), REPO);
    const args = (state: string) => [
      'apply',
      repo,
      '--control-plane',
      server.url,
      '--auto-approve',
      '--parallelism',
      '1',
      '--state-dir',
      join(root, state),
    ];
    const first = startCli(args('state-a'));
    await until('the first apply waits at a registration', () => gated > 0);
    const second = await runCli(args('state-b'));
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`the apply lock is held by poolsync apply \\([^)]*, pid ${first.child.pid}\\)`),
    );
    expect(second.stderr).not.toMatch(/\n\s+at /);
    open();
    const done = await first.done;
    expect(done.code).toBe(0);
    // Released at the end: the next apply (from the other state dir) runs.
    const third = await runCli(args('state-b'));
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('No changes');
  }, 60_000);
});

describe('state forget and import on a served control plane: the locks an apply there takes', () => {
  it('named by its URL, they hold its lease while they write its inventory: an apply from another machine excludes them, and they it', async () => {
    const { embedded, server } = await servedControlPlane();
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), REPO);
    const on = ['--control-plane', server.url, '--state-dir', join(root, 'state')];
    expect((await runCli(['apply', repo, '--auto-approve', ...on])).code).toBe(0);
    const recorded = await embedded.inventory.readInventory();
    expect(recordedAddresses(recorded!)).toContain('Queue/batch');
    // Who holds the control plane's lock whenever its inventory is written.
    const writers: (string | undefined)[] = [];
    const write = embedded.inventory.writeInventory.bind(embedded.inventory);
    embedded.inventory.writeInventory = async (record) => {
      writers.push((await embedded.applyLock.getApplyLock())?.holder);
      return write(record);
    };
    // An apply from another machine (no lock file of this one's) holds the control plane's lock.
    const other = new HttpControlPlane(server.url).applyLock;
    const id = 'c'.repeat(24);
    const holder = 'poolsync apply (ci@runner-7, pid 4242)';
    await other.acquireApplyLock({ id, holder, ttl_seconds: 30 });
    const refused = (undone: string) =>
      new RegExp(
        `^Error: ${undone}: the apply lock is held by poolsync apply \\(ci@runner-7, pid 4242\\) since .*, then run it again \\(or pass --lock-timeout 5m to wait for it\\)\n$`,
      );
    const forgot = await runCli(['state', 'forget', 'Queue/batch', repo, ...on]);
    expect([forgot.code, forgot.stdout]).toEqual([1, '']);
    expect(forgot.stderr).toMatch(refused('Queue/batch was not forgotten'));
    expect(writers).toEqual([]);
    await other.releaseApplyLock(id);

    expect((await runCli(['state', 'forget', 'Queue/batch', repo, ...on])).code).toBe(0);
    expect((await embedded.inventory.readInventory())?.forgotten).toEqual(['Queue/batch']);
    expect(writers).toEqual([expect.stringMatching(/^poolsync state forget \(/)]);
    // Let go once written: the other machine's apply takes it.
    await other.acquireApplyLock({ id, holder, ttl_seconds: 30 });
    const imported = await runCli(['import', 'Queue/batch', '--dir', repo, ...on]);
    expect([imported.code, imported.stdout]).toEqual([1, '']);
    expect(imported.stderr).toMatch(refused('Queue/batch was not adopted again'));
    await other.releaseApplyLock(id);
    const again = await runCli(['import', 'Queue/batch', '--dir', repo, ...on]);
    expect(again.stdout).toMatch(/^Adopted Queue\/batch again in the inventory/);
    expect(writers.slice(1)).toEqual([expect.stringMatching(/^poolsync import \(/)]);
    expect((await embedded.inventory.readInventory())?.forgotten).toBeUndefined();
    expect(await embedded.applyLock.getApplyLock()).toBeNull();
  });

  it('named by the file: state `control-plane serve` serves, they are refused as an apply is (that process holds the state), saying to use its URL; through it they work', async () => {
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), REPO);
    const state = join(root, 'cp.json');
    const { url, serve } = await servedByCli(['--state', state]);
    const sd = ['--state-dir', join(root, 'state')];
    expect(
      (await runCli(['apply', repo, '--control-plane', url, '--auto-approve', ...sd])).code,
    ).toBe(0);
    const inventory = `${state}.inventory.json`;
    const before = await readFile(inventory, 'utf8');
    const file = ['--control-plane', `file:${state}`, ...sd];
    const useItsUrl = `If that process is \`poolsync control-plane serve\`, pass the URL it serves as --control-plane, as its applies do; else stop it or use another state file \\(if no poolsync process has it open, delete ${state}\\.lock\\)`;
    const forgot = await runCli(['state', 'forget', 'Queue/batch', repo, ...file]);
    expect([forgot.code, forgot.stdout]).toEqual([1, '']);
    expect(forgot.stderr).toMatch(
      new RegExp(
        `^Error: Queue/batch was not forgotten: control-plane state ${state} is in use by process ${serve.child.pid} on .*\\. ${useItsUrl}, then run it again \\(or pass --lock-timeout 5m to wait for it\\)\n$`,
      ),
    );
    expect(await readFile(inventory, 'utf8')).toBe(before);
    // Every command opening the state for writing says the same, in the same words (store.ts).
    const applied = await runCli(['apply', repo, '--auto-approve', ...file]);
    expect([applied.code, applied.stdout]).toEqual([1, '']);
    expect(applied.stderr).toMatch(
      new RegExp(
        `^Error: control-plane state ${state} is in use by process ${serve.child.pid} on .*\\. ${useItsUrl} \\(or pass --lock-timeout 5m to wait for it\\)\n$`,
      ),
    );

    const viaUrl = await runCli([
      'state',
      'forget',
      'Queue/batch',
      repo,
      '--control-plane',
      url,
      ...sd,
    ]);
    expect(viaUrl.code).toBe(0);
    expect(JSON.parse(await readFile(inventory, 'utf8'))).toMatchObject({
      forgotten: ['Queue/batch'],
    });
    const imported = await runCli(['import', 'Queue/batch', '--dir', repo, ...file]);
    expect(imported.stderr).toMatch(
      /^Error: Queue\/batch was not adopted again: control-plane state .* is in use by process /,
    );
  }, 60_000);
});

describe('--lock k8s:NAMESPACE/NAME (control planes with no lock of their own)', () => {
  it('the Lease excludes a second apply (naming the holder) until released; without it, a warning', async () => {
    const kube = await startFakeKubeApi();
    cleanup.add(() => kube.close());
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kube.kubeconfig);
    // A backend without ApplyLockProvider, as Union and flyteadmin are.
    const union = { backend: { name: 'union', kinds: [] } } as unknown as ControlPlane;
    const k8s = { kubeConfig, ref: { namespace: 'poolsync', name: 'apply-lock' } };
    const opts = {
      cp: union,
      url: 'dns:///union.example.com',
      who: 'poolsync apply',
      warn: () => {},
    };
    const first = await holdSharedApplyLock({ ...opts, k8s, lockFile: '/a/lock' });
    expect(first.scope).toBe('Lease poolsync/apply-lock');
    const refused = await holdSharedApplyLock({ ...opts, k8s, lockFile: '/b/lock' }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as Error).message).toMatch(
      /Lease poolsync\/apply-lock\) is held by poolsync apply /,
    );
    await first.release();
    const second = await holdSharedApplyLock({ ...opts, k8s, lockFile: '/b/lock' });
    await second.release();

    const warnings: string[] = [];
    const none = await holdSharedApplyLock({ ...opts, warn: (m) => warnings.push(m) });
    expect(none.scope).toBe('this machine only');
    expect(warnings.join()).toMatch(
      /union control plane has no apply lock of its own: only applies from this machine are excluded; pass --lock k8s:NAMESPACE\/NAME/,
    );
    await none.release();
  });

  it('with a file: control plane (which has its own lock) it is not used, and a warning says so once', async () => {
    const kube = await startFakeKubeApi();
    cleanup.add(() => kube.close());
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), REPO);
    const r = await runCli(
      [
        'apply',
        repo,
        '--control-plane',
        `file:${join(root, 'state.json')}`,
        '--auto-approve',
      ].concat(['--state-dir', join(root, 'sd'), '--lock', 'k8s:poolsync/apply-lock']),
      { KUBECONFIG: kube.kubeconfig },
    );
    expect(r.code, r.stderr).toBe(0);
    const said =
      'warning: --lock k8s:poolsync/apply-lock is not used: the embedded control plane has an apply lock of its own, which every apply to it takes\n';
    expect(r.stderr.split(said)).toHaveLength(2);
    expect(kube.leases.size).toBe(0);
  });

  it('a Lease with no kubeconfig is refused before a new file: state is made', async () => {
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), REPO);
    const state = join(root, 'state.json');
    const r = await runCli(
      [
        'apply',
        repo,
        '--control-plane',
        `file:${state}`,
        '--auto-approve',
        '--state-dir',
        join(root, 'sd'),
      ].concat(['--lock', 'k8s:poolsync/apply-lock']),
      { KUBECONFIG: join(root, 'no-kubeconfig') },
    );
    expect([r.code, r.stderr]).toEqual([
      1,
      expect.stringMatching(/^Error: cannot load a Kubernetes configuration .*no-kubeconfig/),
    ]);
    await expect(readdir(root)).resolves.toEqual(['repo']);
  });
});
