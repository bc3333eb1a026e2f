/**
 * A real HTTP/1.1 server on 127.0.0.1 in front of another one, failing requests as a network
 * and a load balancer do (issue 38, item 5). Per request, `decide` picks:
 *
 * - `pass`: forwarded, answered as the server answered;
 * - `refuse`: the connection is reset before anything is forwarded (nothing reached the server);
 * - `fail`: answered 500 `text/plain` without forwarding (a proxy's error page: no Connect code);
 * - `fail-after`: forwarded (the server carried it out), then answered 500 `text/plain`;
 * - `cut`: forwarded, half the body sent after headers announcing all of it, then closed;
 * - `reset`: the same, then the connection reset.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'pass' | 'refuse' | 'fail' | 'fail-after' | 'cut' | 'reset';

export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** Requests seen, and how many got each fault. */
  readonly counts: Record<Fault, number> & { requests: number };
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export async function startFaultProxy(
  upstream: string,
  decide: (n: number, method: string, path: string) => Fault,
): Promise<FaultProxy> {
  const target = new URL(upstream);
  const counts = { requests: 0, pass: 0, refuse: 0, fail: 0, 'fail-after': 0, cut: 0, reset: 0 };
  const server = createServer((req, res) => {
    const n = ++counts.requests;
    const fault = decide(n, req.method ?? 'GET', req.url ?? '/');
    counts[fault]++;
    const failPage = () =>
      res
        .writeHead(500, { 'content-type': 'text/plain', connection: 'close' })
        .end('upstream request failed\n');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (fault === 'refuse') return req.socket.resetAndDestroy();
      if (fault === 'fail') return failPage();
      const forward = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host, connection: 'close' },
        },
        (up) => {
          const body: Buffer[] = [];
          up.on('data', (c: Buffer) => body.push(c));
          up.on('end', () => {
            if (fault === 'fail-after') return failPage();
            const whole = Buffer.concat(body);
            const headers: IncomingHttpHeaders = {};
            for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
            res.writeHead(up.statusCode ?? 502, { ...headers, 'content-length': whole.length });
            if (fault === 'pass' || whole.length < 2) return res.end(whole);
            res.write(whole.subarray(0, Math.floor(whole.length / 2)), () => {
              if (fault === 'reset') res.socket?.resetAndDestroy();
              else res.socket?.destroy();
            });
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A deterministic stream of numbers in [0, 1) (mulberry32): the same faults on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
