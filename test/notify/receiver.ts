/** A webhook receiver on 127.0.0.1 (Slack incoming webhook or JSON), with scripted answers. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

export class Receiver {
  readonly received: Received[] = [];
  /** Status codes to answer with, in order; then 200 (Slack answers `ok`). */
  script: { status: number; headers?: Record<string, string> }[] = [];
  attempts = 0;
  private server: Server | null = null;
  url = '';

  async start(path = '/services/T000/B000/s3cr3t-token'): Promise<this> {
    this.server = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        this.attempts += 1;
        const next = this.script.shift();
        if (next) {
          res.writeHead(next.status, next.headers ?? {}).end('error');
          return;
        }
        this.received.push({
          path: req.url ?? '',
          body: JSON.parse(data) as Record<string, unknown>,
          headers: req.headers,
        });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}
