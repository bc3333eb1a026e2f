/**
 * The daemon's HTTP surface (node:http): health, readiness, metrics, status, a manual trigger,
 * approvals and the webhook receivers (docs/daemon.md#webhooks). Every request body is
 * size-limited; nothing answers with a stack trace; secrets are compared in constant time and
 * never echoed. What needs the leader a follower hands to it (handOff, below).
 */
import type { PolicyApprovalAnswer } from '../policy/approvals.js';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { once } from 'node:events';
import { isIP, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { constantTimeEqual } from '../util/constant-time.js';
import { processRedactor, Redactor } from '../util/redact.js';
import { BOUNDS_CHECKED_EVERY_MS, readLimitedBody } from '../util/request-body.js';
import type { ApprovalAnswer } from './approvals.js';
import type { DaemonConfig } from './config.js';
import type { DashboardHandler } from './dashboard/page.js';
import type { TriggerReason } from './loop.js';
import type { DaemonMetrics } from './metrics.js';
import type { DaemonStatus, LeaderStatus, RunMade } from './status.js';
import type { FreezeStatus, Suspension } from './freeze.js';
import type { RollbackPin } from './rollback.js';
import { handleGithubWebhook, handleGitlabWebhook, type FollowedRepository } from './webhooks.js';
import { deliveryOf, SeenDeliveries } from './deliveries.js';
import type { CommentEvent, PullRequestEvent } from '../vcs/types.js';
import { createHash, createHmac } from 'node:crypto';
import { Agent, request } from 'undici';
import { leaderWords, runWords } from '../render/daemon-words.js';
import { formatDuration } from '../util/duration.js';
import { formatSize, limitOf, limitWords, type TransportLimits } from '../util/transport-limits.js';

const BODY_LIMIT = 2 * 1024 * 1024;

export const HTTP_SECRETS = [
  'githubWebhookSecret',
  'gitlabWebhookToken',
  'reconcileToken',
  'adminToken',
] as const;

export interface HttpHandlers extends Pick<DaemonConfig, (typeof HTTP_SECRETS)[number]> {
  status(): DaemonStatus;
  /** The newest run alone (POST /reconcile?wait=1), without making the whole status; else `status()`'s. */
  lastRun?(): DaemonStatus['lastRun'];
  /** GET /status without `?local=1` with environments: each as its leader says; else `status()`. */
  fullStatus?(): Promise<DaemonStatus>;
  ready(): boolean;
  metrics: DaemonMetrics;
  /**
   * Resolves to the runs the request made once they finished (none: this replica no longer
   * leads, or its term ended); a string: why there is no such environment.
   */
  requestReconcile(reason: TriggerReason, environment?: string): Promise<RunMade[]> | string;
  /** The followed branch (null in --watch mode: pushes are ignored). */
  branch: string | null;
  /** The repository each forge's deliveries must be from; absent: the daemon cannot tell. */
  followed?: Partial<Record<'github' | 'gitlab', FollowedRepository | null>>;
  onPullRequest?: (event: PullRequestEvent) => Promise<void>;
  /** `poolsync apply` comments on pull/merge requests (approvals, pull-requests.ts). */
  onComment?: (event: CommentEvent) => Promise<void>;
  /**
   * POST /approve: approve exactly this fingerprint (approvals.ts); `forbidden`: poolsync.yaml
   * `approvers:` refuses the admin token (403).
   */
  approve(request: {
    fingerprint: string;
    approver: string;
    environment?: string;
  }): ApprovalAnswer & {
    forbidden?: boolean;
    environment?: string;
    /** Why applies are frozen now (the approved changes wait), null when they may go. */
    frozen?: string | null;
  };
  /**
   * Why poolsync.yaml `approvers:` refuses `token` the `action` in `environment` (every one
   * without a name), one line naming the rule; null when it may (docs/daemon.md#approvers).
   */
  mayAct?(
    action: 'sync' | 'suspend' | 'override',
    token: 'admin' | 'reconcile',
    environment?: string,
  ): string | null;
  /** POST /approve with `policies`: an owner releases exactly these policy failures (docs/policies.md). */
  approvePolicies?(request: {
    failures: string;
    approver: string;
    reason: string;
    environment?: string;
  }): PolicyApprovalAnswer & { environment?: string };
  /** POST /suspend and /resume: each environment's freeze after it (freeze.ts), or why not. */
  freeze(
    request: FreezeRequest,
  ): Promise<
    { ok: true; freeze: FreezeStatus; before: FreezeBefore[] } | { ok: false; reason: string }
  >;
  /** POST /rollback: hold run `run`'s commit (rollback.ts); `done`: its first run ended, and why it refused it. */
  rollback?(
    request: RollbackRequest,
  ): Promise<
    | { ok: true; rollback: RollbackPin; done: Promise<string | null> }
    | { ok: false; reason: string }
  >;
  /**
   * Null while this replica leads (or without --leader-elect); else the leader to hand requests
   * to (handOff). With environments: the leader of `route`'s environment, null for the rest.
   */
  follower(route?: { environment?: string }): Follower | null;
  /** The file the daemon made its admin token in (the quickstart's), which a 401 names. */
  adminTokenFile?: string;
  /** This replica's identity with --leader-elect (the X-Poolsync-Replica of every answer). */
  replica?: string;
  logger: Logger;
  /** GET / (docs/daemon.md#dashboard); absent: the page is off (--dashboard=false). */
  dashboard?: DashboardHandler;
  /** Hosts answered besides loopback names and IP addresses (foreignHost; from the flags). */
  allowedHosts?: readonly string[];
  /**
   * The quickstart's embedded control plane, its REST API under CONTROL_PLANE_API for the admin
   * (a change by hand, put back by the next run as drift: docs/daemon.md#quickstart).
   */
  controlPlaneApi?(
    call: { method: string; url: URL; body: Buffer },
    res: ServerResponse,
  ): Promise<void>;
}

/** A bearer token refused (the CLI then says which token it sent, daemon-client.ts). */
export const WRONG_BEARER = 'missing or wrong bearer token';

/** A 401's words: which token the endpoint takes and where the daemon reads it, never the one sent. */
const RECONCILE_TOKEN =
  'the reconcile token (its POOLSYNC_RECONCILE_TOKEN or --reconcile-token-file)';
const adminTokenOf = (h: Pick<HttpHandlers, 'adminTokenFile'>) =>
  h.adminTokenFile !== undefined
    ? `the admin token (in ${h.adminTokenFile}, which the quickstart made)`
    : 'the admin token (its POOLSYNC_ADMIN_TOKEN or --admin-token-file)';
const wrongBearer = (takes: string[]) =>
  `${WRONG_BEARER}: send ${takes.join(', or ')} this daemon was started with`;

/** Where the daemon serves its embedded control plane's REST API (`/control-plane/v1/queues`). */
export const CONTROL_PLANE_API = '/control-plane';

export type StatusServer = Awaited<ReturnType<typeof startStatusServer>>;

/** What the server answers before `serve` (the daemon's start: its first fetch). */
export interface StartingHandlers extends Pick<
  HttpHandlers,
  'status' | 'metrics' | 'logger' | 'allowedHosts' | 'adminToken' | 'adminTokenFile' | 'replica'
> {
  /** What the daemon is doing, and since when (/readyz, and the 503 of the other endpoints). */
  doing(): string;
}

/** Slow-loris bounds: a client must send its headers, then its whole request, within these (408). */
export const SLOW_CLIENT_BOUNDS = { headersMs: 15_000, requestMs: 30_000 };

/** Listens at once, answering as `starting` says until `serve` gives the daemon's handlers. */
export async function startStatusServer(
  listen: { host: string; port: number },
  starting: StartingHandlers,
  bounds = SLOW_CLIENT_BOUNDS,
) {
  // The webhook deliveries this replica accepted (replay protection).
  const seen = new SeenDeliveries();
  let served: HttpHandlers | null = null;
  const server = createServer(
    { connectionsCheckingInterval: BOUNDS_CHECKED_EVERY_MS },
    (req, res) => {
      const h = served ?? starting;
      const answer = served ? route(req, res, served, seen) : whileStarting(req, res, starting);
      answer.catch((err: unknown) => {
        const said = { err: err instanceof Error ? err.message : String(err), path: req.url };
        // A request cut off before its end is the client's doing (or its slowness), not a failure here.
        if (!req.complete && req.destroyed)
          return h.logger.info(
            said,
            'the client went away before its request was read (it closed the connection, or sent it slower than the server waits)',
          );
        h.logger.error(said, 'request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    },
  );
  server.headersTimeout = bounds.headersMs;
  server.requestTimeout = bounds.requestMs;
  server.listen(listen.port, listen.host);
  await once(server, 'listening');
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    /** `http://host:port` actually bound (port 0 resolved). */
    url: `http://${host}:${addr.port}`,
    serve: (h: HttpHandlers) => void (served = h),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still open (e.g. POST /reconcile?wait=1) get a short grace, then are cut.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}

/** POST /suspend (`suspend`) or /resume: one environment (all without a name), who and why. */
export interface FreezeRequest {
  suspend: boolean;
  environment?: string;
  by: string;
  reason: string | null;
}

/** An environment a suspend or resume asked, as it was before (a suspend keeps one in force). */
export interface FreezeBefore {
  environment: string | null;
  /** The suspension in force then: kept by /suspend, lifted by /resume; null: none. */
  suspended: Suspension | null;
  /** /resume: the rollback it lifted, null: none. */
  rollback?: RollbackPin | null;
  /** /resume of a suspension: the rollback that still holds, its commit applied now; absent: none. */
  holds?: RollbackPin;
  /**
   * /resume: the sync windows that still freeze applies (resume does not lift them), and when
   * they let applies go again (null: not within a week); absent: none.
   */
  window?: { why: string; until: string | null };
}

/** POST /rollback: the run to go back to, in one environment (required with several). */
export interface RollbackRequest {
  run: number;
  environment?: string;
  by: string;
  reason: string | null;
}

type Call = {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  h: HttpHandlers;
  seen: SeenDeliveries;
};

const ENDPOINTS = new Map<string, { methods: string[]; answer(call: Call): Promise<void> | void }>([
  ['/healthz', { methods: ['GET', 'HEAD'], answer: ({ res }) => send(res, 200, { status: 'ok' }) }],
  ['/readyz', { methods: ['GET', 'HEAD'], answer: readiness }],
  ['/metrics', { methods: ['GET', 'HEAD'], answer: metricsAnswer }],
  ['/status', { methods: ['GET', 'HEAD'], answer: statusAnswer }],
  ['/reconcile', { methods: ['POST'], answer: manualReconcile }],
  ['/approve', { methods: ['POST'], answer: approve }],
  ['/suspend', { methods: ['POST'], answer: (call) => suspendOrResume(call, true) }],
  ['/resume', { methods: ['POST'], answer: (call) => suspendOrResume(call, false) }],
  ['/rollback', { methods: ['POST'], answer: rollbackAnswer }],
  ['/webhooks/github', { methods: ['POST'], answer: (call) => webhook(call, 'github') }],
  ['/webhooks/gitlab', { methods: ['POST'], answer: (call) => webhook(call, 'gitlab') }],
]);

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  h: HttpHandlers,
  seen: SeenDeliveries,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const key = `${req.method} ${url.pathname}`;
  if (h.replica) res.setHeader(REPLICA_HEADER, h.replica);
  if (READ_BY_PEOPLE.has(key)) {
    const foreign = foreignHost(req.headers, h.allowedHosts ?? []);
    if (foreign !== null) return send(res, 403, { error: foreign });
  }
  if (h.dashboard && (key === 'GET /' || key === 'HEAD /')) return h.dashboard(req, res, url);
  if (h.controlPlaneApi && url.pathname.startsWith(`${CONTROL_PLANE_API}/`))
    return controlPlaneCall({ req, res, url, h, seen });
  const endpoint = ENDPOINTS.get(url.pathname);
  if (endpoint?.methods.includes(req.method ?? ''))
    return endpoint.answer({ req, res, url, h, seen });
  const known = [
    ...(h.dashboard ? ['/'] : []),
    ...ENDPOINTS.keys(),
    ...(h.controlPlaneApi ? [`${CONTROL_PLANE_API}/v1/…`] : []),
  ];
  if (!known.includes(url.pathname))
    return send(res, 404, { error: `no such endpoint: ${url.pathname}`, endpoints: known });
  // Known but not in ENDPOINTS: the dashboard's `/`.
  res.setHeader('allow', endpoint ? endpoint.methods.join(', ') : 'GET, HEAD');
  return send(res, 405, { error: `${req.method} is not allowed on ${url.pathname}` });
}

/** Before the daemon has started: the probes and /status answer, every other endpoint 503. */
async function whileStarting(
  req: IncomingMessage,
  res: ServerResponse,
  s: StartingHandlers,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const key = `${req.method} ${url.pathname}`;
  if (s.replica) res.setHeader(REPLICA_HEADER, s.replica);
  if (READ_BY_PEOPLE.has(key)) {
    const foreign = foreignHost(req.headers, s.allowedHosts ?? []);
    if (foreign !== null) return send(res, 403, { error: foreign });
  }
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (read && url.pathname === '/healthz') return send(res, 200, { status: 'ok' });
  if (read && url.pathname === '/status')
    return send(res, 200, { ...s.status(), adminApi: s.adminToken !== null });
  if (read && url.pathname === '/metrics') return metricsAnswer({ res, h: s });
  res.setHeader('retry-after', '5');
  if (read && url.pathname === '/readyz')
    return send(res, 503, { status: 'not ready', reason: s.doing() });
  send(res, 503, {
    error: `${s.doing()}: ${req.method} ${url.pathname} is answered once it has started; try again then`,
  });
}

function readiness({ res, h }: Call): void {
  if (h.ready()) return send(res, 200, { status: 'ready' });
  // Why the control plane has not answered, when a run met an error (any environment's).
  const s = h.status();
  const failed = [s, ...Object.values(s.environments ?? {})].find((e) => e.controlPlane.lastError);
  const reason = runWords.notReady(failed?.controlPlane.lastError ?? null);
  send(res, 503, { status: 'not ready', reason });
}

async function metricsAnswer({ res, h }: { res: ServerResponse; h: { metrics: DaemonMetrics } }) {
  const text = processRedactor().scrubSecrets(await h.metrics.text());
  res.writeHead(200, { 'content-type': h.metrics.contentType });
  res.end(text);
}

async function statusAnswer({ req, res, url, h }: Call): Promise<void> {
  // A follower answers with the leader's status (`?local=1`: its own).
  if (!url.searchParams.has('local')) {
    const off = await handOff(req, Buffer.alloc(0), () => h.follower(), null, 5_000);
    if (off.kind === 'answered' || off.kind === 'failed')
      return answerHandOff(res, h, off, 'show its status');
    if (h.fullStatus) return send(res, 200, withAdminApi(await h.fullStatus(), h));
  }
  return send(res, 200, withAdminApi(h.status(), h));
}

/** `adminApi`: whether approving, syncing and suspending can work here (an admin token is set). */
const withAdminApi = (s: DaemonStatus, h: HttpHandlers): DaemonStatus => ({
  ...s,
  adminApi: h.adminToken !== null,
});

async function manualReconcile({ req, res, url, h }: Call): Promise<void> {
  const body = await adminBody(req, res, url);
  if (body === null) return;
  // The reconcile token (webhook-like callers), or the admin token (`poolsync sync`, the
  // dashboard's Sync button, which also passes the cross-site check of approvals).
  const token = admitted(req, res, body, [h.reconcileToken, h.adminToken], {
    setting: 'POOLSYNC_RECONCILE_TOKEN or POOLSYNC_ADMIN_TOKEN',
    replica: h.replica,
    off: 'POST /reconcile is disabled: set POOLSYNC_RECONCILE_TOKEN or POOLSYNC_ADMIN_TOKEN (or their --…-token-file) to enable it',
    crossSite: "not this daemon's own page",
    wrong: wrongBearer([
      ...(h.reconcileToken !== null ? [RECONCILE_TOKEN] : []),
      ...(h.adminToken !== null ? [adminTokenOf(h)] : []),
    ]),
  });
  if (token === null) return;
  const fields = jsonObject(body);
  if (fields === null)
    return send(res, 400, {
      error:
        'the body must be a JSON object: {"environment"?} (or none: ?environment=NAME names one too); nothing was run',
    });
  const texts = optionalTexts(fields, ['environment']);
  if ('refused' in texts) return send(res, 400, { error: `${texts.refused}; nothing was run` });
  const asked = url.searchParams.get('environment')?.trim() ?? undefined;
  if (asked === '')
    return send(res, 400, {
      error: `"?environment=" is empty: it takes an environment's name, or leave it out for every environment; nothing was run`,
    });
  const named = texts.given.environment;
  if (named !== undefined && asked !== undefined && named !== asked)
    return send(res, 400, {
      error:
        'the body\'s "environment" and "?environment=" name different environments: name it once; nothing was run',
    });
  const environment = named ?? asked;
  const wait = ['1', 'true', 'yes'].includes(url.searchParams.get('wait') ?? '');
  // Applying through a freeze is the admin's call, never a webhook-like caller's.
  const override = url.searchParams.get('override') === 'freeze';
  if (override && token !== h.adminToken)
    return send(res, 403, { error: 'overriding the freeze needs the daemon admin token' });
  // ?wait=1 answers when the run has finished: as long as that takes.
  const off = await handOff(
    req,
    body,
    () => h.follower({ environment }),
    token,
    wait ? WAITED_HAND_OFF_MS : HAND_OFF_WAIT_MS,
  );
  if (off.kind !== 'local') return answerHandOff(res, h, off, 'run a reconcile');
  // The leader's rules (a follower loads no commit): the token is one more principal.
  const as = token === h.adminToken ? 'admin' : 'reconcile';
  const refusal = h.mayAct?.(override ? 'override' : 'sync', as, environment) ?? null;
  if (refusal !== null) return send(res, 403, { error: refusal });
  if (override) h.logger.warn('a sync overrides the freeze: its run applies what waits');
  const done = h.requestReconcile(override ? 'override' : 'manual', environment);
  if (typeof done === 'string') return send(res, 404, { error: done });
  if (!wait) return send(res, 202, { queued: true });
  const runs = await done;
  return send(res, 200, {
    queued: true,
    lastRun: h.lastRun ? h.lastRun() : h.status().lastRun,
    runs,
  });
}

async function approve(call: Call): Promise<void> {
  const { req, res, h } = call;
  const admin = await adminCall(
    call,
    "not this daemon's own page; approve from the dashboard or with `poolsync approve`",
  );
  if (admin === null) return;
  const { body, token } = admin;
  const fields = jsonObject(body);
  if (fields === null)
    return send(res, 400, {
      error:
        'the body must be a JSON object: {"fingerprint": "sha256:…", "approver": "name", "environment"?}; nothing was approved',
    });
  const { fingerprint, approver } = fields;
  const texts = optionalTexts(fields, ['environment']);
  if ('refused' in texts)
    return send(res, 400, { error: `${texts.refused}; nothing was approved` });
  const named = texts.given.environment;
  const off = await handOff(req, body, () => h.follower({ environment: named }), token);
  if (off.kind !== 'local') return answerHandOff(res, h, off, 'hold the plan waiting for approval');
  if (typeof fields.policies === 'string') return approvePolicies(call, fields, named);
  if (typeof fingerprint !== 'string' || typeof approver !== 'string' || approver.trim() === '')
    return send(res, 400, {
      error:
        'the body needs "fingerprint" (of the held changes, GET /status approval.pending) and "approver" (who approves)',
    });
  if (holdsSecret(h, approver))
    return send(res, 400, {
      error:
        '"approver" holds a token (the admin token or another secret of this daemon): name who approves, e.g. a user name; nothing was approved',
    });
  // With environments: the one approved (else the one holding the fingerprint).
  const answer = h.approve({
    fingerprint,
    approver: approver.trim().slice(0, 200),
    environment: named,
  });
  // The environment approved is named: in the log, in the answer, and its run is the one asked.
  const where = answer.environment ?? null;
  if (!answer.ok) {
    h.logger.warn(
      { fingerprint, approver, environment: where, reason: answer.reason },
      'approval refused',
    );
    return send(res, answer.forbidden ? 403 : 409, { approved: false, reason: answer.reason });
  }
  h.logger.info(
    { fingerprint, approver: answer.record.approver, environment: where, via: 'api' },
    'approval accepted: the next run applies the held changes',
  );
  void h.requestReconcile('manual', answer.environment);
  const frozen = answer.frozen ?? null;
  return send(res, 200, { approved: true, approval: answer.record, environment: where, frozen });
}

/** `{"policies": "sha256:…", "approver": NAME, "reason": WHY}`: src/policy/approvals.ts decides. */
function approvePolicies(call: Call, body: Record<string, unknown>, environment?: string): void {
  const { res, h } = call;
  const { policies, approver, reason } = body;
  const words = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
  if (!words(approver) || !words(reason) || !h.approvePolicies)
    return send(res, 400, {
      error:
        'the body needs "policies" (the failures\' digest, GET /status policies.failures), "approver" (a listed owner) and "reason" (why)',
    });
  if (holdsSecret(h, approver) || holdsSecret(h, reason))
    return send(res, 400, {
      error: 'the approval holds a token of this daemon: nothing was approved',
    });
  const answer = h.approvePolicies({
    failures: policies as string,
    approver: approver.trim().slice(0, 200),
    reason: reason.trim().slice(0, 1000),
    environment,
  });
  const where = answer.environment ?? null;
  if (!answer.ok) {
    const refused = { policies, approver, environment: where, reason: answer.reason };
    h.logger.warn(refused, 'policy approval refused');
    return send(res, 409, { approved: false, reason: answer.reason });
  }
  const approved = { ...answer.approval, environment: where, via: 'api' };
  h.logger.info(approved, 'policy failures approved by an owner');
  void h.requestReconcile('manual', answer.environment);
  return send(res, 200, { approved: true, approval: answer.approval, environment: where });
}

/** Whether `text` (shown in /status and the log) holds a secret of this daemon or the process. */
function holdsSecret(h: HttpHandlers, text: string): boolean {
  const secrets = new Redactor(HTTP_SECRETS.map((name) => h[name]));
  return secrets.scrub(text) !== text || processRedactor().scrubSecrets(text) !== text;
}

/** What each optional text field of an admin request takes, and its bound. */
const OPTIONAL_TEXT = {
  environment: { takes: "an environment's name", max: 200 },
  by: { takes: 'who acts, e.g. a user name', max: 200 },
  reason: { takes: 'why, in words', max: 500 },
} as const;

/**
 * Optional fields: each absent, or a non-empty string (trimmed, bounded). Anything else is
 * refused, never read as absent: an empty `environment` (an unset shell variable) acts on all.
 */
function optionalTexts<K extends keyof typeof OPTIONAL_TEXT>(
  fields: Record<string, unknown>,
  names: K[],
): { given: Partial<Record<K, string>> } | { refused: string } {
  const given: Partial<Record<K, string>> = {};
  for (const name of names) {
    const v = fields[name];
    if (typeof v === 'string' && v.trim() !== '')
      given[name] = v.trim().slice(0, OPTIONAL_TEXT[name].max);
    else if (v !== undefined) {
      const what = typeof v === 'object' ? (v === null ? 'null' : 'an object') : `a ${typeof v}`;
      const got = typeof v === 'string' ? 'empty' : Array.isArray(v) ? 'a list' : what;
      const takes = `${OPTIONAL_TEXT[name].takes} (a non-empty string)`;
      return { refused: `"${name}" is ${got}: it takes ${takes}, or leave it out` };
    }
  }
  return { given };
}

/**
 * A body's `environment`, `by` and `reason` (suspend, resume, rollback: optionalTexts); refused
 * when who or why holds a token of this daemon, which /status would then show.
 */
function whoAndWhy(
  fields: Record<string, unknown>,
  h: HttpHandlers,
):
  { named: string | undefined; said: { by: string; reason: string | null } } | { refused: string } {
  const texts = optionalTexts(fields, ['environment', 'by', 'reason']);
  if ('refused' in texts) return { refused: `${texts.refused}; nothing done` };
  const { environment, by, reason } = texts.given;
  const said = { by: by ?? 'unknown', reason: reason ?? null };
  if (Object.values(said).some((v) => v !== null && holdsSecret(h, v)))
    return { refused: '"by" or "reason" holds a token of this daemon: nothing done' };
  return { named: environment, said };
}

/** A body of optional fields: a JSON object, `{}` when empty, null when it is anything else. */
function jsonObject(body: Buffer): Record<string, unknown> | null {
  let parsed: unknown = {};
  try {
    if (body.length > 0) parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : null;
}

/** Applies wait (plans and drift detection go on) until resumed; resuming runs at once. */
async function suspendOrResume(call: Call, suspend: boolean): Promise<void> {
  const { req, res, h } = call;
  const admin = await adminCall(call);
  if (admin === null) return;
  const { body, token } = admin;
  const parsed = jsonObject(body);
  if (parsed === null)
    return send(res, 400, {
      error: 'the body must be a JSON object: {"environment"?, "by"?, "reason"?}',
    });
  const given = whoAndWhy(parsed, h);
  if ('refused' in given) return send(res, 400, { error: given.refused });
  const { named, said } = given;
  const off = await handOff(req, body, () => h.follower({ environment: named }), token);
  if (off.kind !== 'local')
    return answerHandOff(res, h, off, suspend ? 'suspend its applies' : 'resume its applies');
  const refusal = h.mayAct?.('suspend', 'admin', named) ?? null;
  if (refusal !== null) return send(res, 403, { error: refusal });
  const answer = await h.freeze({ suspend, environment: named, ...said });
  if (!answer.ok) return send(res, 409, { error: answer.reason });
  // A suspension in force is kept, not replaced; a resume that lifts nothing says so.
  const changed = answer.before.some((b) =>
    suspend ? b.suspended === null : b.suspended !== null || b.rollback,
  );
  const which = { environment: named ?? null, ...said };
  if (changed) h.logger.warn(which, suspend ? 'applies suspended' : 'applies resumed');
  else
    h.logger.info(
      which,
      suspend
        ? 'applies were suspended already: that suspension is kept'
        : 'applies were not suspended',
    );
  if (!suspend) void h.requestReconcile('manual', named);
  return send(res, 200, { freeze: answer.freeze, before: answer.before });
}

/**
 * Roll back to a kept run (docs/daemon.md#rollback), with the admin token: the run's commit is
 * planned and applied as any run's (policy, approvals, freeze), and the branch head is not
 * applied until it moves or `poolsync resume`. `?wait=1` answers when that first run ended: 409
 * when its plan had errors, which refuses the rollback (the branch is followed as before).
 */
async function rollbackAnswer(call: Call): Promise<void> {
  const { req, res, url, h } = call;
  const admin = await adminCall(call);
  if (admin === null) return;
  const { body, token } = admin;
  const fields = jsonObject(body);
  if (fields === null)
    return send(res, 400, {
      error:
        'the body must be a JSON object: {"run": N (a kept run, `poolsync history`), "environment"?, "by"?, "reason"?}; nothing done',
    });
  const run = fields.run;
  if (typeof run !== 'number' || !Number.isSafeInteger(run) || run < 1)
    return send(res, 400, {
      error: `"run" must be a run number from 1 (a kept run's number, \`poolsync history\`), not ${run === undefined ? 'absent' : typeof run === 'number' ? run : Array.isArray(run) ? 'a list' : run === null ? 'null' : `a ${typeof run}`}; nothing done`,
    });
  const given = whoAndWhy(fields, h);
  if ('refused' in given) return send(res, 400, { error: given.refused });
  const { named, said } = given;
  const wait = ['1', 'true', 'yes'].includes(url.searchParams.get('wait') ?? '');
  const route = () => h.follower({ environment: named });
  const off = await handOff(req, body, route, token, wait ? WAITED_HAND_OFF_MS : HAND_OFF_WAIT_MS);
  if (off.kind !== 'local') return answerHandOff(res, h, off, 'roll back');
  if (!h.rollback) return send(res, 404, { error: 'this daemon does not roll back' });
  // A rollback applies a commit, as a sync does: the approvers' `sync` rule decides it.
  const refusal = h.mayAct?.('sync', 'admin', named) ?? null;
  if (refusal !== null) return send(res, 403, { error: refusal });
  const answer = await h.rollback({ run, environment: named, ...said });
  if (!answer.ok) return send(res, 409, { error: answer.reason });
  if (!wait) return send(res, 202, { rollback: answer.rollback });
  const refused = await answer.done;
  if (refused !== null) return send(res, 409, { error: refused, status: h.status() });
  return send(res, 200, { rollback: answer.rollback, status: h.status() });
}

/** The token of `tokens` the request carries (bearer or a follower's signed forward), else 403/401. */
function admitted(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  tokens: (string | null)[],
  say: { setting: string; replica?: string; off: string; crossSite: string; wrong: string },
): string | null {
  const configured = tokens.filter((t) => t !== null);
  const crossSite = crossSiteRequest(req.headers);
  // A follower took the caller's credential and handed the request here: a refusal is this
  // replica's setting, not the caller's credential.
  const by = forwardedBy(req.headers);
  if (configured.length === 0)
    send(res, 403, { error: by ? leaderWords.handedUnset(by, say.replica, say.setting) : say.off });
  else if (crossSite !== null) send(res, 403, { error: `refused: ${crossSite}, ${say.crossSite}` });
  else {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
    const method = req.method ?? 'POST';
    const forwards = configured.map((t) =>
      verifyForward(t, req.headers, method, req.url ?? '', body),
    );
    const token = configured.find(
      (t, i) =>
        (bearer !== undefined && constantTimeEqual(bearer, t)) || forwards[i]!.kind === 'verified',
    );
    if (token !== undefined) return token;
    res.setHeader('www-authenticate', 'Bearer');
    send(res, 401, {
      error: by ? handedRefusal(by, say.replica, say.setting, forwards) : say.wrong,
    });
  }
  return null;
}

/** Why a forward signed with none of the secrets checked is refused: too old, or another secret. */
function handedRefusal(
  by: string,
  replica: string | undefined,
  setting: string,
  checks: ReturnType<typeof verifyForward>[],
): string {
  const expired = checks.find((c) => c.kind === 'expired');
  return expired
    ? leaderWords.handedExpired(by, replica, expired.ageSeconds)
    : leaderWords.handedUnverified(by, replica, setting);
}

/** CONTROL_PLANE_API/v1/…: the control plane's REST call, with the admin token (any method). */
async function controlPlaneCall(call: Call): Promise<void> {
  const admin = await adminCall(call, "not this daemon's own page; call it with the admin token");
  if (admin === null) return;
  const { req, res, url, h } = call;
  const path = url.pathname.slice(CONTROL_PLANE_API.length);
  const inner = new URL(`${path}${url.search}`, 'http://localhost');
  await h.controlPlaneApi!({ method: req.method ?? 'GET', url: inner, body: admin.body }, res);
}

/**
 * POST /webhooks/github and /webhooks/gitlab: verified (webhooks.ts), then, once authentic, a
 * delivery accepted before is answered `duplicate` (deliveries.ts); counted and answered.
 */
async function webhook({ req, res, h, seen }: Call, provider: 'github' | 'gitlab'): Promise<void> {
  const delivery = deliveryOf(provider, req.headers);
  /** Counted and logged as answered: the metric and the log say what the forge was told. */
  const told = (status: number, result: string, message: string, leader?: string) => {
    h.metrics.webhookDeliveries.inc({ provider, result });
    const said = { provider, delivery: delivery.id, result, status, ...(leader && { leader }) };
    h.logger[status >= 500 ? 'warn' : 'info'](said, `webhook: ${message}`);
  };
  const answer = (status: number, result: string, message: string) => {
    told(status, result, message);
    send(res, status, { result, message });
  };
  let body: Buffer;
  try {
    body = await readBody(req, BODY_LIMIT);
  } catch (err) {
    if (!(err instanceof TooLarge)) throw err;
    res.setHeader('connection', 'close');
    const limit = formatSize(BODY_LIMIT);
    return answer(
      413,
      'too_large',
      `the body is larger than ${limit}, the most a webhook delivery may hold`,
    );
  }
  const secret = provider === 'github' ? h.githubWebhookSecret : h.gitlabWebhookToken;
  const env =
    provider === 'github' ? 'POOLSYNC_GITHUB_WEBHOOK_SECRET' : 'POOLSYNC_GITLAB_WEBHOOK_TOKEN';
  const by = forwardedBy(req.headers);
  if (secret === null)
    return answer(
      404,
      'not_configured',
      by
        ? leaderWords.handedUnset(by, h.replica, env)
        : `${provider} webhooks are not configured: set ${env} (or ${env}_FILE)`,
    );
  // A delivery a follower verified and handed on carries the follower's signature instead.
  const forward = verifyForward(secret, req.headers, 'POST', req.url ?? '', body);
  const verified = forward.kind === 'verified';
  if (by && !verified)
    return answer(401, 'unauthorized', handedRefusal(by, h.replica, env, [forward]));
  const receive = provider === 'github' ? handleGithubWebhook : handleGitlabWebhook;
  const outcome = receive(
    { headers: req.headers, body },
    { secret, branch: h.branch, verified, followed: h.followed?.[provider] },
  );
  // Only an authentic delivery is remembered or compared: a forged one changes nothing.
  const taken = outcome.status < 300 ? seen.claim(delivery) : null;
  if (taken !== null) {
    const message = `delivery ${taken.id} was received already, at ${taken.at}: nothing is done again`;
    return answer(200, 'duplicate', message);
  }
  /** A delivery not taken here nor by the leader: sent again (a redelivery), it is new. */
  const handedOff = (off: HandOff, what: string) => {
    if (off.kind !== 'answered' || off.status >= 300) seen.release(delivery);
    if (off.kind === 'answered') {
      const relayed = relayedDelivery(off);
      told(off.status, relayed.result, relayed.message, off.headers[REPLICA_HEADER]);
      return relay(res, off);
    }
    const result = off.kind === 'failed' ? 'not_relayed' : 'leader_unavailable';
    h.metrics.webhookDeliveries.inc({ provider, result });
    return answerHandOff(res, h, off, what, { provider, delivery: delivery.id, result });
  };
  if (outcome.result === 'push') {
    // The leader runs the loop, keeps the plans posted on pull requests and the approvals.
    const off = await handOff(req, body, () => h.follower(), secret, 8_000);
    if (off.kind !== 'local') return handedOff(off, 'reconcile this push');
    void h.requestReconcile('webhook');
    return answer(202, outcome.result, outcome.message);
  }
  if (outcome.result !== 'pull_request' && outcome.result !== 'comment')
    return answer(outcome.status, outcome.result, outcome.message);
  const pr = outcome.result === 'pull_request';
  const route = pr ? {} : { environment: outcome.event.environment };
  const off = await handOff(req, body, () => h.follower(route), secret, 8_000);
  // Any replica can plan and comment a pull request (the leader then cannot take approvals of it).
  if (off.kind !== 'local' && (off.kind !== 'refused' || !pr))
    return handedOff(off, 'take approvals');
  const handle =
    outcome.result === 'pull_request'
      ? h.onPullRequest?.bind(null, outcome.event)
      : h.onComment?.bind(null, outcome.event);
  if (!handle) {
    const what = pr
      ? 'pull request events are not handled by this daemon'
      : 'approvals by comment are not configured on this daemon';
    return answer(202, 'ignored', what);
  }
  // Answer at once (GitHub gives up after 10 s); the handler reports its own failures.
  const { repository, number } = outcome.event;
  void handle().catch((err: unknown) =>
    h.logger.warn(
      { provider, repository, number, err: err instanceof Error ? err.message : String(err) },
      pr ? 'pull request handler failed' : 'approval comment handler failed',
    ),
  );
  return answer(202, outcome.result, outcome.message);
}

/** What a webhook answer may count (docs/daemon.md#metrics); another leader's word is not a label. */
const DELIVERY_RESULTS = new Set([
  'push',
  'ping',
  'pull_request',
  'comment',
  'ignored',
  'duplicate',
  'unauthorized',
  'bad_request',
  'too_large',
  'not_configured',
]);

/** The leader's answer to a delivery, as counted: an answer that is no delivery's did not take it. */
function relayedDelivery(off: Extract<HandOff, { kind: 'answered' }>): {
  result: string;
  message: string;
} {
  let said: { result?: unknown; message?: unknown; error?: unknown } = {};
  try {
    said = (JSON.parse(off.body.toString('utf8')) ?? {}) as typeof said;
  } catch {
    // counted below as not taken
  }
  const message = typeof said.message === 'string' ? said.message : String(said.error ?? '');
  if (typeof said.result === 'string' && DELIVERY_RESULTS.has(said.result))
    return { result: said.result, message };
  return {
    result: 'leader_unavailable',
    message: `the leader answered HTTP ${off.status}: ${message}`,
  };
}

/**
 * The leader's answer; 502 when it answered what cannot be relayed; else 503 with Retry-After (by
 * then a leader is elected) and why.
 */
function answerHandOff(
  res: ServerResponse,
  h: HttpHandlers,
  off: HandOff,
  what: string,
  said: Record<string, unknown> = {},
): void {
  if (off.kind === 'answered') return relay(res, off);
  if (off.kind === 'failed') {
    h.logger.warn({ ...said, status: 502 }, off.reason);
    return send(res, 502, { error: off.reason });
  }
  const f = h.follower();
  const reason = off.kind === 'refused' ? off.reason : 'no leader is known';
  const error = `this replica is not the leader and could not hand the request to it (${reason}), so it does not ${what}. Retry later`;
  h.logger.warn({ ...said, status: 503 }, error);
  res.setHeader('retry-after', String(f?.retryAfterSeconds ?? 15));
  send(res, 503, { error, leader: f?.leader ?? null });
}

function relay(res: ServerResponse, off: Extract<HandOff, { kind: 'answered' }>): void {
  res.writeHead(off.status, { 'cache-control': 'no-store', ...off.headers });
  res.end(off.body);
}

class TooLarge extends Error {}

/** The body within `limit`; drained (never stored) past it. */
const readBody = (req: IncomingMessage, limit: number) =>
  readLimitedBody(req, limit, () => new TooLarge());

/** An admin call's body, 64 KiB at most (POST /reconcile takes none), or null once refused (413). */
async function adminBody(req: IncomingMessage, res: ServerResponse, url: URL) {
  const body = await readBody(req, 64 * 1024).catch(() => null);
  if (body === null)
    send(res, 413, {
      error: `the body is larger than 64 KiB, the most ${methodAndPath(req, url)} takes; nothing done`,
    });
  return body;
}

/** The call as sent (`PUT /control-plane/v1/queues/batch`): the quickstart's API takes any method. */
const methodAndPath = (req: IncomingMessage, url: URL) => `${req.method ?? 'POST'} ${url.pathname}`;

/** An admin call's body (adminBody) and token, or null once refused (413, admitted). */
async function adminCall(
  { req, res, url, h }: Call,
  crossSite = "not this daemon's own page",
): Promise<{ body: Buffer; token: string } | null> {
  const body = await adminBody(req, res, url);
  if (body === null) return null;
  const token = admitted(req, res, body, [h.adminToken], {
    setting: 'POOLSYNC_ADMIN_TOKEN',
    replica: h.replica,
    off: `${methodAndPath(req, url)} is disabled: set POOLSYNC_ADMIN_TOKEN (or --admin-token-file) to enable it`,
    crossSite,
    wrong: wrongBearer([adminTokenOf(h)]),
  });
  return token === null ? null : { body, token };
}

/** A JSON answer, every secret this process knows scrubbed from it (util/redact.ts). */
function send(res: ServerResponse, status: number, body: unknown): void {
  const text = processRedactor().scrubSecrets(`${JSON.stringify(body, null, 2)}\n`);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(text);
}

/**
 * Why the request comes from another site (CSRF), or null: the bearer token (no CORS preflight is
 * answered) already stops another site's script; this refuses what a browser marks as from
 * elsewhere even so. curl and `poolsync approve` send neither header.
 */
function crossSiteRequest(headers: IncomingHttpHeaders): string | null {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none')
    return `the browser marks it ${site} (Sec-Fetch-Site)`;
  const origin = headers.origin;
  if (typeof origin === 'string' && origin !== '') {
    // `null` (a sandboxed or file: page) or garbage: not this daemon's page
    const host = URL.canParse(origin) ? new URL(origin).host : null;
    if (host === null || host !== headers.host) return `it comes from the page at ${origin}`;
  }
  return null;
}

/** What a person's browser reads (status, dashboard, metrics): answered to known Hosts only. */
const READ_BY_PEOPLE = new Set(
  ['/', '/status', '/metrics'].flatMap((path) => [`GET ${path}`, `HEAD ${path}`]),
);

/**
 * Why a request names a Host (or Origin) the daemon does not answer to, or null. DNS rebinding:
 * a page at attacker.example resolved to this daemon's address reads it as its own origin, with
 * `Host: attacker.example`. Answered: loopback names, IP addresses (no rebinding), `allowed`.
 */
export function foreignHost(
  headers: IncomingHttpHeaders,
  allowed: readonly string[],
): string | null {
  const known = (authority: string): boolean => {
    if (!URL.canParse(`http://${authority}`)) return false;
    const name = new URL(`http://${authority}`).hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
    return (
      isIP(name) !== 0 ||
      name === 'localhost' ||
      name.endsWith('.localhost') ||
      allowed.includes(name)
    );
  };
  const host = headers.host;
  if (host !== undefined && !known(host))
    return `this daemon does not answer to the host name in the request (${JSON.stringify(host)}): add it to --external-url (env POOLSYNC_EXTERNAL_URL) if people reach the daemon by it`;
  const origin = headers.origin;
  if (typeof origin === 'string' && origin !== '' && origin !== 'null') {
    const from = URL.canParse(origin) ? new URL(origin).host : '';
    if (!known(from))
      return `this daemon does not answer to pages of another site (Origin ${JSON.stringify(origin)}): add its host to --external-url (env POOLSYNC_EXTERNAL_URL) if it is yours`;
  }
  return null;
}

/*
 * Any replica serves the team (docs/daemon.md#high-availability): what needs the leader a
 * follower hands to the address the leader publishes in the Lease (ADDRESS_ANNOTATION), and
 * relays its answer. The follower authenticates the request first and forwards it without the
 * credential (no secret ever goes to the address read from the Lease), signed instead (HMAC-SHA256
 * keyed by the endpoint's own secret, over its identity, the time, method, path and body hash) in
 * X-Poolsync-Forwarded, which the leader accepts within a minute in place of the credential. A
 * forwarded request is never forwarded again: a replica not leading answers 503.
 */
export const FORWARDED_HEADER = 'x-poolsync-forwarded';
/** Names the replica that answered a request (every answer carries it with --leader-elect). */
export const REPLICA_HEADER = 'x-poolsync-replica';
const MAX_SKEW_MS = 60_000;

/**
 * How long a follower waits for the leader's answer to an admin or reconcile request it hands
 * on, and with `?wait=1` (the run's end): the CLI waits longer (daemon-client.ts).
 */
export const HAND_OFF_WAIT_MS = 15_000;
export const WAITED_HAND_OFF_MS = 3_600_000;

/** What the leader's handlers read besides the body; never a credential. */
const PASSED_HEADERS = [
  'content-type',
  'user-agent',
  'x-github-event',
  'x-github-delivery',
  'x-gitlab-event',
  'x-gitlab-event-uuid',
  'idempotency-key',
];
/** Of the leader's answer, what the client should see. */
const ANSWER_HEADERS = ['content-type', 'retry-after', 'www-authenticate', REPLICA_HEADER];

/** A follower replica (its identity) and the leader as it last observed it in the Lease. */
export interface Follower extends Pick<
  LeaderStatus,
  'identity' | 'leader' | 'leaderAddress' | 'leaseUnreadSince' | 'leaseError'
> {
  /** Retry-After of a refusal: by then a leader is elected. */
  retryAfterSeconds: number;
  /** The daemon's (--connect-timeout, --max-response-size): a hand-off is a client like any. */
  limits: TransportLimits;
  /** Aborted once the leadership changes (this replica or another takes the Lease): the wait ends. */
  changed?: AbortSignal;
}

export type HandOff =
  | { kind: 'local' }
  | { kind: 'refused'; reason: string }
  /** The leader answered, but over the size cap or past the deadline: not relayed (502). */
  | { kind: 'failed'; reason: string }
  | { kind: 'answered'; status: number; headers: Record<string, string>; body: Buffer };

const pickHeaders = (
  headers: IncomingHttpHeaders,
  names: readonly string[],
): Record<string, string> =>
  Object.fromEntries(
    names.flatMap((n) => (typeof headers[n] === 'string' ? [[n, headers[n]]] : [])),
  );

const signature = (secret: string, identity: string, t: string, request: string, body: Buffer) => {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return createHmac('sha256', secret)
    .update(`${identity}\n${t}\n${request}\n${bodyHash}`)
    .digest('hex');
};

export function signForward(
  secret: string | null,
  identity: string,
  method: string,
  path: string,
  body: Buffer,
  now: number = Date.now(),
): string {
  const id = encodeURIComponent(identity);
  if (secret === null) return `identity=${id}`;
  const t = String(now);
  return `identity=${id}; t=${t}; sig=${signature(secret, identity, t, `${method} ${path}`, body)}`;
}

/** The forward's fields, `identity` decoded (left out when it is not decodable). */
function parse(headers: IncomingHttpHeaders): Record<string, string> | null {
  const raw = headers[FORWARDED_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return null;
  const fields: Record<string, string> = {};
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  try {
    if (fields.identity !== undefined) fields.identity = decodeURIComponent(fields.identity);
  } catch {
    delete fields.identity;
  }
  return fields;
}

/** Who handed this request on (X-Poolsync-Forwarded; its identity if readable), else null. */
const forwardedBy = (headers: IncomingHttpHeaders): string | null => {
  const f = parse(headers);
  return f && (f.identity || 'unknown');
};

/**
 * A forward signed with `secret`: `verified` within MAX_SKEW_MS of this clock, else `expired`
 * with its age in whole seconds (negative: ahead); `invalid` when the signature does not verify.
 */
export function verifyForward(
  secret: string,
  headers: IncomingHttpHeaders,
  method: string,
  path: string,
  body: Buffer,
): { kind: 'verified' | 'invalid' } | { kind: 'expired'; ageSeconds: number } {
  const f = parse(headers);
  if (!f?.t || !f.sig || f.identity === undefined) return { kind: 'invalid' };
  const t = Number(f.t);
  const sig = signature(secret, f.identity, f.t, `${method} ${path}`, body);
  if (!Number.isFinite(t) || !constantTimeEqual(f.sig, sig)) return { kind: 'invalid' };
  const ageMs = Date.now() - t;
  // A signature made with the right secret, too long ago: a slow hand-off or skewed clocks.
  if (Math.abs(ageMs) > MAX_SKEW_MS)
    return { kind: 'expired', ageSeconds: Math.trunc(ageMs / 1000) };
  return { kind: 'verified' };
}

/**
 * `local` on the leader: handle it here; on a follower the leader's answer, or why not (503).
 * `followerNow` is asked again when the leadership changes during the wait: taken here, the
 * request is this replica's to run.
 */
export async function handOff(
  req: { method?: string | undefined; url?: string | undefined; headers: IncomingHttpHeaders },
  body: Buffer,
  followerNow: () => Follower | null,
  secret: string | null,
  timeoutMs = HAND_OFF_WAIT_MS,
): Promise<HandOff> {
  const follower = followerNow();
  if (follower === null) return { kind: 'local' };
  // Handed on by a replica already.
  const by = forwardedBy(req.headers);
  if (by) return { kind: 'refused', reason: leaderWords.handedOnTwice(by, follower) };
  if (follower.leader === null) return { kind: 'refused', reason: leaderWords.noLeader(follower) };
  if (follower.leaderAddress === null)
    return { kind: 'refused', reason: leaderWords.noAddress(follower.leader) };
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  const headers = pickHeaders(req.headers, PASSED_HEADERS);
  headers[FORWARDED_HEADER] = signForward(secret, follower.identity, method, path, body);
  const { leader, leaderAddress: address, limits } = follower;
  // Whoever can update Leases sets the address: its answer is capped in size, and in time as a
  // whole, since bodyTimeout only bounds the gaps of a body trickled a byte at a time.
  const dispatcher = new Agent({
    connect: { timeout: limits.connectTimeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxResponseSize: limits.maxResponseBytes,
  });
  const deadline = AbortSignal.timeout(timeoutMs);
  const cut = follower.changed ? [deadline, follower.changed] : [deadline];
  let answered = false;
  try {
    const res = await request(new URL(path, address), {
      method: method as 'GET',
      headers,
      body: body.length > 0 ? body : undefined,
      dispatcher,
      signal: AbortSignal.any(cut),
    });
    answered = true;
    const answer = Buffer.from(await res.body.arrayBuffer());
    const kept = pickHeaders(res.headers, ANSWER_HEADERS);
    return { kind: 'answered', status: res.statusCode, headers: kept, body: answer };
  } catch (err) {
    const size = limitOf(err) === 'size';
    const moved = !deadline.aborted && follower.changed?.aborted === true;
    // Leading now: the request is this replica's, not the old leader's that may never answer.
    if (moved && !answered && followerNow() === null) return { kind: 'local' };
    const why = size
      ? limitWords('size', limits)
      : deadline.aborted
        ? `no complete answer within ${formatDuration(timeoutMs)}`
        : moved
          ? leaderWords.leadershipChanged(followerNow()?.leader ?? null)
          : ((err as NodeJS.ErrnoException).code ?? (err as Error).name);
    // Once it answers, the leader has the request: not relayed (502), never "not handed on" (503).
    return answered || size
      ? { kind: 'failed', reason: leaderWords.notRelayed(leader, address, why) }
      : { kind: 'refused', reason: leaderWords.noAnswer(leader, address, why) };
  } finally {
    void dispatcher.destroy();
  }
}

/** The leader's /status for a follower's dashboard (runs and held changes live there), or null. */
export async function leaderStatus<T>(
  follower: Follower | null,
  timeoutMs: number,
  path = '/status',
): Promise<{ status: T; relayedBy: string } | null> {
  if (follower === null) return null;
  const get = { method: 'GET', url: path, headers: {} };
  const off = await handOff(get, Buffer.alloc(0), () => follower, null, timeoutMs);
  if (off.kind !== 'answered' || off.status !== 200) return null;
  try {
    return { status: JSON.parse(off.body.toString('utf8')) as T, relayedBy: follower.identity };
  } catch {
    return null;
  }
}
