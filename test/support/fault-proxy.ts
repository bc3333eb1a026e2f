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
import { answer, forward, listenLoopback, readRequest } from './forwarding.js';

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

export async function startFaultProxy(
  upstream: string,
  decide: (n: number, method: string, path: string) => Fault,
): Promise<FaultProxy> {
  const target = new URL(upstream);
  const counts = { requests: 0, pass: 0, refuse: 0, fail: 0, 'fail-after': 0, cut: 0, reset: 0 };
  const server = await listenLoopback((req, res) => {
    const n = ++counts.requests;
    const fault = decide(n, req.method ?? 'GET', req.url ?? '/');
    counts[fault]++;
    const failPage = () =>
      res
        .writeHead(500, { 'content-type': 'text/plain', connection: 'close' })
        .end('upstream request failed\n');
    readRequest(req, (body) => {
      if (fault === 'refuse') return req.socket.resetAndDestroy();
      if (fault === 'fail') return failPage();
      forward(target, req, body, res, (up, whole) => {
        if (fault === 'fail-after') return failPage();
        answer(res, up, whole, fault === 'pass' || whole.length < 2 ? 'pass' : fault);
      });
    });
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    host: `127.0.0.1:${server.port}`,
    counts,
    close: server.close,
  };
}
