/**
 * The status server's own answers (src/daemon/http.ts), over a real socket: HEAD wherever GET
 * is answered and an Allow header that lists what the endpoint takes; a webhook's refusals in
 * the shape of its other answers; a client that goes away logged as such, not as a failure; a
 * refused bearer token names the token the endpoint takes and its settings, never the one sent.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SLOW_CLIENT_BOUNDS, startStatusServer, type HttpHandlers } from '../../src/daemon/http.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { initialStatus } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { until } from '../support/until.js';

/** A leader's status server whose handlers do nothing; `logged` gets its log lines. */
async function statusServer(
  logged: Record<string, unknown>[] = [],
  tokens: Pick<HttpHandlers, 'reconcileToken' | 'adminToken' | 'controlPlaneApi'> = {
    reconcileToken: null,
    adminToken: null,
  },
  bounds = SLOW_CLIENT_BOUNDS,
): Promise<string> {
  const h: HttpHandlers = {
    status: () => initialStatus({ kind: 'watch' }, 'safe'),
    ready: () => true,
    metrics: new DaemonMetrics({ processMetrics: false }),
    requestReconcile: async () => [],
    githubWebhookSecret: 'github-secret-0123456789',
    gitlabWebhookToken: null,
    ...tokens,
    branch: 'main',
    approve: () => ({ ok: false, reason: 'nothing held' }),
    freeze: async () => ({ ok: false, reason: 'not here' }),
    follower: () => null,
    logger: pino(
      { level: 'debug' },
      { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) },
    ),
  };
  const server = await startStatusServer(
    { host: '127.0.0.1', port: 0 },
    { ...h, doing: () => '' },
    bounds,
  );
  server.serve(h);
  cleanup.add(() => server.close());
  return server.url;
}

describe('the status server', () => {
  it('answers HEAD wherever it answers GET, and a 405 names the methods the endpoint takes', async () => {
    const url = await statusServer();
    for (const path of ['/healthz', '/readyz', '/status', '/metrics']) {
      const get = await fetch(`${url}${path}`);
      const head = await fetch(`${url}${path}`, { method: 'HEAD' });
      expect([path, head.status, await head.text()]).toEqual([path, get.status, '']);
      expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
      const put = await fetch(`${url}${path}`, { method: 'PUT' });
      expect([path, put.status, put.headers.get('allow')]).toEqual([path, 405, 'GET, HEAD']);
    }
    const get = await fetch(`${url}/reconcile`);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
  });

  it('a webhook body over 2 MiB, or a webhook not configured, is refused as its other answers are: {"result", "message"}', async () => {
    const url = await statusServer();
    const off = await fetch(`${url}/webhooks/gitlab`, { method: 'POST', body: '{}' });
    expect([off.status, await off.json()]).toEqual([
      404,
      {
        result: 'not_configured',
        message:
          'gitlab webhooks are not configured: set POOLSYNC_GITLAB_WEBHOOK_TOKEN (or POOLSYNC_GITLAB_WEBHOOK_TOKEN_FILE)',
      },
    ]);
    // Declared, not sent: the refusal comes before any of it is read.
    const req = request(`${url}/webhooks/github`, {
      method: 'POST',
      headers: { 'x-github-event': 'push', 'content-length': String(3 * 1024 * 1024) },
    });
    req.flushHeaders();
    const res = await new Promise<IncomingMessage>((r) => req.once('response', r));
    let body = '';
    for await (const chunk of res) body += String(chunk);
    req.destroy();
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(body)).toEqual({
      result: 'too_large',
      message: 'the body is larger than 2 MiB, the most a webhook delivery may hold',
    });
  });

  it('POST /reconcile, which takes no body, refuses one over 64 KiB as the admin endpoints do, declared or sent, and runs nothing', async () => {
    const token = 'reconcile-token-0123456789';
    const url = await statusServer([], {
      reconcileToken: token,
      adminToken: 'admin-token-0123456789',
    });
    const headers = { authorization: `Bearer ${token}` };
    const answer = async (req: ClientRequest) => {
      const res = await new Promise<IncomingMessage>((r) => req.once('response', r));
      let body = '';
      for await (const chunk of res) body += String(chunk);
      req.destroy();
      return [res.statusCode, (JSON.parse(body) as { error: string }).error];
    };
    const refused = (path: string) => [
      413,
      `the body is larger than 64 KiB, the most POST ${path} takes; nothing done`,
    ];
    // Declared, not sent: refused before any of it is read.
    const declared = request(`${url}/reconcile`, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(400 * 1024 * 1024) },
    });
    declared.flushHeaders();
    expect(await answer(declared)).toEqual(refused('/reconcile'));
    // Sent in chunks, no length declared: refused once it grows past the limit.
    const sent = request(`${url}/reconcile`, { method: 'POST', headers });
    sent.write('x'.repeat(65 * 1024));
    expect(await answer(sent)).toEqual(refused('/reconcile'));
    const admin = request(`${url}/suspend`, {
      method: 'POST',
      headers: { authorization: 'Bearer admin-token-0123456789', 'content-length': '70000' },
    });
    admin.flushHeaders();
    expect(await answer(admin)).toEqual(refused('/suspend'));
    // A body within the limit is still taken (and set aside).
    const small = await fetch(`${url}/reconcile`, { method: 'POST', headers, body: '{}' });
    expect(small.status).toBe(202);
  });

  it("the quickstart's control-plane API names the method sent when it refuses a body (PUT, not POST)", async () => {
    const called: string[] = [];
    const url = await statusServer([], {
      reconcileToken: null,
      adminToken: 'admin-token-0123456789',
      controlPlaneApi: async (call) => void called.push(call.method),
    });
    const put = request(`${url}/control-plane/v1/queues/batch`, {
      method: 'PUT',
      headers: { authorization: 'Bearer admin-token-0123456789', 'content-length': '70000' },
    });
    put.flushHeaders();
    const res = await new Promise<IncomingMessage>((r) => put.once('response', r));
    let body = '';
    for await (const chunk of res) body += String(chunk);
    put.destroy();
    expect([res.statusCode, JSON.parse(body)]).toEqual([
      413,
      {
        error:
          'the body is larger than 64 KiB, the most PUT /control-plane/v1/queues/batch takes; nothing done',
      },
    ]);
    expect(called).toEqual([]);
  });

  // Node checks its bounds every 30 s by default: a 1 s bound was met only after 30 s or more.
  it('a client that trickles its headers slower than the bound is answered 408 within a second of it', async () => {
    const url = new URL(await statusServer([], undefined, { headersMs: 1_000, requestMs: 2_000 }));
    const socket = connect(Number(url.port), url.hostname);
    cleanup.add(() => void socket.destroy());
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /status HTTP/1.1\r\nhost: localhost\r\n');
    // A byte of one more header every 100 ms: never the end of the headers.
    const trickle = setInterval(() => socket.write('x'), 100);
    cleanup.add(() => clearInterval(trickle));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += String(chunk)));
    // The server closes the connection after its 408: a byte sent as it does is reset.
    socket.on('error', () => clearInterval(trickle));
    await new Promise((r) => socket.once('close', r));
    clearInterval(trickle);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  }, 20_000);

  it('a client that goes away before its body is read is logged at info, saying so', async () => {
    const logged: Record<string, unknown>[] = [];
    const url = new URL(await statusServer(logged));
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      'POST /webhooks/github HTTP/1.1\r\nhost: localhost\r\ncontent-length: 1000\r\n\r\n{"ref":',
    );
    // The headers and part of the body, then the end of the connection: in that order.
    socket.end();
    const line = await until('the request logged', () => logged.find((l) => l.path !== undefined));
    expect(line).toMatchObject({
      level: 30,
      path: '/webhooks/github',
      msg: 'the client went away before its request was read (it closed the connection, or sent it slower than the server waits)',
    });
    expect(logged.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });

  it('a refused bearer token names which token the endpoint takes and where it is set, never the one sent', async () => {
    const said = async (url: string, path: string) => {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer sent-0123456789abcdef' },
        body: '{}',
      });
      const text = await res.text();
      expect(text).not.toContain('sent-0123456789abcdef');
      return [res.status, (JSON.parse(text) as { error: string }).error];
    };
    const reconcile =
      'the reconcile token (its POOLSYNC_RECONCILE_TOKEN or --reconcile-token-file)';
    const admin = 'the admin token (its POOLSYNC_ADMIN_TOKEN or --admin-token-file)';
    const wrong = (takes: string) =>
      `missing or wrong bearer token: send ${takes} this daemon was started with`;
    const both = await statusServer([], {
      reconcileToken: 'reconcile-token-0123456789',
      adminToken: 'admin-token-0123456789',
    });
    expect(await said(both, '/reconcile')).toEqual([401, wrong(`${reconcile}, or ${admin}`)]);
    expect(await said(both, '/suspend')).toEqual([401, wrong(admin)]);
    const one = await statusServer([], {
      reconcileToken: 'reconcile-token-0123456789',
      adminToken: null,
    });
    expect(await said(one, '/reconcile')).toEqual([401, wrong(reconcile)]);
  });
});
