/**
 * A real HTTP/1.1 server on 127.0.0.1 in front of another one, failing requests as a network
 * and a load balancer do (issue 38, item 5). Per request, `decide` picks:
 *
 * - `pass`: forwarded, answered as the server answered;
 * - `refuse`: the connection is reset before anything is forwarded (nothing reached the server);
 * - `fail`: answered 500 `text/plain` without forwarding (a proxy's error page: no Connect code);
 * - `fail-after`: forwarded (the server carried it out), then answered 500 `text/plain`;
 * - `cut`: forwarded, half the body sent after headers announcing all of it, then closed;
 * - `reset`: the same, then the connection reset;
 * - `hold`: held until `release()` (a slow write), then forwarded; unless its client went away
 *   meanwhile: then it is dropped, never forwarded (`dropped`), as a proxy drops a request whose
 *   client left;
 * - `late`: forwarded `lateMs` after it arrived whether or not its client is still there (a
 *   slow control plane carrying out a request it received, however long it takes).
 *
 * `landed` hears of each request the server answered (it was carried out), in that order, with
 * its number (as `decide` got it).
 */
import { answer, forward, listenLoopback, readRequest } from './forwarding.js';

export type Fault = 'pass' | 'refuse' | 'fail' | 'fail-after' | 'cut' | 'reset' | 'hold' | 'late';

export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /**
   * Requests seen, how many got each fault, how many held ones their client left before their
   * answer, and how many were dropped.
   */
  readonly counts: Record<Fault, number> & { requests: number; left: number; dropped: number };
  /** Forwards the requests held so far whose client is still there; drops the others. */
  release(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(
  upstream: string,
  decide: (n: number, method: string, path: string) => Fault,
  landed?: (method: string, path: string, status: number, n: number) => void,
  lateMs = 0,
): Promise<FaultProxy> {
  const target = new URL(upstream);
  const counts = {
    requests: 0,
    pass: 0,
    refuse: 0,
    fail: 0,
    'fail-after': 0,
    cut: 0,
    reset: 0,
    hold: 0,
    late: 0,
    left: 0,
    dropped: 0,
  };
  /** Held requests: whether their client went away, and what forwards them once read whole. */
  let held: { gone: boolean; released: boolean; send: (() => void) | null }[] = [];
  const server = await listenLoopback((req, res) => {
    const n = ++counts.requests;
    const fault = decide(n, req.method ?? 'GET', req.url ?? '/');
    counts[fault]++;
    const hold = { gone: false, released: false, send: null as (() => void) | null };
    if (fault === 'hold') held.push(hold);
    res.on('close', () => {
      if (res.writableFinished || hold.gone) return;
      hold.gone = true;
      if (fault === 'hold') counts.left++;
    });
    const failPage = () =>
      res
        .writeHead(500, { 'content-type': 'text/plain', connection: 'close' })
        .end('upstream request failed\n');
    readRequest(req, (body) => {
      if (fault === 'refuse') return req.socket.resetAndDestroy();
      if (fault === 'fail') return failPage();
      const send = () =>
        forward(target, req, body, res, (up, whole) => {
          landed?.(req.method ?? 'GET', req.url ?? '/', up.statusCode ?? 0, n);
          if (fault === 'fail-after') return failPage();
          const mode = fault === 'cut' || fault === 'reset' ? fault : 'pass';
          answer(res, up, whole, whole.length < 2 ? 'pass' : mode);
        });
      if (fault === 'late') return void setTimeout(send, lateMs);
      if (fault !== 'hold' || hold.released) return send();
      hold.send = send;
    });
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    host: `127.0.0.1:${server.port}`,
    counts,
    release: () => {
      for (const h of held) {
        if (h.gone) counts.dropped++;
        else if (h.send) h.send();
        else h.released = true;
      }
      held = [];
    },
    close: server.close,
  };
}
