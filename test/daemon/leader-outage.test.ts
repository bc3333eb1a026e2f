/**
 * A replica's log through Kubernetes API outages (src/daemon/leader.ts, docs/daemon.md#high-availability):
 * each outage is said once, however many retries fail, and its end is said once; a second outage
 * is said again. On the fake Kubernetes API behind a proxy that refuses connections while down.
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { electedLeadership } from '../../src/daemon/leader.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { cleanup } from '../support/cleanup.js';
import { startFakeKubeApi, writeKubeconfig } from '../support/fake-kube-api.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { until } from '../support/until.js';

describe("a follower's log when the Kubernetes API goes away and comes back", () => {
  it('says each outage once and its end once; a second outage is said again', async () => {
    const kube = await startFakeKubeApi();
    cleanup.add(async () => {
      await kube.close();
      await rm(dirname(kube.kubeconfig), { recursive: true, force: true });
    });
    let down = false;
    let landed = 0;
    const proxy = await startFaultProxy(
      kube.url,
      () => (down ? 'refuse' : 'pass'),
      () => void (landed += 1),
    );
    cleanup.add(() => proxy.close());
    const viaProxy = writeKubeconfig(proxy.url, kube.token);
    cleanup.add(() => rm(dirname(viaProxy), { recursive: true, force: true }));
    const election = (identity: string) => ({
      lease: { namespace: 'poolsync', name: 'outages' },
      identity,
      advertiseAddress: null,
      // Long enough that the leader keeps it on a busy machine: only the follower's reads fail.
      leaseDurationMs: 20_000,
      renewDeadlineMs: 15_000,
      retryPeriodMs: 100,
    });
    const deps = (kubeconfig: string, stream?: Writable) => {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(kubeconfig);
      return {
        logger: stream ? pino(stream) : pino({ level: 'silent' }),
        metrics: new DaemonMetrics({ processMetrics: false }),
        kubeConfig,
        env: {},
        limits: DEFAULT_LIMITS,
      };
    };
    const leader = electedLeadership(election('replica-b'), deps(kube.kubeconfig));
    cleanup.add(() => leader.stop());
    leader.start(() => {}, 'http://127.0.0.1:1');
    await until('replica-b leads', () => leader.isLeader());

    const logged: { msg: string; err?: string }[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => done(void logged.push(JSON.parse(`${chunk}`))),
    });
    const follower = electedLeadership(election('replica-a'), deps(viaProxy, sink));
    cleanup.add(() => follower.stop());
    follower.start(() => {}, 'http://127.0.0.1:2');
    await until('replica-a follows replica-b', () => follower.status()?.leader === 'replica-b');
    const said = () => logged.map((l) => l.msg).filter((m) => m !== 'the leader is replica-b');

    // Each outage: several attempts refused (one line), then attempts answered again; the
    // elector sends one at a time, so the second answered was sent after the first was read.
    for (const outage of [1, 2]) {
      down = true;
      await until(`outage ${outage}: attempts refused`, () => proxy.counts.refuse >= outage * 3);
      down = false;
      const before = landed;
      await until(`outage ${outage}: two attempts answered`, () => landed >= before + 2);
    }
    expect(said()).toEqual([
      'leader election',
      'reaching the Kubernetes API again',
      'leader election',
      'reaching the Kubernetes API again',
    ]);
    expect(follower.isLeader()).toBe(false);
  });
});
