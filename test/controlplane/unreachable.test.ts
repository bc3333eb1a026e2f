/**
 * An unreachable control plane ends a command at once, whatever the backend (issue 50): the
 * first call that fails to connect reports it, and once the control plane is closed what its
 * other calls still wait for is at most the fast-fail budget of a failure to connect
 * (util/reach.ts: two retries, 0.3 s), never a whole backoff: an unreachable flyteadmin held
 * `plan` 18 s after its error, its other calls retrying a closed pool through the backoff. A
 * flyteadmin call waiting out an hour-long backoff ends when the client closes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { JsonHttp } from '../../src/controlplane/json-http.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { until } from '../support/until.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { SYSTEM_CLOCK, type Clock } from '../../src/util/clock.js';

/** A port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('an unreachable control plane', () => {
  it.each([
    ['flyteadmin', (p: number) => `flyteadmin+http://127.0.0.1:${p}`],
    ['union', (p: number) => `union+http://127.0.0.1:${p}`],
    ['REST', (p: number) => `http://127.0.0.1:${p}`],
  ])('%s: the error, and once closed nothing of the client is left waiting', async (_n, url) => {
    const port = await deadPort();
    const env = process.env.POOLSYNC_UNION_API_KEY;
    process.env.POOLSYNC_UNION_API_KEY = Buffer.from(
      `127.0.0.1:${port}:id:unreachable-secret:org`,
    ).toString('base64');
    try {
      const before = timers();
      const cp = await openControlPlane(url(port), { readOnly: true, env: process.env }).catch(
        (e: Error) => e,
      );
      if (cp instanceof Error) {
        // Union discovers its OAuth2 endpoints when it opens: that is the call that fails.
        expect(cp.message).toMatch(/nothing accepts connections at http:\/\/127\.0\.0\.1/);
      } else {
        await expect(readLiveState(cp)).rejects.toThrow(/nothing accepts connections/);
        await cp.close();
      }
      // What is left drains (a stuck wait fails here, after `until`'s bound).
      await until('the client’s last waits', () => timers() <= before);
    } finally {
      if (env === undefined) delete process.env.POOLSYNC_UNION_API_KEY;
      else process.env.POOLSYNC_UNION_API_KEY = env;
    }
  });

  it('flyteadmin: a call waiting out an hour-long backoff ends when the client closes', async () => {
    let requests = 0;
    const srv = createServer((_req, res) => {
      requests++;
      res.writeHead(503).end('{"code":14,"message":"busy"}');
    });
    cleanup.add(() => new Promise((r) => srv.close(r)));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as AddressInfo;
    // The machine's clock, telling when the client starts waiting out the backoff.
    let backingOff = false;
    const clock: Clock = {
      now: SYSTEM_CLOCK.now,
      sleep: (ms, signal) => ((backingOff = true), SYSTEM_CLOCK.sleep(ms, signal)),
    };
    const t = new JsonHttp(`http://127.0.0.1:${port}`, {
      clock,
      service: 'flyteadmin',
      label: (method, path) => `flyteadmin ${method} ${path}`,
      apiError: () => new Error('not an error answer') as never,
      retry: { maxRetries: 6, minDelayMs: 3_600_000, maxDelayMs: 3_600_000 },
      // A deadline beyond the backoff: only closing ends the wait.
      limits: { ...DEFAULT_LIMITS, callTimeoutMs: 10 * 3_600_000 },
      connections: 32,
    });
    const call = t.call('GET', '/api/v1/domains').catch((e: Error) => e);
    // Not at the server's first answer: the client may still be reading it (another error).
    await until('the backoff', () => backingOff);
    await t.close();
    expect(String(await call)).toContain(
      'flyteadmin GET /api/v1/domains: not retried (the client was closed)',
    );
    expect(requests).toBe(1);
  });
});
