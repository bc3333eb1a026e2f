/**
 * src/lease against a Kubernetes-API-compatible Lease endpoint over a real socket, through
 * @kubernetes/client-node (kubeconfig pointing at 127.0.0.1).
 */
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseLock } from '../../src/lease/k8s-lease.js';
import { LeaderElector } from '../../src/lease/leader-elector.js';
import { startFakeKubeApi, type FakeKubeApi } from './fake-kube-api.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function api(): Promise<{ kube: FakeKubeApi; kc: KubeConfig }> {
  const kube = await startFakeKubeApi();
  cleanups.push(() => kube.close());
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfig);
  return { kube, kc };
}

const REF = { namespace: 'poolsync', name: 'leader' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LeaseLock', () => {
  it('of candidates racing for a new Lease exactly one holds it; the others see the holder', async () => {
    const { kube, kc } = await api();
    const locks = ['a', 'b', 'c'].map((id) => new LeaseLock(kc, REF, id, 2000));
    const results = await Promise.all(locks.map((l) => l.tryAcquireOrRenew()));
    expect(results.filter((r) => r.held)).toHaveLength(1);
    const winner = results.find((r) => r.held)!.holder;
    // The losers' next attempt reads the holder (a create of an existing Lease is 409).
    const again = await Promise.all(locks.map((l) => l.tryAcquireOrRenew()));
    expect(again.filter((r) => r.held).map((r) => r.holder)).toEqual([winner]);
    for (const r of again) expect(r.holder).toBe(winner);
    expect(kube.leases.get('poolsync/leader')!.spec.holderIdentity).toBe(winner);
    // MicroTime as the API server wants it (it rejects milliseconds).
    expect(kube.leases.get('poolsync/leader')!.spec.renewTime).toMatch(/\.\d{6}Z$/);
  });

  it('takes a Lease over only after it went unrenewed for its duration; a stale resourceVersion loses with 409', async () => {
    const { kube, kc } = await api();
    const a = new LeaseLock(kc, REF, 'a', 1000);
    const b = new LeaseLock(kc, REF, 'b', 1000);
    expect((await a.tryAcquireOrRenew()).held).toBe(true);
    expect(await b.tryAcquireOrRenew()).toMatchObject({ held: false, holder: 'a' });
    await sleep(600);
    expect((await a.tryAcquireOrRenew()).held).toBe(true); // renewed: b's clock restarts
    const stale = structuredClone(kube.leases.get('poolsync/leader')!);
    await sleep(600);
    expect((await b.tryAcquireOrRenew()).held).toBe(false); // b sees the renewal now
    await sleep(600);
    expect((await b.tryAcquireOrRenew()).held).toBe(false); // 600 ms < the lease's 1 s
    await sleep(500);
    expect(await b.tryAcquireOrRenew()).toMatchObject({ held: true, holder: 'b' });
    expect(kube.leases.get('poolsync/leader')!.spec.leaseTransitions).toBe(1);
    // a reads b's renewal and does not even try to write.
    const before = kube.writes.length;
    expect(await a.tryAcquireOrRenew()).toMatchObject({ held: false, holder: 'b' });
    expect(kube.writes.length).toBe(before);
    // A write based on an old read is refused as the API server does: 409 Conflict.
    const coordination = kc.makeApiClient(CoordinationV1Api);
    const err = await coordination
      .replaceNamespacedLease({ ...REF, body: stale as never })
      .catch((e: unknown) => e);
    expect((err as { code: number }).code).toBe(409);
    expect(kube.leases.get('poolsync/leader')!.spec.holderIdentity).toBe('b');
  });
});

describe('LeaderElector', () => {
  it('three candidates: one leads; when it stops renewing another leads within the lease duration', async () => {
    const { kc } = await api();
    const timing = { leaseDurationMs: 1000, renewDeadlineMs: 700, retryPeriodMs: 100 };
    const leading = new Map<string, number>();
    const stopped: string[] = [];
    const electors = ['a', 'b', 'c'].map(
      (id) =>
        new LeaderElector(new LeaseLock(kc, REF, id, timing.leaseDurationMs), timing, {
          onStartedLeading: () => leading.set(id, performance.now()),
          onStoppedLeading: () => stopped.push(id),
        }),
    );
    for (const e of electors) e.start();
    cleanups.push(async () => {
      for (const e of electors) await e.stop();
    });
    await sleep(800);
    expect(electors.filter((e) => e.isLeader)).toHaveLength(1);
    const first = electors.find((e) => e.isLeader)!;
    for (const e of electors) expect(e.leader).toBe(first.identity);
    // The leader's renewals fail from now on (a partition): it steps down by its renew deadline.
    const killedAt = performance.now();
    (first.lock as unknown as { tryAcquireOrRenew: () => Promise<never> }).tryAcquireOrRenew = () =>
      Promise.reject(new Error('connection refused'));
    await sleep(timing.leaseDurationMs + 600);
    expect(stopped).toContain(first.identity);
    expect(first.isLeader).toBe(false);
    const next = electors.filter((e) => e.isLeader);
    expect(next).toHaveLength(1);
    expect(next[0]).not.toBe(first);
    const tookOver = leading.get(next[0]!.identity)! - killedAt;
    expect(tookOver).toBeLessThan(timing.leaseDurationMs + 3 * timing.retryPeriodMs + 300);
    expect(tookOver).toBeGreaterThanOrEqual(timing.leaseDurationMs - timing.retryPeriodMs);
  });

  it('a leader that stops gives the Lease up: another takes over without waiting out the lease', async () => {
    const { kc } = await api();
    const timing = { leaseDurationMs: 5000, renewDeadlineMs: 3000, retryPeriodMs: 100 };
    const electors = ['a', 'b'].map(
      (id) =>
        new LeaderElector(new LeaseLock(kc, REF, id, timing.leaseDurationMs), timing, {
          onStartedLeading: () => {},
          onStoppedLeading: () => {},
        }),
    );
    for (const e of electors) e.start();
    cleanups.push(async () => {
      for (const e of electors) await e.stop();
    });
    await sleep(500);
    const first = electors.find((e) => e.isLeader)!;
    const other = electors.find((e) => e !== first)!;
    await first.stop();
    await sleep(1500);
    expect(other.isLeader).toBe(true);
  });

  it("publishes the holder's address with the Lease; renewing leaves no abort listener behind (no MaxListenersExceededWarning)", async () => {
    const { kube, kc } = await api();
    const timing = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 20 };
    const locks = ['a', 'b'].map((id) => new LeaseLock(kc, REF, id, timing.leaseDurationMs));
    locks[0]!.address = 'http://10.0.0.1:8080';
    locks[1]!.address = 'http://10.0.0.2:8080';
    const electors = locks.map(
      (lock) =>
        new LeaderElector(lock, timing, { onStartedLeading: () => {}, onStoppedLeading: () => {} }),
    );
    electors[0]!.start();
    cleanups.push(async () => {
      for (const e of electors) await e.stop();
    });
    const renewals = () => kube.writes.filter((w) => w.holder === 'a' && w.status < 300).length;
    while (renewals() < 30) await sleep(10);
    electors[1]!.start();
    while (electors[1]!.leader !== 'a') await sleep(10);
    expect(electors[1]!.leaderAddress).toBe('http://10.0.0.1:8080');
    expect(kube.leases.get('poolsync/leader')!.metadata.annotations).toEqual({
      'poolsync.dev/holder-address': 'http://10.0.0.1:8080',
    });
    // The elector waits on one long-lived signal between attempts: after 30 renewals it has
    // at most the listener of the wait in progress.
    const stopping = (electors[0] as unknown as { stopping: AbortController }).stopping.signal;
    expect(getEventListeners(stopping, 'abort').length).toBeLessThanOrEqual(1);
    // The holder gives the Lease up: its address goes with it.
    await electors[0]!.stop();
    expect(kube.leases.get('poolsync/leader')!.metadata.annotations).toEqual({});
  });
});
