/**
 * The daemon's HTTP surface (node:http): health, readiness, metrics, status, a manual trigger
 * and the webhook receivers. Every request body is size-limited; nothing answers with a stack
 * trace; secrets are compared in constant time and never echoed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { TriggerReason } from './loop.js';
import type { DaemonMetrics } from './metrics.js';
import type { DaemonStatus } from './status.js';
import type { ApprovalAnswer } from './approvals.js';
import { crossSiteRequest } from './dashboard/cross-site.js';
import type { DashboardHandler } from './dashboard/handler.js';
import { constantTimeEqual } from '../util/constant-time.js';
import { readBody, send, TooLarge } from './http-io.js';
import {
  handOff,
  REPLICA_HEADER,
  verifyForward,
  webhookHeaders,
  type Follower,
  type HandOff,
} from './forward.js';
import {
  type CommentEvent,
  handleGithubWebhook,
  handleGitlabWebhook,
  type PullRequestEvent,
  type WebhookOutcome,
} from './webhooks.js';
import { Redactor } from '../util/redact.js';

export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

export interface HttpHandlers {
  status(): DaemonStatus;
  ready(): boolean;
  metrics: DaemonMetrics;
  /** Asks the loop for a run; resolves when that run finished. */
  requestReconcile(reason: TriggerReason): Promise<void>;
  githubWebhookSecret: string | null;
  gitlabWebhookToken: string | null;
  reconcileToken: string | null;
  /** The followed branch (null in --watch mode: pushes are ignored). */
  branch: string | null;
  onPullRequest?: (event: PullRequestEvent) => Promise<void>;
  /** `poolsync apply` comments on pull/merge requests (approvals, comment-approvals.ts). */
  onComment?: (event: CommentEvent) => Promise<void>;
  /** Bearer token of POST /approve (null: approvals by API are off). */
  adminToken: string | null;
  /** POST /approve: approve exactly this fingerprint (approvals.ts). */
  approve(request: { fingerprint: string; approver: string }): ApprovalAnswer;
  /**
   * With --leader-elect: null while this replica leads; else the leader as last observed and
   * where it is reached, for handing requests to it (forward.ts).
   */
  follower(): Follower | null;
  /** This replica's identity with --leader-elect (the X-Poolsync-Replica of every answer). */
  replica?: string;
  logger: Logger;
  bodyLimit?: number;
  /** GET / (docs/daemon.md#dashboard); absent: the page is off (--dashboard=false). */
  dashboard?: DashboardHandler;
}

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
    case 'GET /status': {
      // A follower answers with the leader's status (`?local=1`: its own).
      if (!url.searchParams.has('local')) {
        const off = await handOff(req, Buffer.alloc(0), h.follower(), null, 5_000);
        if (off.kind === 'answered') return relay(res, off);
      }
      return send(res, 200, h.status());
    }
    case 'POST /reconcile':
      return manualReconcile(req, res, url, h);
    case 'POST /approve':
      return approve(req, res, h);
    case 'POST /webhooks/github':
      return webhook(req, res, h, 'github');
    case 'POST /webhooks/gitlab':
      return webhook(req, res, h, 'gitlab');
    default: {
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
  }
}

async function manualReconcile(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  h: HttpHandlers,
): Promise<void> {
  // Drain (and bound) any body so the connection stays usable.
  const body = (await readBody(req, 64 * 1024).catch(() => null)) ?? Buffer.alloc(0);
  if (h.reconcileToken === null) {
    return send(res, 403, {
      error:
        'POST /reconcile is disabled: set POOLSYNC_RECONCILE_TOKEN (or --reconcile-token-file) to enable it',
    });
  }
  if (!authorized(req, body, h.reconcileToken)) {
    res.setHeader('www-authenticate', 'Bearer');
    return send(res, 401, { error: 'missing or wrong bearer token' });
  }
  const wait = ['1', 'true', 'yes'].includes(url.searchParams.get('wait') ?? '');
  // ?wait=1 answers when the run has finished: as long as that takes.
  const off = await handOff(req, body, h.follower(), h.reconcileToken, wait ? 3_600_000 : 15_000);
  if (off.kind !== 'local') return answerHandOff(res, h, off, 'run a reconcile');
  const done = h.requestReconcile('manual');
  if (!wait) return send(res, 202, { queued: true });
  await done;
  const status = h.status();
  return send(res, 200, { queued: true, lastRun: status.lastRun });
}

async function webhook(
  req: IncomingMessage,
  res: ServerResponse,
  h: HttpHandlers,
  provider: 'github' | 'gitlab',
): Promise<void> {
  const secret = provider === 'github' ? h.githubWebhookSecret : h.gitlabWebhookToken;
  let body: Buffer;
  try {
    body = await readBody(req, h.bodyLimit ?? DEFAULT_BODY_LIMIT);
  } catch (err) {
    if (err instanceof TooLarge) {
      h.metrics.webhookDeliveries.inc({ provider, result: 'too_large' });
      res.setHeader('connection', 'close');
      return send(res, 413, {
        error: `body larger than ${h.bodyLimit ?? DEFAULT_BODY_LIMIT} bytes`,
      });
    }
    throw err;
  }
  if (secret === null) {
    h.metrics.webhookDeliveries.inc({ provider, result: 'not_configured' });
    const env =
      provider === 'github' ? 'POOLSYNC_GITHUB_WEBHOOK_SECRET' : 'POOLSYNC_GITLAB_WEBHOOK_TOKEN';
    return send(res, 404, {
      error: `${provider} webhooks are not configured: set ${env} (or ${env}_FILE)`,
    });
  }
  // A delivery a follower verified and handed on carries its signature instead (forward.ts).
  const request = {
    headers: webhookHeaders(provider, secret, req.headers, req.url ?? '', body),
    body,
  };
  const outcome: WebhookOutcome =
    provider === 'github'
      ? handleGithubWebhook(request, { secret, branch: h.branch })
      : handleGitlabWebhook(request, { token: secret, branch: h.branch });
  h.metrics.webhookDeliveries.inc({ provider, result: outcome.result });
  const delivery = req.headers['x-github-delivery'] ?? req.headers['x-gitlab-event-uuid'] ?? null;
  h.logger.info(
    { provider, delivery, result: outcome.result, status: outcome.status },
    `webhook: ${outcome.message}`,
  );

  if (['push', 'pull_request', 'comment'].includes(outcome.result)) {
    // The leader runs the loop, keeps the plans posted on pull requests and the approvals.
    const off = await handOff(req, body, h.follower(), secret, 8_000);
    if (off.kind === 'answered') return relay(res, off);
    // Any replica can plan and comment a pull request (the leader then cannot take approvals of it).
    if (off.kind === 'refused' && outcome.result !== 'pull_request')
      return answerHandOff(
        res,
        h,
        off,
        outcome.result === 'push' ? 'reconcile this push' : 'take approvals',
      );
  }
  if (outcome.result === 'push') {
    void h.requestReconcile('webhook');
    return send(res, 202, { result: outcome.result, message: outcome.message });
  }
  if (outcome.result === 'pull_request') {
    if (!h.onPullRequest) {
      return send(res, 202, {
        result: 'ignored',
        message: 'pull request events are not handled by this daemon',
      });
    }
    // Answer at once (GitHub gives up after 10 s); the handler reports its own failures.
    const handler = h.onPullRequest;
    void handler(outcome.event).catch((err: unknown) =>
      h.logger.warn(
        {
          provider,
          repository: outcome.event.repository,
          number: outcome.event.number,
          err: err instanceof Error ? err.message : String(err),
        },
        'pull request handler failed',
      ),
    );
    return send(res, 202, { result: outcome.result, message: outcome.message });
  }
  if (outcome.result === 'comment') {
    if (!h.onComment) {
      return send(res, 202, {
        result: 'ignored',
        message: 'approvals by comment are not configured on this daemon',
      });
    }
    const handler = h.onComment;
    void handler(outcome.event).catch((err: unknown) =>
      h.logger.warn(
        {
          provider,
          number: outcome.event.number,
          err: err instanceof Error ? err.message : String(err),
        },
        'approval comment handler failed',
      ),
    );
    return send(res, 202, { result: outcome.result, message: outcome.message });
  }
  return send(res, outcome.status, { result: outcome.result, message: outcome.message });
}

/** A bearer token that matches, or a follower's valid forward signature made with it. */
function authorized(req: IncomingMessage, body: Buffer, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (m && constantTimeEqual((m[1] as string).trim(), token)) return true;
  return verifyForward(token, req.headers, req.method ?? 'POST', req.url ?? '', body);
}

/** The leader's answer to a request a follower handed on, as the leader gave it. */
function relay(res: ServerResponse, off: Extract<HandOff, { kind: 'answered' }>): void {
  res.writeHead(off.status, { 'cache-control': 'no-store', ...off.headers });
  res.end(off.body);
}

/**
 * The leader's answer; or, when it could not be had, 503 with Retry-After (at most one lease
 * duration: by then a leader is elected), the leader's identity and why.
 */
function answerHandOff(res: ServerResponse, h: HttpHandlers, off: HandOff, what: string): void {
  if (off.kind === 'answered') return relay(res, off);
  const f = h.follower();
  const reason = off.kind === 'refused' ? off.reason : 'no leader is known';
  res.setHeader('retry-after', String(f?.retryAfterSeconds ?? 15));
  send(res, 503, {
    error: `this replica is not the leader and could not hand the request to it (${reason}), so it does not ${what}. Retry later`,
    leader: f?.leader ?? null,
  });
}

async function approve(req: IncomingMessage, res: ServerResponse, h: HttpHandlers): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req, 64 * 1024);
  } catch {
    return send(res, 413, { error: 'body larger than 64 KiB' });
  }
  if (h.adminToken === null) {
    return send(res, 403, {
      error:
        'POST /approve is disabled: set POOLSYNC_ADMIN_TOKEN (or --admin-token-file) to enable it',
    });
  }
  const crossSite = crossSiteRequest(req.headers);
  if (crossSite !== null) {
    return send(res, 403, {
      error: `refused: ${crossSite}, not this daemon's own page; approve from the dashboard or with \`poolsync approve\``,
    });
  }
  if (!authorized(req, body, h.adminToken)) {
    res.setHeader('www-authenticate', 'Bearer');
    return send(res, 401, { error: 'missing or wrong bearer token (the daemon admin token)' });
  }
  const off = await handOff(req, body, h.follower(), h.adminToken, 15_000);
  if (off.kind !== 'local') return answerHandOff(res, h, off, 'hold the plan waiting for approval');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return send(res, 400, {
      error: 'the body must be JSON: {"fingerprint": "sha256:…", "approver": "name"}',
    });
  }
  const { fingerprint, approver } = (parsed ?? {}) as { fingerprint?: unknown; approver?: unknown };
  if (typeof fingerprint !== 'string' || typeof approver !== 'string' || approver.trim() === '') {
    return send(res, 400, {
      error:
        'the body needs "fingerprint" (of the held changes, GET /status approval.pending) and "approver" (who approves)',
    });
  }
  // The approver is shown in /status and the log: a token pasted there (the admin token
  // itself, a webhook secret) is refused, never recorded.
  const secrets = new Redactor([
    h.adminToken,
    h.reconcileToken,
    h.githubWebhookSecret,
    h.gitlabWebhookToken,
  ]);
  if (secrets.scrub(approver) !== approver) {
    return send(res, 400, {
      error:
        '"approver" holds a token (the admin token or another secret of this daemon): name who approves, e.g. a user name; nothing was approved',
    });
  }
  const answer = h.approve({ fingerprint, approver: approver.trim().slice(0, 200) });
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
