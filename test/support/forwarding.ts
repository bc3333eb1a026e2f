/**
 * The forwarding both test proxies share (cutting-proxy.ts, fault-proxy.ts): a request read
 * whole and sent to the upstream server, its response read whole, then answered in full or
 * cut half-way (headers announcing all of it) and closed or reset; a loopback listener.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

/** Reads `req` whole; `then` gets its body (before anything is forwarded). */
export function readRequest(req: IncomingMessage, then: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => then(Buffer.concat(chunks)));
}

/** Sends `req` (with `body`) to `target`; `then` gets the upstream response, read whole. */
export function forward(
  target: URL,
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
  then: (up: IncomingMessage, whole: Buffer) => void,
  o: { keepHost?: boolean } = {},
): void {
  const out = httpRequest(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: {
        ...req.headers,
        host: o.keepHost ? req.headers.host : target.host,
        connection: 'close',
      },
    },
    (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => then(up, Buffer.concat(chunks)));
    },
  );
  out.on('error', () => res.destroy());
  out.end(body);
}

/** Answers with the upstream response: whole (`pass`), or half of it then closed or reset. */
export function answer(
  res: ServerResponse,
  up: IncomingMessage,
  whole: Buffer,
  mode: 'pass' | 'cut' | 'reset',
): void {
  const headers: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
  res.writeHead(up.statusCode ?? 502, { ...headers, 'content-length': whole.length });
  if (mode === 'pass') {
    res.end(whole);
    return;
  }
  res.write(whole.subarray(0, Math.floor(whole.length / 2)), () => {
    if (mode === 'reset') res.socket?.resetAndDestroy();
    else res.socket?.destroy();
  });
}

/** A server on a free loopback port; `close()` ends its open connections too. */
export async function listenLoopback(
  handler: RequestListener,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
