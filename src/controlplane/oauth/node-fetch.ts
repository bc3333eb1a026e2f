/**
 * The `fetch` the OAuth2 requests use (oauth4webapi's customFetch), over node:http(s) rather
 * than the global fetch: the fetch standard refuses "bad ports" outright (1, 7, 9, 6000, 10080…:
 * `--control-plane union+https://127.0.0.1:9` failed with "fetch failed: bad port" after the
 * whole retry budget, and never said that nothing accepts connections there), while the
 * backends' own calls (connect-node, undici's Pool) reach any port. Errors keep Node's codes
 * (ECONNREFUSED, ENOTFOUND, ERR_SSL_…) for util/reach.ts; a body cut off after its headers is
 * an error of the request (ECONNRESET), like no answer at all. No redirect is followed
 * (oauth4webapi asks for none).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** Answers without a body (fetch's Response refuses one for them). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export function nodeFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input);
  const headers = new Headers(init.headers);
  const body =
    init.body === undefined || init.body === null
      ? undefined
      : init.body instanceof URLSearchParams
        ? init.body.toString()
        : typeof init.body === 'string'
          ? init.body
          : null;
  if (body === null) return Promise.reject(new TypeError('nodeFetch sends string bodies only'));
  if (body !== undefined && init.body instanceof URLSearchParams && !headers.has('content-type'))
    headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
  const sent: Record<string, string> = {};
  headers.forEach((value, key) => {
    sent[key] = value;
  });
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method ?? 'GET',
        headers: sent,
        // A few requests per run: no pooled socket left to keep a CLI process alive.
        agent: false,
        signal: init.signal ?? undefined,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('aborted', () =>
          reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })),
        );
        res.on('end', () => {
          if (!res.complete) {
            reject(Object.assign(new Error('answer cut off'), { code: 'ECONNRESET' }));
            return;
          }
          const status = res.statusCode ?? 502;
          const answer = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v])
              answer.append(k, value);
          resolve(
            new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), {
              status,
              statusText: res.statusMessage ?? '',
              headers: answer,
            }),
          );
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
