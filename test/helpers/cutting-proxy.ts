/**
 * A real HTTP server on 127.0.0.1 in front of another one that cuts response bodies, as a
 * network can (issue 23, item 3): the headers say the full Content-Length, half the body
 * arrives, then the connection is closed (`cut`) or reset (`reset`). `decide` picks, per
 * response, numbered from 1 in arrival order.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type CutMode = 'pass' | 'cut' | 'reset';

export interface CuttingProxy {
  url: string;
  /** Responses seen, and how many were cut or reset. */
  readonly counts: { responses: number; cut: number };
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export async function startCuttingProxy(
  upstream: string,
  decide: (n: number, method: string, path: string) => CutMode,
): Promise<CuttingProxy> {
  const target = new URL(upstream);
  const counts = { responses: 0, cut: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
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
            const whole = Buffer.concat(body);
            const n = ++counts.responses;
            const mode = whole.length > 1 ? decide(n, req.method ?? 'GET', req.url ?? '/') : 'pass';
            const headers: IncomingHttpHeaders = {};
            for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
            res.writeHead(up.statusCode ?? 502, { ...headers, 'content-length': whole.length });
            if (mode === 'pass') {
              res.end(whole);
              return;
            }
            counts.cut++;
            res.write(whole.subarray(0, Math.floor(whole.length / 2)), () => {
              if (mode === 'reset') res.socket?.resetAndDestroy();
              else res.socket?.destroy();
            });
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname === '/' ? '' : target.pathname}`,
    counts,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
