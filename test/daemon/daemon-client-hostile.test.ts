/**
 * The daemon client (`sync`, `rollback`, `resume`, `status`) against servers on 127.0.0.1 that
 * misbehave: one that accepts and never answers held `sync` an hour in silence (its run was
 * waited for as long as a follower waits for the leader's); one that trickles its headers a
 * byte at a time, as long; timeouts named the wrong setting and value; a proxy's 401, 429 and
 * 502 were said without what to do (docs/daemon.md, From the command line).
 */
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freeze, status, sync } from '../../src/cli/commands/daemon-client.js';
import { exitOf, memoryIo, runInProcess } from '../support/memory-io.js';
import { daemonClientArgs } from '../support/daemon-client-args.js';

/** `server` listening on a free port; closed, its connections with it, when the test ends. */
async function listening(server: Server): Promise<string> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => sockets.add(s.on('close', () => sockets.delete(s))));
  // A free port (0): a fixed one met another process's (EADDRINUSE) in a whole-suite run.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  onTestFinished(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  });
  return `http://127.0.0.1:${port}`;
}

/**
 * A server that takes each connection, and `then` on it: `closed` resolves once the client
 * ends it (the command gave up), with what the server sent by then.
 */
async function rawServer(then: (socket: Socket) => () => number) {
  let closed!: (sent: number) => void;
  const gaveUp = new Promise<number>((resolve) => (closed = resolve));
  const server = createServer((socket) => {
    const sent = then(socket);
    // Read (and drop) what comes: a paused socket never sees the client's end.
    socket.on('error', () => {}).resume();
    socket.on('close', () => closed(sent()));
  });
  return { url: await listening(server), gaveUp };
}

/** Accepts, reads, never answers. */
const silent = () => rawServer(() => () => 0);

/** Headers trickled one byte each `everyMs`, never ending: each a byte the read timeout sees. */
const trickling = (everyMs: number) =>
  rawServer((socket) => {
    let sent = 0;
    const bytes = Buffer.from('HTTP/1.1 200 OK\r\nX-Slow: ');
    const timer = setInterval(() => {
      socket.write(bytes.subarray(Math.min(sent, bytes.length - 1)).subarray(0, 1));
      sent++;
    }, everyMs);
    socket.on('close', () => clearInterval(timer));
    return () => sent;
  });

const ADMIN = { POOLSYNC_ADMIN_TOKEN: 'admin-token-hostile-0123456789' };

describe('a daemon that does not answer', () => {
  it('sync waits for its run at most --timeout, says so once the daemon is silent, and names --timeout when it gives up (it waited an hour, silent)', async () => {
    const server = await silent();
    const io = memoryIo({ ...ADMIN, POOLSYNC_READ_TIMEOUT: '1s', POOLSYNC_CALL_TIMEOUT: '5s' });
    expect(await exitOf(io, sync(daemonClientArgs(server.url, { timeout: '3s' }), io))).toBe(1);
    await server.gaveUp;
    const url = `${server.url}/reconcile?wait=1`;
    expect(io.err()).toBe(
      `Waiting for ${url}: the daemon answers when the run ends (no answer for 1.0s); giving up after 3.0s (--timeout); Ctrl-C stops.\n` +
        `Error: the daemon at ${url}: no answer within 3.0s (--timeout), the longest \`poolsync sync\` waits for its run; the daemon may still be running it: \`poolsync status\` shows how it ends; raise --timeout if its applies take longer\n`,
    );
  });

  it('rollback --timeout ends a daemon that trickles its headers a byte at a time', async () => {
    const server = await trickling(100);
    const r = await runInProcess(['rollback', '3', '--daemon', server.url, '--timeout', '2s'], {
      ...ADMIN,
      POOLSYNC_READ_TIMEOUT: '1s',
      NO_COLOR: '1',
    });
    expect(await server.gaveUp).toBeGreaterThan(0);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Error: the daemon at ${server.url}/rollback?wait=1: no answer within 2.0s (--timeout), the longest \`poolsync rollback\` waits for its run;`,
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('a --timeout that is no duration is refused before anything is sent', async () => {
    const r = await runInProcess(['sync', '--daemon', 'http://127.0.0.1:9', '--timeout', '0s'], {
      ...ADMIN,
    });
    expect(r.stderr).toBe('Error: --timeout: "0s" is no limit: give more than zero\n');
  });

  it("a call a follower may hold names its parts: the read timeout and the follower's hand-off (it named POOLSYNC_CALL_TIMEOUT, or 17s as the read timeout)", async () => {
    const server = await silent();
    const said = await Promise.all(
      ['5s', '40s'].map(async (call) => {
        const io = memoryIo({
          ...ADMIN,
          POOLSYNC_READ_TIMEOUT: '1s',
          POOLSYNC_CALL_TIMEOUT: call,
        });
        expect(await exitOf(io, freeze(daemonClientArgs(server.url), io, false))).toBe(1);
        return io.err();
      }),
    );
    for (const err of said)
      expect(err).toBe(
        `Error: the daemon at ${server.url}/resume: no answer within 16s: its 1.0s read timeout (POOLSYNC_READ_TIMEOUT) + 15s a follower may take to hand the request to the leader; the daemon or the network stalled: raise POOLSYNC_READ_TIMEOUT if it is only slow; check --daemon (its status address)\n`,
      );
  }, 60_000);
});

/** An HTTP server answering every request with `status`, `body` and `headers`. */
async function answering(status: number, body: string, headers: Record<string, string> = {}) {
  const server = createHttpServer((_req, res: ServerResponse) => {
    res.writeHead(status, headers);
    res.end(body);
  });
  return listening(server as unknown as Server);
}

describe('a refusal says what to do', () => {
  const NGINX_502 =
    '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

  it("a 401 names the token the daemon's body names; a 401 not in its words is a proxy's", async () => {
    const named =
      'missing or wrong bearer token: send the status token (its POOLSYNC_X) this daemon was started with';
    const url = await answering(401, JSON.stringify({ error: named }), {
      'content-type': 'application/json',
    });
    const io = memoryIo();
    expect(await exitOf(io, status(daemonClientArgs(url), io))).toBe(1);
    expect(io.err()).toBe(`Error: ${url}/status answered HTTP 401: ${named}\n`);

    const proxy = await answering(401, '<html>Log in</html>', { 'content-type': 'text/html' });
    const p = memoryIo();
    expect(await exitOf(p, status(daemonClientArgs(proxy), p))).toBe(1);
    expect(p.err()).toBe(
      `Error: ${proxy}/status answered HTTP 401, not in a poolsync daemon's words (the daemon names the token it takes): a proxy or an ingress in front of it asks for a login poolsync does not send; point --daemon (POOLSYNC_DAEMON_URL) past it, or have it let poolsync through\n`,
    );
  });

  it('a redirect names where it leads and the --daemon to give (it said only that the body is no JSON object)', async () => {
    const url = await answering(302, '', { location: 'https://poolsync.example/ops/status' });
    const io = memoryIo();
    expect(await exitOf(io, status(daemonClientArgs(url), io))).toBe(1);
    expect(io.err()).toBe(
      `Error: ${url}/status answered HTTP 302, a redirect to https://poolsync.example/ops/status, which poolsync does not follow (the token would be sent to it): if that address is trusted, correct --daemon (its status address; env POOLSYNC_DAEMON_URL) to https://poolsync.example/ops\n`,
    );
  });

  it('a 429 says when to retry, from its Retry-After', async () => {
    const url = await answering(429, 'slow down', { 'retry-after': '30' });
    const io = memoryIo();
    expect(await exitOf(io, status(daemonClientArgs(url), io))).toBe(1);
    expect(io.err()).toBe(
      `Error: ${url}/status answered HTTP 429 (too many requests): the daemon, or a proxy in front of it, limits how often it is asked; nothing was done: retry after 30s (its Retry-After)\n`,
    );
  });

  it("a proxy's 502 page says the daemon behind it is down or restarting (it asked whether --daemon is a daemon)", async () => {
    const url = await answering(502, NGINX_502, { 'content-type': 'text/html' });
    const io = memoryIo(ADMIN);
    expect(await exitOf(io, sync(daemonClientArgs(url), io))).toBe(1);
    expect(io.err()).toBe(
      `Error: ${url}/reconcile answered HTTP 502: a proxy or load balancer in front of the daemon answered: the daemon behind it is down or restarting; check it (its log, its pod) and retry once it is up\n`,
    );
  });
});
