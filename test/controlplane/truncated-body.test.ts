/**
 * Issue 23, item 3 (quality.md, Reliability: "a truncated or cut-off response is a transient
 * failure like any other"): a real server on 127.0.0.1 cuts response bodies after headers that
 * announce the full Content-Length, or resets the connection mid-body. Every HTTP client of
 * poolsync retries it like any other transient failure, and when it keeps happening says so
 * as UNAVAILABLE, never `Internal error`. The REST client, the flyteadmin client and the
 * forge (pull-request) client.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { ControlPlaneError } from '../../src/controlplane/errors.js';
import { FlyteadminControlPlane } from '../../src/controlplane/flyteadmin/client.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { runCallStep } from '../../src/apply/steps.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { flyteadminGateway } from '../../src/standins/flyteadmin/gateway.js';
import { loadRepository } from '../../src/manifests/index.js';
import { computePlan } from '../../src/plan/index.js';
import { ApiClient } from '../../src/vcs/http.js';
import { VcsApiError } from '../../src/vcs/types.js';
import { startCuttingProxy, type CutMode } from '../support/cutting-proxy.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempDir } from '../support/repo.js';
import { poolContract } from '../support/builders.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'config-repo');
const STACK = /Internal error|\n\s+at |TypeError|SocketError/;
async function embeddedBehind(decide: (n: number) => CutMode, opts: { flyteadmin?: boolean } = {}) {
  const { embedded: cp, url } = await servedControlPlane(
    opts.flyteadmin ? { mounts: [{ handle: flyteadminGateway() }] } : {},
  );
  const proxy = await startCuttingProxy(url, decide);
  cleanup.add(() => proxy.close());
  return { cp, proxy };
}

const fast = { minRetryDelayMs: 1, maxRetryDelayMs: 5 };

describe('REST client: a body cut off after its headers is retried', () => {
  it('every other response cut short of its Content-Length, or reset mid-body: the reads and writes succeed', async () => {
    for (const mode of ['cut', 'reset'] as const) {
      const { cp, proxy } = await embeddedBehind((n) => (n % 2 === 1 ? mode : 'pass'));
      const client = new HttpControlPlane(proxy.url, { ...fast, maxRetries: 4 });
      cleanup.add(() => client.close());
      // The create's answer cut: its retry meets ALREADY_EXISTS, which its step finds its own.
      const contract = poolContract('s3://b/m', { secret_store: { type: 'VAULT', locator: 'x' } });
      await runCallStep(client, {
        id: 's1',
        target: 'ClusterPool/p',
        depends_on: [],
        op: 'create_pool',
        args: { name: 'p', contract },
      });
      const live = await readLiveState(client);
      expect(live.pools.map((p) => p.name).sort(), mode).toEqual(['default', 'p']);
      expect((await cp.listPools()).map((p) => p.name).sort()).toEqual(['default', 'p']);
      expect(proxy.counts.cut, mode).toBeGreaterThan(0);
    }
  });

  it('every response cut: UNAVAILABLE naming the cut, after the retries', async () => {
    const { proxy } = await embeddedBehind(() => 'cut');
    const client = new HttpControlPlane(proxy.url, { ...fast, maxRetries: 2 });
    cleanup.add(() => client.close());
    const err = (await client.listPools().catch((e: unknown) => e)) as ControlPlaneError;
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/v1\/pools\?limit=\d+: the control plane's answer could not be read \(body cut off: \w+\), still failing after 2 retries$/,
    );
    expect(proxy.counts.cut).toBe(3);
  });

  it('apply of the example repository converges through a proxy cutting every third body; a plan through one cutting all ends with UNAVAILABLE, not an internal error', async () => {
    const { cp, proxy } = await embeddedBehind((n) => (n % 3 === 0 ? 'cut' : 'pass'));
    const r = await runCli([
      'apply',
      EXAMPLE,
      '--control-plane',
      proxy.url,
      '--auto-approve',
      '--state-dir',
      await tempDir(),
    ]);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.code, r.stderr).toBe(0);
    expect(proxy.counts.cut).toBeGreaterThan(0);
    const loaded = await loadRepository(EXAMPLE);
    if (!loaded.valid) throw new Error('example invalid');
    expect(computePlan(loaded.desired, await readLiveState(cp)).steps).toEqual([]);

    const all = await embeddedBehind(() => 'cut');
    const plan = await runCli(
      ['plan', EXAMPLE, '--control-plane', all.proxy.url, '--max-retries', '2'],
      {},
    );
    expect(plan.code).toBe(1);
    expect(plan.stderr).not.toMatch(STACK);
    expect(plan.stderr).toMatch(
      /could not be read \(body cut off: \w+\), still failing after 2 retries/,
    );
  }, 120_000);
});

describe('flyteadmin client: a body cut off after its headers is retried', () => {
  it('reads through every other response cut, and says UNAVAILABLE when all are', async () => {
    const { proxy } = await embeddedBehind((n) => (n % 2 === 1 ? 'reset' : 'pass'), {
      flyteadmin: true,
    });
    const client = new FlyteadminControlPlane(proxy.url, fast);
    cleanup.add(() => client.close());
    const live = await readLiveState(client);
    expect(live.assignments).toEqual([]);
    expect(proxy.counts.cut).toBeGreaterThan(0);

    const all = await embeddedBehind(() => 'cut', { flyteadmin: true });
    const broken = new FlyteadminControlPlane(all.proxy.url, { ...fast, maxRetries: 2 });
    cleanup.add(() => broken.close());
    const err = (await readLiveState(broken).catch((e: unknown) => e)) as ControlPlaneError;
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(
      /answer could not be read \(body cut off: \w+\), still failing after 2 retries/,
    );
  });
});

describe('forge client: a body cut off after its headers', () => {
  async function forge(decide: (n: number) => CutMode) {
    let posts = 0;
    const server = createServer((req, res) => {
      if (req.method === 'POST') posts++;
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ id: 1, body: 'x'.repeat(2000) }]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const proxy = await startCuttingProxy(upstream, decide);
    const api = new ApiClient({
      provider: 'GitHub',
      baseUrl: proxy.url,
      headers: { authorization: 'Bearer ghp_forgetoken' },
      secrets: ['ghp_forgetoken'],
      mapError: (status) => `HTTP ${status}`,
      retry: { maxRetries: 3, minDelayMs: 1, maxDelayMs: 5 },
    });
    cleanup.add(async () => {
      await api.close();
      await proxy.close();
      await new Promise((r) => server.close(r));
    });
    return { api, proxy, posts: () => posts };
  }

  it('a read is retried; a new comment is not repeated, and its error says the answer was lost', async () => {
    const reads = await forge((n) => (n === 1 ? 'cut' : 'pass'));
    const res = await reads.api.call({
      method: 'GET',
      path: '/repos/o/r/issues/1/comments',
      operation: 'list comments',
    });
    expect((res.json as unknown[]).length).toBe(1);
    expect(reads.proxy.counts.cut).toBe(1);

    const once = await forge(() => 'reset');
    const err = (await once.api
      .call({
        method: 'POST',
        path: '/repos/o/r/issues/1/comments',
        body: { body: 'plan' },
        operation: 'create a comment',
        nonIdempotent: true,
      })
      .catch((e: unknown) => e)) as VcsApiError;
    expect(err).toBeInstanceOf(VcsApiError);
    expect(err.message).toMatch(
      /^GitHub API at http:\/\/127\.0\.0\.1:\d+ answered but its response to create a comment was cut off \(\w+\); the change may have been made, and is found again on the next run\.$/,
    );
    expect(once.posts()).toBe(1);
  });
});
