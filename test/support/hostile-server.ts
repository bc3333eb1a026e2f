/**
 * Servers that answer as an attacker or a broken network would (issue 60), on real loopback
 * sockets, in front of a real server whose answers pass where `passes(path)` says (OAuth2
 * discovery before a hostile RPC):
 *
 * - `endless`: 200 (or `status`), then a body that never ends, as fast as the client reads;
 * - `trickle`: 200 (or `status`), then one byte every `trickleMs` (never idle long enough for a read timeout);
 * - `bomb`: 200 `content-encoding: gzip`, a small body that inflates to `bombBytes` of zeros;
 * - `silent`: the request read, nothing ever answered;
 * - `dropping()`: a port whose connections never complete (its packets dropped: a listener with
 *   a full backlog in a stopped process, so the kernel drops each SYN as a firewall does).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { createGzip } from 'node:zlib';
import { answer, forward, listenLoopback, readRequest } from './forwarding.js';
import { stopsWithThisProcess } from './stops-with-this-process.js';

export type Hostility = 'endless' | 'trickle' | 'bomb' | 'silent';

export interface HostileServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** Requests answered with hostility, and passed through. */
  readonly counts: { hostile: number; passed: number };
  /** The paths of the requests passed through, in order. */
  readonly passed: string[];
  close(): Promise<void>;
}

const bombs = new Map<number, Promise<Buffer>>();

/** gzip of `bytes` zeros (1 GiB is ~1 MiB), made once per size. */
export function gzipBomb(bytes: number): Promise<Buffer> {
  let made = bombs.get(bytes);
  if (!made) {
    made = new Promise<Buffer>((resolve, reject) => {
      const gzip = createGzip({ level: 9 });
      const out: Buffer[] = [];
      gzip.on('data', (c: Buffer) => out.push(c));
      gzip.on('end', () => resolve(Buffer.concat(out)));
      gzip.on('error', reject);
      const zeros = Buffer.alloc(1024 * 1024);
      let left = bytes;
      const write = () => {
        while (left > 0) {
          left -= zeros.length;
          if (!gzip.write(left >= 0 ? zeros : zeros.subarray(0, zeros.length + left)))
            return void gzip.once('drain', write);
        }
        gzip.end();
      };
      write();
    });
    bombs.set(bytes, made);
  }
  return made;
}

export async function startHostileServer(o: {
  mode: Hostility;
  /** Where passed requests go (e.g. a stand-in with its OAuth2 server). */
  upstream?: string;
  passes?: (path: string) => boolean;
  contentType?: string;
  trickleMs?: number;
  bombBytes?: number;
  /** What `trickle` and `endless` answer with before their body (default 200). */
  status?: number;
}): Promise<HostileServer> {
  const counts = { hostile: 0, passed: 0 };
  const passed: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const contentType = o.contentType ?? 'application/json';
  const bomb = o.mode === 'bomb' ? await gzipBomb(o.bombBytes ?? 64 * 1024 * 1024) : null;
  const server = await listenLoopback((req, res) => {
    const path = req.url ?? '/';
    if (o.upstream && o.passes?.(path)) {
      counts.passed++;
      passed.push(path);
      readRequest(req, (body) =>
        // The Host this server was asked as: discovery names it, so the token comes here too.
        forward(
          new URL(o.upstream!),
          req,
          body,
          res,
          (up, whole) => answer(res, up, whole, 'pass'),
          {
            keepHost: true,
          },
        ),
      );
      return;
    }
    counts.hostile++;
    readRequest(req, () => {
      switch (o.mode) {
        case 'silent':
          return;
        case 'bomb':
          res.writeHead(200, {
            'content-type': contentType,
            'content-encoding': 'gzip',
            'content-length': bomb!.length,
          });
          return void res.end(bomb);
        case 'trickle': {
          res.writeHead(o.status ?? 200, { 'content-type': contentType });
          const t = setInterval(() => res.write('['), o.trickleMs ?? 100);
          timers.add(t);
          res.on('close', () => clearInterval(t));
          return;
        }
        case 'endless': {
          res.writeHead(o.status ?? 200, { 'content-type': contentType });
          const chunk = Buffer.alloc(64 * 1024, '[');
          const pump = () => {
            while (!res.destroyed && res.write(chunk));
          };
          res.on('drain', pump);
          pump();
          return;
        }
      }
    });
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    host: `127.0.0.1:${server.port}`,
    counts,
    passed,
    close: async () => {
      for (const t of timers) clearInterval(t);
      await server.close();
    },
  };
}

/**
 * A port on 127.0.0.1 whose connections never complete: a child process listens with a backlog
 * of one, is stopped, and the backlog is filled (Linux queues backlog + 1 connections), so the
 * kernel drops every further SYN.
 */
export async function dropping(): Promise<{ port: number; close(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () { process.stdout.write(this.address().port + '\\n'); })",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  stopsWithThisProcess(child, 'SIGKILL');
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the listener exited (${code})`)));
  });
  child.kill('SIGSTOP');
  const fillers: Socket[] = [];
  let connected = 0;
  await new Promise<void>((resolve) => {
    for (let i = 0; i < 3; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('connect', () => ++connected === 2 && resolve());
      fillers.push(s);
    }
  });
  return {
    port,
    close: async () => {
      for (const s of fillers) s.destroy();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export type RawHostility = 'trickled-headers' | 'huge-headers';

/**
 * A server at the level of bytes (node:net), once a request's headers are read:
 * `trickled-headers` sends a status line and a header one byte every `trickleMs`, never ending
 * them (bytes arrive, the answer never completes); `huge-headers` answers at once with a header
 * of `headerBytes`, more than an HTTP client accepts (16 KiB). A connection whose first request's
 * path `passes` is joined to `upstream` (`127.0.0.1:PORT`) byte for byte, its Host kept.
 */
export async function startRawServer(o: {
  mode: RawHostility;
  trickleMs?: number;
  headerBytes?: number;
  upstream?: string;
  passes?: (path: string) => boolean;
}): Promise<HostileServer> {
  const counts = { hostile: 0, passed: 0 };
  const passed: string[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let asked = '';
    socket.on('data', (chunk: Buffer) => {
      if (asked.includes('\r\n\r\n')) return;
      asked += chunk.toString('latin1');
      if (!asked.includes('\r\n\r\n')) return;
      const path = asked.split(' ', 2)[1] ?? '/';
      if (o.upstream && o.passes?.(path)) {
        counts.passed++;
        passed.push(path);
        const [host, port] = o.upstream.split(':');
        const up = connect(Number(port), host!);
        sockets.add(up);
        up.on('error', () => socket.destroy());
        up.on('close', () => socket.destroy());
        up.write(Buffer.from(asked, 'latin1'));
        socket.pipe(up);
        up.pipe(socket);
        return;
      }
      counts.hostile++;
      if (o.mode === 'huge-headers')
        return void socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-huge: ${'a'.repeat(o.headerBytes ?? 64 * 1024)}\r\ncontent-length: 2\r\n\r\n{}`,
        );
      const start = Buffer.from('HTTP/1.1 200 OK\r\nx-slow: ');
      let sent = 0;
      const t = setInterval(() => {
        socket.write(sent < start.length ? start.subarray(sent, sent + 1) : 'a');
        sent++;
      }, o.trickleMs ?? 50);
      timers.add(t);
      socket.on('close', () => clearInterval(t));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    counts,
    passed,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
