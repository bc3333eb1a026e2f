/**
 * A real HTTP server on 127.0.0.1 in front of another one that cuts response bodies, as a
 * network can (issue 23, item 3): the headers say the full Content-Length, half the body
 * arrives, then the connection is closed (`cut`) or reset (`reset`). `decide` picks, per
 * response, numbered from 1 in arrival order.
 */
import { answer, forward, listenLoopback, readRequest } from './forwarding.js';

export type CutMode = 'pass' | 'cut' | 'reset';

export interface CuttingProxy {
  url: string;
  /** Responses seen, and how many were cut or reset. */
  readonly counts: { responses: number; cut: number };
  close(): Promise<void>;
}

export async function startCuttingProxy(
  upstream: string,
  decide: (n: number, method: string, path: string) => CutMode,
): Promise<CuttingProxy> {
  const target = new URL(upstream);
  const counts = { responses: 0, cut: 0 };
  const server = await listenLoopback((req, res) =>
    readRequest(req, (body) =>
      forward(target, req, body, res, (up, whole) => {
        const n = ++counts.responses;
        const mode = whole.length > 1 ? decide(n, req.method ?? 'GET', req.url ?? '/') : 'pass';
        if (mode !== 'pass') counts.cut++;
        answer(res, up, whole, mode);
      }),
    ),
  );
  return {
    url: `http://127.0.0.1:${server.port}${target.pathname === '/' ? '' : target.pathname}`,
    counts,
    close: server.close,
  };
}
