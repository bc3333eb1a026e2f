/**
 * The reference client of the throttling rows (quality.md): the requests a poolsync apply sent,
 * replayed as they were (headers and body) with a fixed number in flight, each refused one sent
 * again after the delay its refusal asked for (bench/lib/throttle.ts), the others never held.
 * It sends only what the API needs and never adapts: what poolsync's pacer is measured against.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { refusedFor } from './throttle.js';

export interface Replayed {
  refusals: number;
}

/** Replays `requests` to `origin` (`http://127.0.0.1:PORT`), `parallelism` at a time. */
export async function replayFixed(
  origin: string,
  requests: readonly {
    method: string;
    path: string;
    headers: Record<string, string | string[]>;
    body: Buffer;
  }[],
  parallelism: number,
): Promise<Replayed> {
  const agent = new Agent({ keepAlive: true, maxSockets: parallelism });
  const url = new URL(origin);
  let next = 0;
  let refusals = 0;
  const send = (r: (typeof requests)[number]) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>(
      (resolve, reject) => {
        const out = request(
          {
            host: url.hostname,
            port: url.port,
            method: r.method,
            path: r.path,
            headers: r.headers,
            agent,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                body: Buffer.concat(chunks),
              }),
            );
            res.on('error', reject);
          },
        );
        out.on('error', reject);
        out.end(r.body);
      },
    );
  const worker = async () => {
    while (next < requests.length) {
      const r = requests[next++]!;
      for (;;) {
        const got = await send(r);
        if (got.status !== 429) {
          if (got.status >= 400)
            throw new Error(
              `${r.method} ${r.path}: HTTP ${got.status} ${got.body.toString().slice(0, 200)}`,
            );
          break;
        }
        refusals++;
        await new Promise((resolve) => setTimeout(resolve, refusedFor(got.headers, got.body)));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: parallelism }, worker));
  } finally {
    agent.destroy();
  }
  return { refusals };
}
