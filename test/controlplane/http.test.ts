import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { ControlPlaneError } from '../../src/controlplane/errors.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { openControlPlane, resolveToken } from '../../src/controlplane/open.js';
import { shardOf, type ControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import { flyteadminGateway } from '../../src/standins/flyteadmin/gateway.js';
import { readCapabilities, readLiveState } from '../../src/controlplane/types.js';
import { queueSpecWithDefaults, type PoolContract } from '../../src/model/common.js';
import { runCallStep } from '../../src/apply/steps.js';
import { simOverHttp } from './sim-http.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { poolContract } from '../support/builders.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { answeringOnce } from '../support/broken-endpoints.js';

const TOKEN = 'tok-9f8e7d6c5b4a';
const PROD: PoolContract = poolContract('s3://prod', {
  secret_store: { type: 'VAULT', locator: 'secret/prod' },
});

let embedded: EmbeddedControlPlane;
let server: ControlPlaneServer | undefined;
let logs: string;
const clients: HttpControlPlane[] = [];

async function start(
  opts: {
    token?: string;
    simulate?: boolean;
    bodyLimitBytes?: number;
    flyteadmin?: { bodyLimitBytes?: number };
  } = {},
) {
  logs = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  const { flyteadmin, ...rest } = opts;
  const served = await servedControlPlane({
    logger: pino({ level: 'debug' }, sink),
    ...rest,
    ...(flyteadmin ? { mounts: [{ handle: flyteadminGateway(flyteadmin) }] } : {}),
  });
  ({ embedded, server } = served);
  return served.server;
}

function client(opts: ConstructorParameters<typeof HttpControlPlane>[1] = {}) {
  const c = new HttpControlPlane(server!.url, { minRetryDelayMs: 1, maxRetryDelayMs: 20, ...opts });
  clients.push(c);
  return c;
}

async function raw(
  method: string,
  path: string,
  opts: { body?: string | Buffer; token?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await request(`${server!.url}${path}`, {
    method: method as 'GET',
    headers,
    body: opts.body,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : null };
}

// The clients first: the server and the plane close after them, when the test ends.
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  server = undefined;
});

describe('control-plane API server', () => {
  it('bearer auth: 401 without or with a wrong token, 200 with it; the token never reaches the logs', async () => {
    await start({ token: TOKEN });
    expect((await raw('GET', '/v1/pools')).status).toBe(401);
    const wrong = await raw('GET', '/v1/pools', { token: 'nope' });
    expect(wrong).toMatchObject({ status: 401, json: { code: 'UNAUTHENTICATED' } });
    expect(wrong.headers['www-authenticate']).toBe('Bearer');
    expect((await raw('GET', '/v1/pools', { token: TOKEN.slice(0, -1) })).status).toBe(401);
    expect((await raw('GET', '/v1/pools', { token: TOKEN })).status).toBe(200);
    expect((await raw('GET', '/healthz')).status).toBe(200);

    const err = await client({ token: 'wrong-token-value' })
      .listPools()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect((err as ControlPlaneError).code).toBe('UNAUTHENTICATED');
    expect(String((err as Error).message)).not.toContain('wrong-token-value');
    expect(String((err as Error).message)).toMatch(
      /the token was refused: check the token in POOLSYNC_TOKEN \/ POOLSYNC_TOKEN_FILE \/ --token-file/,
    );
    const none = (await client({})
      .listPools()
      .catch((e: unknown) => e)) as ControlPlaneError;
    expect(none.code).toBe('UNAUTHENTICATED');
    expect(none.message).toMatch(
      /no token was sent: set POOLSYNC_TOKEN \(or POOLSYNC_TOKEN_FILE\), or pass --token-file FILE/,
    );
    await client({ token: TOKEN }).createPool('prod', PROD);
    expect(logs).toContain('"path":"/v1/pools"');
    expect(logs).not.toContain(TOKEN);
  });

  it('body limit: a body over the limit gets 413 and changes nothing', async () => {
    await start({ bodyLimitBytes: 64 * 1024 });
    const big = JSON.stringify({ name: 'prod', contract: PROD, pad: 'x'.repeat(100 * 1024) });
    const res = await raw('POST', '/v1/pools', { body: big });
    expect(res).toMatchObject({
      status: 413,
      json: {
        code: 'INVALID_ARGUMENT',
        message: `request body of ${Buffer.byteLength(big)} bytes exceeds the limit of 65536 bytes`,
      },
    });
    // Without a Content-Length (chunked), the body is refused once it grows past the limit.
    const chunked = await request(`${server!.url}/v1/pools`, {
      method: 'POST',
      body: Readable.from(
        (function* () {
          for (let i = 0; i < 10; i++) yield Buffer.from(big.slice(i * 10_240, (i + 1) * 10_240));
        })(),
      ),
    }).then(
      async (r) => ({ status: r.statusCode, json: JSON.parse(await r.body.text()) as unknown }),
      () => null, // the server may close the connection while the client still sends
    );
    if (chunked !== null)
      expect(chunked).toMatchObject({
        status: 413,
        json: { message: 'request body exceeds the limit of 65536 bytes' },
      });
    await expect(embedded.getPool('prod')).rejects.toThrow(/does not exist/);
  });

  it('body limit of the flyteadmin gateway: a body over it is INVALID_ARGUMENT, with the limit', async () => {
    await start({ flyteadmin: { bodyLimitBytes: 1024 } });
    const res = await raw('PUT', '/api/v1/project_domain_attributes/p/d', {
      body: JSON.stringify({ pad: 'x'.repeat(4096) }),
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      code: 3,
      message: expect.stringMatching(/^request body of \d+ bytes exceeds the limit of 1024 bytes$/),
    });
  });

  it('malformed JSON gets 400; so does a body that is not an object; unknown paths 404, wrong methods 405', async () => {
    await start();
    expect(await raw('POST', '/v1/pools', { body: '{"name": "prod",' })).toMatchObject({
      status: 400,
      json: { code: 'INVALID_ARGUMENT' },
    });
    expect((await raw('POST', '/v1/pools', { body: '[1,2]' })).status).toBe(400);
    expect((await raw('POST', '/v1/pools', { body: '' })).status).toBe(400);
    expect(
      (await raw('POST', '/v1/clusters', { body: '{"name":"c1","pool":"default","color":"red"}' }))
        .json,
    ).toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect((await raw('GET', '/v1/nope')).status).toBe(404);
    const wrongMethod = await raw('PATCH', '/v1/queues/default');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, PUT, DELETE');
  });

  it('a body nested deeper than any object (100,000 levels, under the body limit) gets 400 naming where, on every endpoint', async () => {
    await start();
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const said =
      'the request body is nested too deep: over 100 levels at contract.a.a.a.a.a.a.a… (poolsync';
    for (const [method, path] of [
      ['POST', '/v1/pools'],
      ['PUT', '/v1/pools/prod'],
      ['POST', '/v1/queues'],
    ] as const) {
      const body = `{"name":"prod","contract":${deep(100_000)}}`;
      const answer = await raw(method, path, { body });
      expect(answer).toMatchObject({ status: 400, json: { code: 'INVALID_ARGUMENT' } });
      expect(answer.json.message).toContain(said);
    }
    // 100 levels in all are taken: the limit is the body's, not the contract's alone.
    const within = await raw('POST', '/v1/pools', { body: `{"name":"x","contract":${deep(98)}}` });
    expect(within.json.message).not.toContain('nested too deep');
  });

  it('maps rule errors to HTTP status and {code, message, address, rule}', async () => {
    await start();
    expect(await raw('DELETE', '/v1/pools/default')).toMatchObject({
      status: 412,
      json: { code: 'FAILED_PRECONDITION', rule: 'P5', address: 'ClusterPool/default' },
    });
    expect((await raw('GET', '/v1/clusters/ghost')).status).toBe(404);
    expect(
      (
        await raw('POST', '/v1/pools', {
          body: JSON.stringify({ name: 'default', contract: PROD }),
        })
      ).status,
    ).toBe(409);
    expect(
      (await raw('POST', '/v1/pools', { body: JSON.stringify({ name: 'BAD', contract: PROD }) }))
        .status,
    ).toBe(400);
  });

  it('pagination: limit + page_token walk every item once, in order; the client reads them all', async () => {
    await start();
    for (let i = 0; i < 1203; i++) {
      await embedded.createQueue({
        name: `q-${String(i).padStart(4, '0')}`,
        run_concurrency: 1,
        action_concurrency: 1,
      });
    }
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const res = await raw('GET', `/v1/queues?limit=500${token ? `&page_token=${token}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.json.items.length).toBeLessThanOrEqual(500);
      seen.push(...res.json.items.map((q: { name: string }) => q.name));
      token = res.json.next_page_token;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(1204);
    expect(new Set(seen).size).toBe(1204);
    expect([...seen].sort()).toEqual(seen);
    expect((await raw('GET', '/v1/queues')).json.items).toHaveLength(500);
    expect((await raw('GET', '/v1/queues?limit=0')).status).toBe(400);
    expect((await raw('GET', '/v1/queues?limit=5001')).status).toBe(400);
    expect((await raw('GET', '/v1/queues?page_token=***')).status).toBe(400);
    expect(await client({ pageSize: 500 }).listQueues()).toEqual(await embedded.listQueues());
  });

  it('shards: shard chains partition a list; the client reads long lists as parallel shard chains, same result', async () => {
    await start();
    await embedded.createPool('prod', PROD);
    for (let i = 0; i < 700; i++) {
      await embedded.createQueue({
        name: `q-${i}`,
        run_concurrency: 1,
        action_concurrency: 1,
      });
      await embedded.setAssignment({
        project: `p${i % 37}`,
        domain: `d${i}`,
        workflow: i % 3 === 0 ? `wf${i}` : null,
        pool: 'prod',
      });
    }
    const walk = async (shard: number, shards: number) => {
      const names: string[] = [];
      let token: string | null = null;
      do {
        const res = await raw(
          'GET',
          `/v1/queues?limit=40&shards=${shards}&shard=${shard}${token ? `&page_token=${token}` : ''}`,
        );
        expect(res.status).toBe(200);
        expect(res.json.shard).toEqual({ index: shard, count: shards });
        names.push(...res.json.items.map((q: { name: string }) => q.name));
        token = res.json.next_page_token;
      } while (token);
      return names;
    };
    const parts = await Promise.all([0, 1, 2].map((i) => walk(i, 3)));
    expect(parts.every((p) => p.length > 100)).toBe(true);
    const all = (await embedded.listQueues()).map((q) => q.name);
    expect(parts.flat().sort()).toEqual([...all].sort());
    expect((await raw('GET', '/v1/queues?shards=3')).status).toBe(400);
    expect((await raw('GET', '/v1/queues?shards=3&shard=3')).status).toBe(400);
    expect((await raw('GET', '/v1/queues?shards=65&shard=0')).status).toBe(400);

    logs = '';
    const cp = client({ pageSize: 50, listShards: 4 });
    expect(await cp.listQueues()).toEqual(await embedded.listQueues());
    expect(await cp.listAssignments()).toEqual(await embedded.listAssignments());
    // 1 first page, then each shard's own chain of pages of the items after it.
    const rest = all.slice(50);
    const perShard = [0, 1, 2, 3].map((i) => rest.filter((n) => shardOf(n, 4) === i).length);
    const expected = 1 + perShard.reduce((sum, n) => sum + Math.max(1, Math.ceil(n / 50)), 0);
    const queueReads = logs.split('\n').filter((l) => l.includes('"path":"/v1/queues"'));
    expect(queueReads).toHaveLength(expected);
    expect(expected).not.toBe(Math.ceil(all.length / 50)); // not the page-after-page count
    // One page left after the first: no shards, as many requests as page after page.
    logs = '';
    expect(await client({ pageSize: 400, listShards: 4 }).listQueues()).toEqual(
      await embedded.listQueues(),
    );
    expect(logs.split('\n').filter((l) => l.includes('"path":"/v1/queues"'))).toHaveLength(2);
    expect(await client({ pageSize: 50, listShards: 1 }).listQueues()).toEqual(
      await embedded.listQueues(),
    );
  });

  it('a live read asks for the deleted lists only of a server with soft_delete', async () => {
    await start();
    const deletedReads = () => logs.split('\n').filter((l) => l.includes('"path":"/v1/deleted/'));
    await readLiveState(client());
    expect(deletedReads()).toEqual([]);
    await embedded.setCapabilities({ ...(await embedded.capabilities()), soft_delete: true });
    await readLiveState(client());
    expect(deletedReads()).toHaveLength(3);
  });

  it('sim endpoints are off unless simulate is set', async () => {
    await start();
    expect((await raw('PUT', '/v1/sim/faults', { body: '{"fault_rate":1}' })).status).toBe(404);
    expect((await raw('POST', '/v1/sim/queues/default/activity', { body: '{}' })).status).toBe(404);
  });

  it('fault injection: the client converges through 30% UNAVAILABLE, with nothing created twice', async () => {
    await start({ simulate: true, token: TOKEN });
    const sim = simOverHttp(server!.url, TOKEN);
    await sim.setFaults({ fault_rate: 0.3 });
    // What is tested is convergence, not the retry budget: with the default 8 retries, ~200
    // calls at 30 % faults ran out of retries about once in 250 runs (200 × 0.3⁹).
    const cp = client({ token: TOKEN, pageSize: 7, maxRetries: 40 });
    await cp.createPool('prod', PROD);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => cp.registerCluster({ name: `c-${i}`, pool: 'prod' })),
    );
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        cp.createQueue({
          name: `q-${i}`,
          pool: 'prod',
          clusters: [`c-${i % 20}`],
          run_concurrency: i,
          action_concurrency: 1,
        }),
      ),
    );
    for (let i = 0; i < 10; i++) await cp.deleteCluster(`c-${i}`);
    const viaFaults = await readLiveState(cp);
    // The REST API does not serve default-queue settings (a Union kind); the store itself does.
    expect(viaFaults).toEqual({ ...(await readLiveState(embedded)), default_queues: undefined });
    expect(viaFaults.clusters).toHaveLength(10);
    expect(viaFaults.queues).toHaveLength(1 + 20 + 60);
    expect(logs).toContain('"status":503');
  });

  it('a retried create whose first attempt landed is done by its step (lost responses); a retried delete by the client', async () => {
    await start({ simulate: true });
    const sim = simOverHttp(server!.url);
    await sim.setFaults({ lost_response_rate: 0.5 });
    // What is tested is the read-back after a retry, not the retry budget: with the default 8
    // retries, 61 calls at 50 % loss ran out of retries in about one run in ten (61 × 2⁻⁹).
    const cp = client({ maxRetries: 40 });
    // The client answers a retry's ALREADY_EXISTS as it is; the step judges it (apply/steps.ts).
    const step = { id: 's', depends_on: [] };
    await runCallStep(cp, {
      ...step,
      target: 'ClusterPool/prod',
      op: 'create_pool',
      args: { name: 'prod', contract: PROD },
    });
    for (let i = 0; i < 20; i++) {
      const spec = queueSpecWithDefaults({
        pool: 'prod',
        run_concurrency: 1,
        action_concurrency: 1,
      });
      await runCallStep(cp, {
        ...step,
        target: `Queue/q-${i}`,
        op: 'create_queue',
        args: { name: `q-${i}`, ...spec },
      });
      await runCallStep(cp, {
        ...step,
        target: `Cluster/c-${i}`,
        op: 'register_cluster',
        args: { name: `c-${i}`, pool: 'prod' },
      });
      await cp.deleteCluster(`c-${i}`);
    }
    await sim.setFaults({ lost_response_rate: 0 });
    expect((await cp.listQueues()).filter((q) => q.name.startsWith('q-'))).toHaveLength(20);
    expect(await cp.listClusters()).toEqual([]);
    // A real conflict (not after a retry) is still reported: P3.
    await expect(cp.createPool('prod', PROD)).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      rule: 'P3',
    });
  });

  it('latency injection delays every call; a request timeout below it fails as UNAVAILABLE', async () => {
    await start({ simulate: true });
    const sim = simOverHttp(server!.url);
    await sim.setFaults({ latency_ms: 150 });
    const cp = client();
    const t0 = performance.now();
    await cp.listPools();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await sim.getFaults()).toEqual({
      latency_ms: 150,
      fault_rate: 0,
      lost_response_rate: 0,
    });
    // undici's header timeout has a resolution of about a second: keep the margins wide.
    await sim.setFaults({ latency_ms: 2500 });
    const impatient = client({ limits: { ...DEFAULT_LIMITS, readTimeoutMs: 300 }, maxRetries: 0 });
    await expect(impatient.capabilities()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect((await raw('PUT', '/v1/sim/faults', { body: '{"fault_rate":2}' })).status).toBe(400);
  });

  it('sim: cluster status (C5) and queue activity (Q7) over HTTP', async () => {
    await start({ simulate: true });
    const sim = simOverHttp(server!.url);
    await embedded.registerCluster({ name: 'c1' });
    expect(
      (await sim.reportClusterStatus('c1', { secret_store: { locator: 'elsewhere' } })).health,
    ).toBe('unhealthy');
    await sim.setQueueActivity('c1', { runs_in_flight: 2, actions_in_flight: 5 });
    expect(await client().queueMetrics('c1')).toEqual({
      runs_in_flight: 2,
      actions_in_flight: 5,
      depth: 2,
    });
  });
});

describe('HTTP client transport', () => {
  it('honours Retry-After on 429, then succeeds', async () => {
    let calls = 0;
    const stamps: number[] = [];
    const srv = createServer((req, res) => {
      calls++;
      stamps.push(Date.now());
      if (calls === 1) {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
        res.end('{"code":"UNAVAILABLE","message":"slow down"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          drain: false,
          queue_delete: false,
          pool_update: false,
          cluster_move: false,
        }),
      );
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const cp = new HttpControlPlane(url, { minRetryDelayMs: 1 });
    try {
      await expect(cp.capabilities()).resolves.toMatchObject({ drain: false });
      expect(calls).toBe(2);
      expect(stamps[1]! - stamps[0]!).toBeGreaterThanOrEqual(900);
    } finally {
      await cp.close();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });

  it('connection refused: UNAVAILABLE after retries, naming the address and not the token', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const cp = new HttpControlPlane(`http://127.0.0.1:${port}`, {
      token: 'secret-xyz',
      maxRetries: 2,
      minRetryDelayMs: 1,
    });
    const err = (await cp.listPools().catch((e: unknown) => e)) as ControlPlaneError;
    await cp.close();
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.transient).toBe(true);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).not.toContain('secret-xyz');
    expect(err.message).toMatch(
      /nothing accepts connections at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED, 3 attempts\)/,
    );
  });

  it('a control plane that never answered: connection failures get 2 retries, not the whole --max-retries budget; one that answered before gets them all', async () => {
    const srv = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: [], next_page_token: null }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const fresh = new HttpControlPlane(url, {
      maxRetries: 8,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    const seen = new HttpControlPlane(url, {
      maxRetries: 8,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    expect(await seen.listPools()).toEqual([]);
    const closed = new Promise((r) => srv.close(r));
    srv.closeAllConnections();
    await closed;
    const first = (await fresh.listPools().catch((e: unknown) => e)) as ControlPlaneError;
    expect(first.message).toMatch(
      /\(ECONNREFUSED, 3 attempts\); is it running, and is --control-plane/,
    );
    const again = (await seen.listPools().catch((e: unknown) => e)) as ControlPlaneError;
    expect(again.message).toMatch(/\(ECONNREFUSED, 9 attempts\)/);
    await fresh.close();
    await seen.close();
  });

  it('a control plane that answered, then closes every connection, gets the whole --max-retries budget (a restart); the last error says it as a connection closed before any answer, with no guess about TLS (docs/apply.md)', async () => {
    const srv = await answeringOnce(JSON.stringify({ items: [], next_page_token: null }));
    const cp = new HttpControlPlane(srv.url, {
      maxRetries: 8,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    expect(await cp.listPools()).toEqual([]);
    const err = (await cp.listPools().catch((e: unknown) => e)) as ControlPlaneError;
    await cp.close();
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(
      new RegExp(
        `: cannot reach the control plane: ${srv.url} closed the connection before any answer: the server, or a proxy or firewall between, cut it \\((ECONNRESET|UND_ERR_SOCKET), 9 attempts\\); it answered before: try again once it is back`,
      ),
    );
    expect(srv.connections()).toBe(10);
  });

  it('https:// against a plain-HTTP server says so and names the http:// URL to use', async () => {
    const srv = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    try {
      const cp = new HttpControlPlane(`https://127.0.0.1:${port}`, { minRetryDelayMs: 1 });
      const err = (await cp.listPools().catch((e: unknown) => e)) as ControlPlaneError;
      await cp.close();
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toMatch(
        /the TLS handshake failed \(ERR_SSL_WRONG_VERSION_NUMBER\): the server does not speak HTTPS; .*use --control-plane http:\/\/127\.0\.0\.1:\d+/,
      );
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it("a URL ending in /v1 (the API docs' base URL) is told to drop it, not left at /v1/v1's 404", async () => {
    await start();
    for (const suffix of ['/v1', '/v1/']) {
      const cp = await openControlPlane(`${server!.url}${suffix}`);
      const err = (await readCapabilities(cp).catch((e: unknown) => e)) as ControlPlaneError;
      await cp.close();
      expect(err.code).toBe('NOT_FOUND');
      expect(err.message).toBe(
        `no endpoint /v1/v1/capabilities: the control-plane URL is the server's root, without /v1 (poolsync adds it); use --control-plane ${server!.url}`,
      );
    }
  });
});

describe('openControlPlane', () => {
  it('rejects URLs it does not understand, naming the accepted forms', async () => {
    await expect(openControlPlane('ftp://x')).rejects.toThrow(
      /file:PATH .* http:\/\/ or https:\/\//,
    );
    await expect(openControlPlane('https://user:pw@example.com')).rejects.toThrow(
      /^the control plane URL carries a password or token \(user:secret@\); remove it from the URL and put the token in POOLSYNC_TOKEN or a --token-file\.$/,
    );
    await expect(openControlPlane('https://TOKEN@example.com')).rejects.toThrow(
      /^the control plane URL carries a user part \(TOKEN@\)/,
    );
  });

  it('http(s):// gives the HTTP client, with the token resolveToken takes from POOLSYNC_TOKEN (the opener reads no variable)', async () => {
    await start({ token: TOKEN });
    process.env.POOLSYNC_TOKEN = TOKEN;
    try {
      await expect(readCapabilities(await openControlPlane(server!.url))).rejects.toThrow();
      const token = await resolveToken(undefined, server!.url, null, process.env);
      const cp = await openControlPlane(server!.url, { ...(token ? { token } : {}) });
      expect(await readCapabilities(cp)).toMatchObject({ drain: false });
      await cp.close();
    } finally {
      delete process.env.POOLSYNC_TOKEN;
    }
  });
});
