/**
 * What each HTTP backend says of a server that answers, but not as an API should: a redirect, a
 * rate limit longer than the call's deadline, a 403, and a port that accepts TCP and never
 * answers TLS. Real loopback sockets; the rate limit's "until" on an injected clock.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ControlPlaneError } from '../../src/controlplane/errors.js';
import { FlyteadminControlPlane } from '../../src/controlplane/flyteadmin/client.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { runInProcess } from '../support/memory-io.js';
import { ManualClock } from '../support/virtual-clock.js';
import { apiKey } from './union/helpers.js';

/** An HTTP server answering every request with `answer`; closed when the test ends. */
async function answering(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port that accepts TCP connections and never says a word on them. */
async function mute() {
  const sockets: Socket[] = [];
  const server = createTcpServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closing<T extends Pick<ControlPlane, 'close'>>(cp: T): T {
  onTestFinished(() => cp.close());
  return cp;
}

const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('answered');
    },
    (err: unknown) => err as ControlPlaneError,
  );

describe('a redirect', () => {
  const moved = (to: string) =>
    answering((req, res) => {
      res.writeHead(302, { location: `${to}${req.url}` });
      res.end();
    });

  it('REST: not followed; names where it leads and the --control-plane to give if trusted', async () => {
    const url = await moved('http://127.0.0.2:9999');
    const err = await failureOf(closing(new HttpControlPlane(url, { token: 't' })).listPools());
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(
      `GET ${url}/v1/pools?limit=5000: the control plane answered HTTP 302, a redirect to http://127.0.0.2:9999/v1/pools, which poolsync does not follow (the token would be sent to it): if that address is trusted, correct --control-plane (env POOLSYNC_CONTROL_PLANE) to http://127.0.0.2:9999`,
    );
  });

  it('flyteadmin: names the host it leads to, as a flyteadmin+ URL', async () => {
    const url = await moved('https://admin.example');
    const cp = closing(new FlyteadminControlPlane(url, { org: '' }));
    const err = await failureOf(cp.listAssignments());
    expect(err.message).toMatch(
      /^flyteadmin GET \/api\/v1\/\S+: flyteadmin answered HTTP 302, a redirect to https:\/\/admin\.example\/api\/v1\/\S+, which poolsync does not follow \(the token would be sent to it\): if that address is trusted, correct --control-plane \(env POOLSYNC_CONTROL_PLANE\) to flyteadmin\+https:\/\/admin\.example$/,
    );
  });

  it('check: the control plane is ✗ when its lists answer with a redirect, each list saying where', async () => {
    const url = await moved('http://127.0.0.2:9999');
    const r = await runInProcess(['check', 'examples/config-repo', '--control-plane', url], {
      PATH: process.env.PATH,
      NO_COLOR: '1',
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`✗ control plane ${url}: poolsync REST API, its reads fail (below)`);
    expect(r.stdout).toMatch(
      /✗ ClusterPool: cannot list: .*a redirect to http:\/\/127\.0\.0\.2:9999\/v1\/pools/,
    );
    expect(r.stdout).not.toMatch(/✓ control plane/);
  });

  it('without a Location, says so', async () => {
    const url = await answering((_req, res) => {
      res.writeHead(301);
      res.end();
    });
    const err = await failureOf(closing(new HttpControlPlane(url)).listPools());
    expect(err.message).toMatch(/answered HTTP 301, a redirect without a usable Location \(null\)/);
  });
});

describe('a rate limit longer than the call may wait', () => {
  it("REST: says the server's wait, until when, and what to do, at once", async () => {
    let asked = 0;
    const url = await answering((_req, res) => {
      asked++;
      res.writeHead(429, { 'retry-after': '3600' });
      res.end();
    });
    const clock = new ManualClock();
    const until = new Date(clock.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const err = await failureOf(closing(new HttpControlPlane(url, { clock })).listPools());
    expect(asked).toBe(1);
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(
      new RegExp(
        `^GET ${url}/v1/pools\\?limit=5000: the server answered HTTP 429 and asked to wait 1h, until ${until}, longer than the call's deadline allows \\(\\S+ left of 1m, --call-timeout, env POOLSYNC_CALL_TIMEOUT\\); stopped after 1 attempt\\. Try again after ${until}, or raise --call-timeout past the wait$`,
      ),
    );
  });
});

describe('a 403 with credentials', () => {
  it('REST: PERMISSION_DENIED, the token accepted but not allowed the call', async () => {
    const url = await answering((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"message":"forbidden"}');
    });
    const err = await failureOf(closing(new HttpControlPlane(url, { token: 't' })).listPools());
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.message).toBe(
      `GET ${url}/v1/pools?limit=5000 answered HTTP 403 (forbidden); the token was accepted but may not make this call: give it a role or scope that allows it, or use a token that has one`,
    );
  });

  it("flyteadmin: grpc-gateway's PermissionDenied (7) is PERMISSION_DENIED", async () => {
    const url = await answering((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"code":7,"message":"not allowed"}');
    });
    const err = await failureOf(
      closing(new FlyteadminControlPlane(url, { org: '' })).listAssignments(),
    );
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.message).not.toMatch(/refused/);
  });
});

describe('https to a port that accepts TCP and never answers TLS', () => {
  const limits = { ...DEFAULT_LIMITS, connectTimeoutMs: 300 };
  const said =
    /the TCP connection to https:\/\/127\.0\.0\.1:\d+ was made, but the TLS handshake got no answer within 300ms \(--connect-timeout, env POOLSYNC_CONNECT_TIMEOUT\): is it a TLS \(HTTPS\) port\? If it serves plain HTTP, use http:\/\/ in its URL; raise --connect-timeout if the server is only slow \(1 attempt\)$/;

  it('REST: says the handshake got no answer, not that packets were dropped', async () => {
    const host = await mute();
    const err = await failureOf(
      closing(new HttpControlPlane(`https://${host}`, { limits })).listPools(),
    );
    expect(err.message).toMatch(said);
    expect(err.message).not.toMatch(/firewall|POOLSYNC_(LIMIT|TLS)/);
  });

  it('Union (its OAuth2 discovery): the same, without a code of poolsync’s own', async () => {
    const host = await mute();
    const err = await failureOf(
      openControlPlane(`union+https://${host}`, {
        env: { POOLSYNC_UNION_API_KEY: apiKey(host) },
        http: { limits },
      }).then(closing),
    );
    expect(err.message).toMatch(said);
    expect(err.message).not.toMatch(/firewall|POOLSYNC_(LIMIT|TLS)/);
  });
});
