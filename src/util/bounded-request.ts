/**
 * One HTTP/1.1 request over node:http(s), bounded as util/transport-limits.ts says: connected
 * within the connect timeout, never silent past the read timeout, its answer read whole up to
 * its cap; the call's deadline and any other end come as `signal`. For the clients that are not
 * undici's: OAuth2 (the fetch standard refuses "bad ports" such as 9 outright, never saying that
 * nothing accepts connections there) and the Kubernetes API (the kubeconfig's agent carries its
 * TLS client certificate and proxy, whose CONNECT the connect timeout bounds too). Errors keep Node's codes for util/reach.ts; a body cut off
 * is ERR_STREAM_PREMATURE_CLOSE. No redirect is followed and nothing is decompressed (none is
 * asked for).
 */
import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  HANDSHAKE_TIMEOUT,
  handshakeWords,
  LimitError,
  limitWords,
  type TransportLimits,
} from './transport-limits.js';

export interface BoundedAnswer {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: Buffer<ArrayBuffer>;
}

export function boundedRequest(
  url: URL,
  o: {
    method: string;
    headers: Record<string, string>;
    body?: string | undefined;
    signal?: AbortSignal | undefined;
    /** Default: none (a few requests per run: no pooled socket left to keep a CLI alive). */
    agent?: Agent | undefined;
  },
  limits: TransportLimits,
  /** The cap of a kind no setting changes (ANSWER_BYTES); default --max-response-size. */
  cap?: number,
): Promise<BoundedAnswer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const most = cap ?? limits.maxResponseBytes;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: o.method,
        headers: o.headers,
        agent: o.agent ?? false,
        signal: o.signal,
        // A proxy agent's CONNECT request takes it as its idle timeout, so it never outlives us.
        timeout: limits.readTimeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > most) return fail(new LimitError('size', limitWords('size', limits, cap)));
          chunks.push(c);
        });
        res.on('error', reject);
        // Not ECONNRESET: the server answered, so this is no closed port (Reach.failureOf).
        const cutOff = (said: string) =>
          reject(Object.assign(new Error(said), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
        res.on('aborted', () => cutOff('aborted'));
        res.on('end', () => {
          if (!res.complete) return cutOff('answer cut off');
          resolve({
            status: res.statusCode ?? 502,
            statusText: res.statusMessage ?? '',
            headers: res.headers,
            body: Buffer.concat(chunks),
          });
        });
      },
    );
    /** The first error is the one said. */
    const fail = (err: Error) => {
      reject(err);
      req.destroy(err);
    };
    // From the request on: a proxy agent hands over its socket only once its CONNECT to the
    // server is answered, and that wait is part of connecting too.
    let tcp = false;
    const timer = setTimeout(
      () =>
        fail(
          tcp
            ? new LimitError('connect', handshakeWords(limits, url.origin), HANDSHAKE_TIMEOUT)
            : new LimitError('connect', limitWords('connect', limits)),
        ),
      limits.connectTimeoutMs,
    );
    const connected = () => clearTimeout(timer);
    req.once('close', connected);
    req.on('socket', (socket) => {
      if (!socket.connecting) return connected();
      socket.once('connect', () => (tcp = url.protocol === 'https:'));
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
      socket.once('close', connected);
    });
    req.setTimeout(limits.readTimeoutMs, () => {
      // Decided after this turn's reads: bytes that waited while this process could not run (a
      // loaded machine; the timer fires before the reads) are no silence, and they re-arm it.
      const read = req.socket?.bytesRead ?? 0;
      setImmediate(() => {
        if ((req.socket?.bytesRead ?? 0) === read)
          fail(new LimitError('read', limitWords('read', limits)));
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}
