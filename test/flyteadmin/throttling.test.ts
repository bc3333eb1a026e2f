/**
 * flyteadmin throttling: a gateway in front of the flyteadmin stand-in answers 429 with
 * `Retry-After: 30` (longer than the 10 s the client used to cap it at) to the first write of
 * each attribute row. The client waits the whole 30 s before that row's next call, lowers its
 * calls in flight (every call refused: sustained throttling), and every write lands. Virtual time.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { FlyteadminControlPlane } from '../../src/controlplane/flyteadmin/client.js';
import { mapLimit } from '../../src/util/map-limit.js';
import type { PaceEvent } from '../../src/util/pacer.js';
import { VirtualClock } from '../support/virtual-clock.js';
import { startFlyteadmin, type Flyteadmin } from './helpers.js';

let admin: Flyteadmin | undefined;
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  await admin?.close();
  admin = close = undefined;
});

const RETRY_AFTER_S = 30;

const read = (m: IncomingMessage) =>
  new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    m.on('data', (c: Buffer) => chunks.push(c));
    m.on('end', () => resolve(Buffer.concat(chunks)));
  });

it('waits as long as 429 Retry-After says, fewer calls at once, and every write lands', async () => {
  admin = await startFlyteadmin(null, { projects: ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'] });
  const upstream = new URL(admin.server.url);
  const clock = new VirtualClock();
  const heldUntil = new Map<string, number>();
  const seen = { throttled: 0, early: 0 };
  const gateway = createServer(async (req, res) => {
    const body = await read(req);
    const now = clock.now();
    if (req.method === 'PUT') {
      const hold = heldUntil.get(req.url!);
      if (hold !== undefined && now < hold) seen.early++;
      if (hold === undefined) {
        seen.throttled++;
        heldUntil.set(req.url!, now + RETRY_AFTER_S * 1000);
        res.writeHead(429, { 'retry-after': String(RETRY_AFTER_S) }).end('slow down');
        return;
      }
    }
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      async (answer) => {
        const text = await read(answer);
        res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' }).end(text);
      },
    );
    up.end(body);
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  close = () =>
    new Promise<void>((r) => {
      gateway.closeAllConnections();
      gateway.close(() => r());
    });
  const events: PaceEvent[] = [];
  const cp = new FlyteadminControlPlane(
    `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`,
    { clock, connections: 4, maxRetries: 3, onPace: (e) => events.push(e) },
  );
  const labels = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'].flatMap((project) =>
    ['development', 'production'].map((domain) => ({
      project,
      domain,
      workflow: null,
      label: `${project}-${domain}`,
    })),
  );
  const started = clock.now();
  await mapLimit(labels, 4, (l) => cp.setExecutionClusterLabel(l));
  await cp.close();

  expect(seen.throttled).toBe(labels.length);
  expect(seen.early).toBe(0);
  expect(clock.now() - started).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
  const rows = admin.store.listAll('EXECUTION_CLUSTER_LABEL', '');
  expect(rows.map((r) => `${r.project}/${r.domain}`).sort()).toEqual(
    labels.map((l) => `${l.project}/${l.domain}`).sort(),
  );
  expect(events[0]).toMatchObject({ server: 'flyteadmin', throttled: true, said: 'HTTP 429' });
  expect(events[0]!.waitMs).toBe(RETRY_AFTER_S * 1000);
  expect(events[0]!.limit).toBeLessThan(4);
});

// grpc-gateway answers an RPC the server does not implement 501 (gRPC Unimplemented, code 12):
// asking again cannot help, so it is said at once, not retried as an outage.
it('a 501 is not retried', async () => {
  let calls = 0;
  const gateway = createServer((req, res) => {
    calls++;
    res
      .writeHead(501, { 'content-type': 'application/json' })
      .end('{"code":12,"message":"Not Implemented","details":[]}');
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  close = () => new Promise<void>((r) => gateway.close(() => r()));
  const cp = new FlyteadminControlPlane(
    `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`,
    { clock: new VirtualClock(), maxRetries: 3 },
  );
  const label = { project: 'p0', domain: 'development', workflow: null, label: 'l' };
  const failed = await cp.setExecutionClusterLabel(label).then(
    () => null,
    (err: unknown) => err as Error & { code: string },
  );
  await cp.close();
  expect(failed).toMatchObject({ code: 'INVALID_ARGUMENT' });
  expect(failed!.message).toContain('Not Implemented');
  expect(calls).toBe(1);
});
