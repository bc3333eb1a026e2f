/**
 * A caller's signal (a daemon's leadership term, docs/daemon.md#nothing-runs-twice) ends every
 * call of a client opened with it, for each network backend over a real socket: a call in flight
 * is abandoned (its connection closed: a proxy holding it then drops it instead of forwarding
 * it), it is not retried, and nothing is sent after, token requests included.
 */
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import type { FlyteadminControlPlane } from '../../src/controlplane/flyteadmin/client.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { until } from '../support/until.js';
import { apiKey, startUnionServer } from './union/helpers.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  startFlyteadmin,
  useCredentials,
} from '../flyteadmin/helpers.js';

const ENDED = 'stopped leading: the lease was not renewed within the renew deadline (2000 ms)';

/** Opens `url` (its server behind a proxy holding what `held` matches) with a term's signal. */
async function behindProxy(
  upstream: string,
  held: RegExp,
  url: (proxy: string) => string,
  envFor: (proxyHost: string) => Record<string, string> = () => ({}),
) {
  let holding = true;
  const proxy = await startFaultProxy(upstream, (_n, _method, path) =>
    holding && held.test(path) ? 'hold' : 'pass',
  );
  cleanup.add(() => proxy.close());
  const term = new AbortController();
  const cp: ControlPlane = await openControlPlane(url(proxy.url), {
    http: { maxRetries: 4, minRetryDelayMs: 5, maxRetryDelayMs: 20, signal: term.signal },
    env: { ...process.env, ...envFor(proxy.host) },
  });
  cleanup.add(() => cp.close());
  return { cp, proxy, term, stopHolding: () => (holding = false) };
}

/**
 * `call`'s `requests` parallel requests are held, the term ends: abandoned in flight, dropped by
 * the proxy, nothing sent after. The term ends once every request is held, so none is still on
 * its way to the proxy then and the holds counted are the ones the client must leave.
 */
async function endsWithTheTerm(
  o: Awaited<ReturnType<typeof behindProxy>>,
  call: () => Promise<unknown>,
  again: () => Promise<unknown>,
  requests = 1,
): Promise<void> {
  const { proxy, term } = o;
  const pending = call().catch((e: Error) => e);
  await until('the calls held', () => proxy.counts.hold === requests);
  term.abort(new Error(ENDED));
  expect(String(await pending)).toMatch(/abandoned in flight \(stopped leading: /);
  const held = proxy.counts.hold;
  await until('the client gone', () => proxy.counts.left === held);
  proxy.release();
  await until('the held calls dropped', () => proxy.counts.dropped === held);
  o.stopHolding();
  const sent = proxy.counts.requests;
  expect(String(await again().catch((e: Error) => e))).toMatch(/not sent \(stopped leading: /);
  expect(proxy.counts.requests).toBe(sent);
}

describe("a caller's signal ends every call of the client opened with it", () => {
  it('REST API: a registration in flight is abandoned, not retried; nothing is sent after', async () => {
    const { embedded, url } = await servedControlPlane();
    const o = await behindProxy(url, /^\/v1\/clusters$/, (p) => p);
    await endsWithTheTerm(
      o,
      () => o.cp.clusters!.registerCluster({ name: 'prod-1' }),
      () => o.cp.clusters!.listClusters(),
    );
    expect(await embedded.listClusters()).toEqual([]);
  });

  it('REST API: a read abandoned in flight is not said to have been carried out, a write is', async () => {
    const { url } = await servedControlPlane();
    const cut = async (call: (cp: ControlPlane) => Promise<unknown>) => {
      const o = await behindProxy(url, /^\/v1\/clusters(\?.*)?$/, (p) => p);
      const pending = call(o.cp).catch((e: Error) => e);
      await until('the call held', () => o.proxy.counts.hold === 1);
      o.term.abort(new Error(ENDED));
      return String(await pending);
    };
    const read = await cut((cp) => cp.clusters!.listClusters());
    expect(read).toMatch(/GET \S+\/v1\/clusters\S*: abandoned in flight \(stopped leading: .*\)$/);
    expect(read).not.toMatch(/carried out/);
    const write = await cut((cp) => cp.clusters!.registerCluster({ name: 'prod-1' }));
    expect(write).toMatch(
      /POST \S+: abandoned in flight \(stopped leading: .*it may have been carried out/,
    );
  });

  it('Union (Connect): a CreateCluster in flight is abandoned, not retried; nothing is sent after', async () => {
    const s = await startUnionServer();
    cleanup.add(() => s.close());
    const upstream = s.url('connect').replace(/^union\+/, '');
    const o = await behindProxy(
      upstream,
      /ClusterService\/CreateCluster$/,
      (p) => `union+${p}`,
      (host) => ({
        POOLSYNC_UNION_API_KEY: apiKey(host),
      }),
    );
    await endsWithTheTerm(
      o,
      () => o.cp.clusters!.registerCluster({ name: 'c1' }),
      () => o.cp.clusters!.listClusters(),
    );
    expect((await s.embedded.listClusters()).map((c) => c.name)).not.toContain('c1');
  });

  it('flyteadmin with OAuth2: a read in flight is abandoned; nothing is sent after, no token asked', async () => {
    const admin = await startFlyteadmin({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    cleanup.add(() => admin.close());
    cleanup.add(await useCredentials(CLIENT_ID, CLIENT_SECRET));
    const o = await behindProxy(admin.server.url, /^\/api\/v1\//, (p) => `flyteadmin+${p}`);
    const cp = o.cp as FlyteadminControlPlane;
    // Two matchable_attributes lists, the projects (all and the active ones) and the domains.
    await endsWithTheTerm(
      o,
      () => cp.flyteadminState(),
      () => cp.flyteadminState(),
      5,
    );
  });
});
