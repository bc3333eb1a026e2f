/**
 * A token endpoint that fails is named, not flyteadmin (docs/union.md: "an RPC that waited for
 * its token names the token request, not itself"; the flyteadmin backend behaves the same).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { FlyteadminControlPlane } from '../../src/controlplane/flyteadmin/client.js';
import { VirtualClock } from '../support/virtual-clock.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: one that was listened on and closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** A flyteadmin whose discovery names `tokenEndpoint` (its own /token when null), answering it with `token`. */
async function flyteadmin(tokenEndpoint: string | null, token = '{}') {
  const seen = { tokens: 0 };
  let self = '';
  const server = createServer((req, res) => {
    if (req.method === 'POST') seen.tokens++;
    const body = req.url!.startsWith('/.well-known/oauth-authorization-server')
      ? JSON.stringify({ issuer: 'x', token_endpoint: tokenEndpoint ?? `${self}/token` })
      : req.method === 'POST'
        ? token
        : '{}';
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  self = `http://127.0.0.1:${await listen(server)}`;
  const cp = new FlyteadminControlPlane(self, {
    credentials: { clientId: 'poolsync', clientSecret: 'a-secret-of-length' },
    clock: new VirtualClock(),
    maxRetries: 2,
  });
  const label = { project: 'p0', domain: 'development', workflow: null, label: 'l' };
  const err = await cp.setExecutionClusterLabel(label).then(
    () => null,
    (e: unknown) => e as Error,
  );
  await cp.close();
  return { self, err: err!, seen };
}

it('a token endpoint nothing listens on is named, not flyteadmin (it said flyteadmin cannot be reached)', async () => {
  const token = `http://127.0.0.1:${await closedPort()}/token`;
  const { self, err } = await flyteadmin(token);
  expect(err.message).toContain(
    `flyteadmin token request ${token}: cannot reach flyteadmin's token endpoint: nothing accepts connections at ${new URL(token).origin} (ECONNREFUSED, 3 attempts)`,
  );
  expect(err.message).not.toContain(self);
});

it('an oversized token answer is final, fetched once (it was fetched again on every retry)', async () => {
  const { err, seen } = await flyteadmin(null, `{"access_token":"${'a'.repeat(2 * 1024 * 1024)}"}`);
  expect(err.message).toMatch(
    /^flyteadmin token request: http:\/\/127\.0\.0\.1:\d+\/token: the answer is larger than 1 MiB/,
  );
  expect(seen.tokens).toBe(1);
});
