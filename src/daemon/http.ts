/**
 * The daemon's HTTP surface (node:http): health, readiness, metrics, status, a manual trigger
 * and the webhook receivers. Every request body is size-limited; nothing answers with a stack
 * trace; secrets are compared in constant time and never echoed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpHandlers } from './http-handlers.js';
import { answerHandOff, authorized, relay } from './http-replies.js';
import { webhook } from './webhook-receiver.js';

export { DEFAULT_BODY_LIMIT, type HttpHandlers } from './http-handlers.js';
import { crossSiteRequest } from './dashboard/cross-site.js';
import { readBody, send } from './http-io.js';
import { handOff, REPLICA_HEADER } from './forward.js';
import { Redactor } from '../util/redact.js';

export interface StatusServer {
  server: Server;
  /** `http://host:port` actually bound (port 0 resolved). */
  url: string;
  close(): Promise<void>;
}

export async function startStatusServer(
  listen: { host: string; port: number },
  h: HttpHandlers,
): Promise<StatusServer> {
  const server = createServer((req, res) => {
    route(req, res, h).catch((err: unknown) => {
      h.logger.error(
        { err: err instanceof Error ? err.message : String(err), path: req.url },
        'request failed',
      );
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  // Slow-loris bounds: a client must send headers and body promptly.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still open (e.g. POST /reconcile?wait=1) get a short grace, then are cut.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, h: HttpHandlers): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const key = `${req.method} ${url.pathname}`;
  if (h.replica) res.setHeader(REPLICA_HEADER, h.replica);
  if (h.dashboard && (key === 'GET /' || key === 'HEAD /')) return h.dashboard(req, res, url);
  switch (key) {
    case 'GET /healthz':
    case 'HEAD /healthz':
      return send(res, 200, { status: 'ok' });
    case 'GET /readyz':
    case 'HEAD /readyz':
      return h.ready()
        ? send(res, 200, { status: 'ready' })
        : send(res, 503, {
            status: 'not ready',
            reason: 'the first reconcile has not finished or the control plane has not answered',
          });
    case 'GET /metrics': {
      const text = await h.metrics.text();
      res.writeHead(200, { 'content-type': h.metrics.contentType });
      res.end(text);
      return;
    }
    case 'GET /status':
      return statusAnswer(req, res, url, h);
    case 'POST /reconcile':
      return manualReconcile(req, res, url, h);
    case 'POST /approve':
      return approve(req, res, h);
    case 'POST /webhooks/github':
      return webhook(req, res, h, 'github');
    case 'POST /webhooks/gitlab':
      return webhook(req, res, h, 'gitlab');
    default:
      return unknownEndpoint(req, res, url, h);
  }
}

async function statusAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  h: HttpHandlers,
): Promise<void> {
  // A follower answers with the leader's status (`?local=1`: its own).
  if (!url.searchParams.has('local')) {
    const off = await handOff(req, Buffer.alloc(0), h.follower(), null, 5_000);
    if (off.kind === 'answered') return relay(res, off);
    if (h.fullStatus) return send(res, 200, await h.fullStatus());
  }
  return send(res, 200, h.status());
}

/** 405 for a known path asked with another method, else 404 with the endpoints. */
function unknownEndpoint(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  h: HttpHandlers,
): void {
  const known = [
    ...(h.dashboard ? ['/'] : []),
    '/healthz',
    '/readyz',
    '/metrics',
    '/status',
    '/reconcile',
    '/approve',
    '/webhooks/github',
    '/webhooks/gitlab',
  ];
  if (known.includes(url.pathname)) {
    res.setHeader(
      'allow',
      ['/reconcile', '/approve', '/webhooks/github', '/webhooks/gitlab'].includes(url.pathname)
        ? 'POST'
        : 'GET, HEAD',
    );
    return send(res, 405, { error: `${req.method} is not allowed on ${url.pathname}` });
  }
  return send(res, 404, { error: `no such endpoint: ${url.pathname}`, endpoints: known });
}

async function manualReconcile(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  h: HttpHandlers,
): Promise<void> {
  // Drain (and bound) any body so the connection stays usable.
  const body = (await readBody(req, 64 * 1024).catch(() => null)) ?? Buffer.alloc(0);
  // The reconcile token (webhook-like callers), or the admin token (`poolsync sync`, the
  // dashboard's Sync button, which also passes the cross-site check of approvals).
  const tokens = [h.reconcileToken, h.adminToken].filter((t) => t !== null);
  if (tokens.length === 0) {
    return send(res, 403, {
      error:
        'POST /reconcile is disabled: set POOLSYNC_RECONCILE_TOKEN or POOLSYNC_ADMIN_TOKEN (or their --…-token-file) to enable it',
    });
  }
  const crossSite = crossSiteRequest(req.headers);
  if (crossSite !== null)
    return send(res, 403, { error: `refused: ${crossSite}, not this daemon's own page` });
  const token = tokens.find((t) => authorized(req, body, t));
  if (token === undefined) {
    res.setHeader('www-authenticate', 'Bearer');
    return send(res, 401, { error: 'missing or wrong bearer token' });
  }
  const wait = ['1', 'true', 'yes'].includes(url.searchParams.get('wait') ?? '');
  // ?wait=1 answers when the run has finished: as long as that takes.
  const off = await handOff(req, body, h.follower(), token, wait ? 3_600_000 : 15_000);
  if (off.kind !== 'local') return answerHandOff(res, h, off, 'run a reconcile');
  const done = h.requestReconcile('manual');
  if (!wait) return send(res, 202, { queued: true });
  await done;
  const status = h.status();
  return send(res, 200, { queued: true, lastRun: status.lastRun });
}

/** POST /approve's body, once its size, the endpoint being on, the origin and the token passed; null: answered. */
async function approvalBody(
  req: IncomingMessage,
  res: ServerResponse,
  h: HttpHandlers,
): Promise<Buffer | null> {
  let body: Buffer;
  try {
    body = await readBody(req, 64 * 1024);
  } catch {
    send(res, 413, { error: 'body larger than 64 KiB' });
    return null;
  }
  if (h.adminToken === null) {
    send(res, 403, {
      error:
        'POST /approve is disabled: set POOLSYNC_ADMIN_TOKEN (or --admin-token-file) to enable it',
    });
    return null;
  }
  const crossSite = crossSiteRequest(req.headers);
  if (crossSite !== null) {
    send(res, 403, {
      error: `refused: ${crossSite}, not this daemon's own page; approve from the dashboard or with \`poolsync approve\``,
    });
    return null;
  }
  if (!authorized(req, body, h.adminToken)) {
    res.setHeader('www-authenticate', 'Bearer');
    send(res, 401, { error: 'missing or wrong bearer token (the daemon admin token)' });
    return null;
  }
  return body;
}

async function approve(req: IncomingMessage, res: ServerResponse, h: HttpHandlers): Promise<void> {
  const body = await approvalBody(req, res, h);
  if (body === null || h.adminToken === null) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return send(res, 400, {
      error: 'the body must be JSON: {"fingerprint": "sha256:…", "approver": "name"}',
    });
  }
  const { fingerprint, approver, environment } = (parsed ?? {}) as {
    fingerprint?: unknown;
    approver?: unknown;
    environment?: unknown;
  };
  const route = typeof environment === 'string' ? { environment } : {};
  const off = await handOff(req, body, h.follower(route), h.adminToken, 15_000);
  if (off.kind !== 'local') return answerHandOff(res, h, off, 'hold the plan waiting for approval');
  if (typeof fingerprint !== 'string' || typeof approver !== 'string' || approver.trim() === '') {
    return send(res, 400, {
      error:
        'the body needs "fingerprint" (of the held changes, GET /status approval.pending) and "approver" (who approves)',
    });
  }
  // The approver is shown in /status and the log: a token pasted there (the admin token
  // itself, a webhook secret) is refused, never recorded.
  if (holdsSecret(h, approver)) {
    return send(res, 400, {
      error:
        '"approver" holds a token (the admin token or another secret of this daemon): name who approves, e.g. a user name; nothing was approved',
    });
  }
  return decide(res, h, { fingerprint, approver, environment });
}

function holdsSecret(h: HttpHandlers, text: string): boolean {
  const secrets = new Redactor([
    h.adminToken,
    h.reconcileToken,
    h.githubWebhookSecret,
    h.gitlabWebhookToken,
  ]);
  return secrets.scrub(text) !== text;
}

/** The approval asked of the daemon, answered (409 when refused), and a run asked for. */
function decide(
  res: ServerResponse,
  h: HttpHandlers,
  {
    fingerprint,
    approver,
    environment,
  }: { fingerprint: string; approver: string; environment: unknown },
): void {
  const answer = h.approve({
    fingerprint,
    approver: approver.trim().slice(0, 200),
    // With environments: the one approved (else the one holding the fingerprint).
    ...(typeof environment === 'string' ? { environment } : {}),
  });
  if (!answer.ok) {
    h.logger.warn({ fingerprint, approver, reason: answer.reason }, 'approval refused');
    return send(res, 409, { approved: false, reason: answer.reason });
  }
  h.logger.info(
    { fingerprint, approver: answer.record.approver, via: 'api' },
    'approval accepted: the next run applies the held changes',
  );
  void h.requestReconcile('manual');
  return send(res, 200, { approved: true, approval: answer.record });
}
