/**
 * src/lease (the Lease lock and leader election) through @kubernetes/client-node over a real
 * socket, as the ServiceAccount of examples/deploy/rbac.yaml, against the real kube-apiserver
 * with etcd (scripts/kube-go.sh; skipped, saying why, without them) and against the stand-in
 * (fake-kube-api.ts), which kube-answers.test.ts holds to the real server's answers.
 */
import { CoordinationV1Api, KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { LeaseLock } from '../../src/lease/k8s-lease.js';
import { LeaderElector, type Term } from '../../src/lease/leader-elector.js';
import { until } from '../support/until.js';
import { ManualClock } from '../support/virtual-clock.js';
import { KUBE_SERVERS, LEASES, type KubeServer } from './kube-servers.js';

for (const kind of KUBE_SERVERS) {
  describe.skipIf(kind.skip !== null)(`against the ${kind.name}`, () => {
    let k: KubeServer;
    let kc: KubeConfig;
    beforeAll(async () => {
      k = await kind.start();
      kc = new KubeConfig();
      kc.loadFromFile(k.kubeconfig);
    });
    afterAll(() => k?.close());

    // A Lease of its own per test: one server serves the whole file.
    let count = 0;
    const newRef = () => ({ namespace: 'poolsync', name: `leader-${++count}` });
    const stored = async (ref: { name: string }) => {
      const a = await k.call('admin', 'GET', `${LEASES}/${ref.name}`);
      return a.status === 200 ? (a.body as V1Lease) : null;
    };

    describe('LeaseLock', () => {
      it('of candidates racing for a new Lease exactly one holds it; the others see the holder', async () => {
        const REF = newRef();
        const locks = ['a', 'b', 'c'].map((id) => new LeaseLock(kc, REF, id, 2000));
        const results = await Promise.all(locks.map((l) => l.tryAcquireOrRenew()));
        expect(results.filter((r) => r.held)).toHaveLength(1);
        const winner = results.find((r) => r.held)!.holder;
        // The losers' next attempt reads the holder (a create of an existing Lease is 409).
        const again = await Promise.all(locks.map((l) => l.tryAcquireOrRenew()));
        expect(again.filter((r) => r.held).map((r) => r.holder)).toEqual([winner]);
        for (const r of again) expect(r.holder).toBe(winner);
        expect((await stored(REF))!.spec!.holderIdentity).toBe(winner);
        // MicroTime as the API server wants it (it rejects milliseconds).
        expect(String((await stored(REF))!.spec!.renewTime)).toMatch(/\.\d{6}Z$/);
      });

      it('takes a Lease over only after it went unrenewed for its duration; a stale resourceVersion loses with 409', async () => {
        const REF = newRef();
        const clock = new ManualClock();
        const a = new LeaseLock(kc, REF, 'a', 1000, clock);
        const b = new LeaseLock(kc, REF, 'b', 1000, clock);
        expect((await a.tryAcquireOrRenew()).held).toBe(true);
        expect(await b.tryAcquireOrRenew()).toMatchObject({ held: false, holder: 'a' });
        clock.advance(600);
        expect((await a.tryAcquireOrRenew()).held).toBe(true); // renewed: b's clock restarts
        const stale = await stored(REF);
        clock.advance(600);
        expect((await b.tryAcquireOrRenew()).held).toBe(false); // b sees the renewal now
        clock.advance(600);
        expect((await b.tryAcquireOrRenew()).held).toBe(false); // 600 ms < the lease's 1 s
        clock.advance(500);
        expect(await b.tryAcquireOrRenew()).toMatchObject({ held: true, holder: 'b' });
        expect((await stored(REF))!.spec!.leaseTransitions).toBe(1);
        // a reads b's renewal and does not even try to write.
        const rv = (await stored(REF))!.metadata!.resourceVersion;
        expect(await a.tryAcquireOrRenew()).toMatchObject({ held: false, holder: 'b' });
        expect((await stored(REF))!.metadata!.resourceVersion).toBe(rv);
        // A write based on an old read is refused by the API server: 409 Conflict.
        const coordination = kc.makeApiClient(CoordinationV1Api);
        const err = await coordination
          .replaceNamespacedLease({ ...REF, body: stale! })
          .catch((e: unknown) => e);
        expect((err as { code: number }).code).toBe(409);
        expect((await stored(REF))!.spec!.holderIdentity).toBe('b');
      });

      it('a Lease deleted between the read and the write (409, the UID precondition) is created again at once: its holder keeps it', async () => {
        const REF = newRef();
        const a = new LeaseLock(kc, REF, 'a', 5000);
        expect((await a.tryAcquireOrRenew()).held).toBe(true);
        const api = (a as unknown as { api: CoordinationV1Api }).api;
        const read = api.readNamespacedLease.bind(api);
        let deleted = false;
        api.readNamespacedLease = async (param) => {
          const lease = await read(param);
          if (!deleted) {
            deleted = true;
            expect((await k.call('admin', 'DELETE', `${LEASES}/${REF.name}`)).status).toBe(200);
          }
          return lease;
        };
        expect(await a.tryAcquireOrRenew()).toMatchObject({ held: true, holder: 'a' });
        expect(deleted).toBe(true);
        expect((await stored(REF))!.spec!.holderIdentity).toBe('a');
        // Releasing a Lease that is gone is nothing to do.
        await k.call('admin', 'DELETE', `${LEASES}/${REF.name}`);
        await expect(a.release()).resolves.toBeUndefined();
      });
    });

    describe('LeaderElector', () => {
      // The electors wait on a clock the test moves: each attempt's requests to the API server
      // are answered before time moves on, so every duration is exact and takes no real time.
      let clock: ManualClock;
      let inFlight: number;
      beforeEach(() => {
        clock = new ManualClock();
        inFlight = 0;
      });
      const lockOf = (ref: { namespace: string; name: string }, id: string, ms: number) => {
        const lock = new LeaseLock(kc, ref, id, ms, clock);
        const attempt = lock.tryAcquireOrRenew.bind(lock);
        lock.tryAcquireOrRenew = async () => {
          inFlight++;
          try {
            return await attempt();
          } finally {
            inFlight--;
          }
        };
        return lock;
      };
      /**
       * Moves time on by `ms`, 10 ms at a time, each once the `electing` electors wait on it
       * (each for its next attempt, a leader also for its renew deadline).
       */
      const pass = async (ms: number, electing: LeaderElector[], others = () => 0) => {
        const settled = () =>
          until(
            'the electors to wait on the clock',
            () =>
              inFlight === 0 &&
              clock.sleeping ===
                electing.length + electing.filter((e) => e.isLeader).length + others(),
            { intervalMs: 1 },
          );
        for (let t = 0; t < ms; t += 10) {
          await settled();
          clock.advance(10);
        }
        await settled();
      };

      it('three candidates: one leads; when it stops renewing another leads within the lease duration', async () => {
        const REF = newRef();
        const timing = { leaseDurationMs: 1000, renewDeadlineMs: 700, retryPeriodMs: 100 };
        const leading = new Map<string, number>();
        const stopped: string[] = [];
        const electors = ['a', 'b', 'c'].map(
          (id) =>
            new LeaderElector(
              lockOf(REF, id, timing.leaseDurationMs),
              timing,
              {
                onStartedLeading: () => leading.set(id, clock.now()),
                onStoppedLeading: () => stopped.push(id),
              },
              null,
              clock,
            ),
        );
        for (const e of electors) e.start();
        cleanup.add(async () => {
          for (const e of electors) await e.stop();
        });
        await pass(800, electors);
        expect(electors.filter((e) => e.isLeader)).toHaveLength(1);
        const first = electors.find((e) => e.isLeader)!;
        for (const e of electors) expect(e.leader).toBe(first.lock.identity);
        // The leader's renewals fail from now on (a partition): it steps down by its renew deadline.
        const killedAt = clock.now();
        (first.lock as unknown as { tryAcquireOrRenew: () => Promise<never> }).tryAcquireOrRenew =
          () => Promise.reject(new Error('connection refused'));
        await pass(timing.leaseDurationMs + 600, electors);
        expect(stopped).toContain(first.lock.identity);
        expect(first.isLeader).toBe(false);
        const next = electors.filter((e) => e.isLeader);
        expect(next).toHaveLength(1);
        expect(next[0]).not.toBe(first);
        const tookOver = leading.get(next[0]!.lock.identity)! - killedAt;
        expect(tookOver).toBeLessThan(timing.leaseDurationMs + 3 * timing.retryPeriodMs + 300);
        expect(tookOver).toBeGreaterThanOrEqual(timing.leaseDurationMs - timing.retryPeriodMs);
      });

      it('a leader that stops gives the Lease up: another takes over without waiting out the lease', async () => {
        const REF = newRef();
        const timing = { leaseDurationMs: 5000, renewDeadlineMs: 3000, retryPeriodMs: 100 };
        const electors = ['a', 'b'].map(
          (id) =>
            new LeaderElector(
              lockOf(REF, id, timing.leaseDurationMs),
              timing,
              { onStartedLeading: () => {}, onStoppedLeading: () => {} },
              null,
              clock,
            ),
        );
        for (const e of electors) e.start();
        cleanup.add(async () => {
          for (const e of electors) await e.stop();
        });
        await pass(500, electors);
        const first = electors.find((e) => e.isLeader)!;
        const other = electors.find((e) => e !== first)!;
        await first.stop();
        await pass(1500, [other]);
        expect(other.isLeader).toBe(true);
      });

      it("publishes the holder's address with the Lease; renewing leaves no abort listener behind (no MaxListenersExceededWarning)", async () => {
        const REF = newRef();
        const timing = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 20 };
        const locks = ['a', 'b'].map((id) => lockOf(REF, id, timing.leaseDurationMs));
        locks[0]!.address = 'http://10.0.0.1:8080';
        locks[1]!.address = 'http://10.0.0.2:8080';
        let renewals = 0;
        const attempt = locks[0]!.tryAcquireOrRenew.bind(locks[0]);
        locks[0]!.tryAcquireOrRenew = async () => {
          const o = await attempt();
          if (o.held) renewals++;
          return o;
        };
        const electors = locks.map(
          (lock) =>
            new LeaderElector(
              lock,
              timing,
              { onStartedLeading: () => {}, onStoppedLeading: () => {} },
              null,
              clock,
            ),
        );
        electors[0]!.start();
        cleanup.add(async () => {
          for (const e of electors) await e.stop();
        });
        while (renewals < 30) await pass(10, [electors[0]!]);
        electors[1]!.start();
        while (electors[1]!.leader !== 'a') await pass(10, electors);
        expect(electors[1]!.leaderAddress).toBe('http://10.0.0.1:8080');
        expect((await stored(REF))!.metadata!.annotations).toEqual({
          'poolsync.dev/holder-address': 'http://10.0.0.1:8080',
        });
        // The elector waits on one long-lived signal between attempts: after 30 renewals it has
        // at most the listener of the wait in progress.
        const stopping = (electors[0] as unknown as { stopping: AbortController }).stopping.signal;
        expect(getEventListeners(stopping, 'abort').length).toBeLessThanOrEqual(1);
        // The holder gives the Lease up: its address goes with it (the server leaves the empty
        // map out of its answer).
        await electors[0]!.stop();
        expect((await stored(REF))!.metadata!.annotations ?? {}).toEqual({});
      });

      it('a term ends at the renew deadline after the last renewal sent, however long the next hangs; a renewal answered after it starts no term; each term has its own id', async () => {
        const REF = newRef();
        const timing = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 };
        const lock = lockOf(REF, 'a', timing.leaseDurationMs);
        const terms: Term[] = [];
        const stopped: [number, string][] = [];
        const elector = new LeaderElector(
          lock,
          timing,
          {
            onStartedLeading: (t) => terms.push(t),
            onStoppedLeading: (why) => stopped.push([clock.now(), why]),
          },
          null,
          clock,
        );
        const t0 = clock.now();
        elector.start();
        cleanup.add(() => elector.stop());
        await pass(250, [elector]); // acquired at 0, renewed at 100 and 200
        expect(terms).toHaveLength(1);
        expect(terms[0]!.signal.aborted).toBe(false);
        // From 300 on the renewal is sent and not answered (the API server cut off).
        const renew = lock.tryAcquireOrRenew.bind(lock);
        let answer!: () => void;
        lock.tryAcquireOrRenew = () =>
          new Promise((resolve) => (answer = () => void renew().then(resolve)));
        await pass(40, [elector]);
        clock.advance(10); // 300: the renewal is sent
        while (clock.now() < t0 + 900) {
          // The renewal in flight; only the term's deadline waits on the clock.
          const waiting = () => clock.sleeping === (elector.isLeader ? 1 : 0);
          await until('the deadline to wait', waiting, { intervalMs: 1 });
          clock.advance(10);
        }
        // Sent at 200: the term ended at 200 + 600, not 600 after an answer.
        expect(stopped).toEqual([
          [t0 + 800, expect.stringMatching(/not renewed within the renew deadline/)],
        ]);
        expect(terms[0]!.signal.aborted).toBe(true);
        expect((terms[0]!.signal.reason as Error).message).toMatch(/^stopped leading: /);
        // The hung renewal is answered now (it renews the Lease): no term from it.
        lock.tryAcquireOrRenew = renew;
        answer();
        await until('the late answer handled', () => inFlight === 0 && clock.sleeping === 1);
        expect(terms).toHaveLength(1);
        expect(elector.isLeader).toBe(false);
        // The next attempt leads again: a new term, with an id of its own. Its Lease kept, no
        // lease duration passed: it writes only once the last term's writes may have landed,
        // the longest write (1000 - 600 by default) after that term ended.
        let writableAt: number | null = null;
        const waiting = () => (terms.length === 2 && writableAt === null ? 1 : 0);
        await pass(200, [elector], waiting);
        expect(terms).toHaveLength(2);
        expect(terms[1]!.id).not.toBe(terms[0]!.id);
        expect(terms[1]!.signal.aborted).toBe(false);
        void terms[1]!.writable!.then(() => (writableAt = clock.now()));
        while (writableAt === null) await pass(10, [elector], waiting);
        expect(writableAt).toBeGreaterThanOrEqual(t0 + 800 + 400);
      });

      it('the API server out of reach: the deposed leader names no leader at its renew deadline, a follower a lease duration after its last read; both say since when and why', async () => {
        const REF = newRef();
        const timing = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 };
        const events = { onStartedLeading: () => {}, onStoppedLeading: () => {} };
        const locks = ['a', 'b'].map((id) => lockOf(REF, id, timing.leaseDurationMs));
        const [a, b] = locks.map((l) => new LeaderElector(l, timing, events, null, clock));
        for (const e of [a!, b!]) cleanup.add(() => e.stop());
        for (const l of locks) l.address = `http://${l.identity}:8080`;
        a!.start();
        await pass(50, [a!]);
        b!.start();
        await pass(200, [a!, b!]);
        expect([a!.leader, b!.leader, b!.leaderAddress]).toEqual(['a', 'a', 'http://a:8080']);
        // Every Lease call fails from now on (the kube-apiserver was stopped).
        const down = 'cannot reach the Kubernetes API: connect ECONNREFUSED';
        const attempts = locks.map((l) => l.tryAcquireOrRenew.bind(l));
        for (const l of locks) l.tryAcquireOrRenew = () => Promise.reject(new Error(down));
        const cut = clock.now();
        await pass(600, [a!, b!]);
        // a sent its last renewal before the cut: its term ended 600 ms after it.
        expect(a!.isLeader).toBe(false);
        expect([a!.leader, a!.leaderAddress, a!.leaseError]).toEqual([null, null, down]);
        const renewed = a!.leaseUnreadSince!.getTime();
        expect(renewed).toBeLessThanOrEqual(cut);
        expect(renewed).toBeGreaterThan(cut - timing.retryPeriodMs);
        // b read a's renewal within the lease duration: a may still lead, as far as b knows.
        expect([b!.leader, b!.leaseUnreadSince, b!.leaseError]).toEqual(['a', null, down]);
        await pass(500, [a!, b!]);
        // A lease duration after b's last read a's Lease has run out unseen: nobody is known.
        expect([b!.leader, b!.leaderAddress]).toEqual([null, null]);
        // Its last read, within a candidate's retry period (jittered up to 1.2 ×) before the cut.
        expect(b!.leaseUnreadSince!.getTime()).toBeGreaterThan(cut - 1.2 * timing.retryPeriodMs);
        expect(b!.leaseUnreadSince!.getTime()).toBeLessThanOrEqual(cut);
        // The API server back: the leader is named again by both.
        locks.forEach((l, i) => (l.tryAcquireOrRenew = attempts[i]!));
        await pass(300, [a!, b!]);
        const leader = [a!, b!].find((e) => e.isLeader)!;
        expect(leader).toBeDefined();
        for (const e of [a!, b!]) {
          expect([e.leader, e.leaseUnreadSince, e.leaseError]).toEqual([
            leader.lock.identity,
            null,
            null,
          ]);
        }
      });

      it('a new term writes only the takeover wait after it began (termTimings), and timings whose longest write it does not cover are refused', async () => {
        const REF = newRef();
        const timing = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 };
        const events = { onStartedLeading: () => {}, onStoppedLeading: () => {} };
        // 600 + 900 > 1000 + 0: a deposed leader's write could land after its successor's first.
        expect(
          () =>
            new LeaderElector(lockOf(REF, 'a', 1000), { ...timing, longestWriteMs: 900 }, events),
        ).toThrow(/renew deadline \(600ms\) \+ longest write \(900ms\) <= lease duration/);
        const terms: Term[] = [];
        const elector = new LeaderElector(
          lockOf(REF, 'a', 1000),
          { ...timing, longestWriteMs: 900, takeoverWaitMs: 500 },
          { ...events, onStartedLeading: (t) => terms.push(t) },
          null,
          clock,
        );
        elector.start();
        cleanup.add(() => elector.stop());
        // Time moves 10 ms at a time once the elector's sleeps (its next attempt, its renew
        // deadline) and the term's wait for writing wait on it.
        const waiting = () => inFlight === 0 && clock.sleeping === 3;
        await until('a term', () => terms.length === 1 && waiting(), { intervalMs: 1 });
        let writableAt: number | null = null;
        void terms[0]!.writable!.then(() => (writableAt = clock.now()));
        while (writableAt === null) {
          await until('the elector to wait on the clock', () => writableAt !== null || waiting(), {
            intervalMs: 1,
          });
          if (writableAt === null) clock.advance(10);
        }
        const began = elector.lastTransitionAt!.getTime();
        expect(writableAt! - began).toBeGreaterThanOrEqual(500);
        expect(writableAt! - began).toBeLessThan(510);
        expect(terms[0]!.signal.aborted).toBe(false);
      });
    });
  });
}
