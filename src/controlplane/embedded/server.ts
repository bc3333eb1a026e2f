/**
 * The control-plane REST API (schemas/control-plane.openapi.yaml; its endpoints: `routes`
 * below) over an embedded control plane, on node:http. JSON in and out; errors as
 * `{code, message, address, rule}`.
 *
 * Safety: bearer-token auth with a constant-time comparison, a request body limit, 400 for
 * malformed JSON, request logs that carry method, path, status and duration only (never
 * headers or bodies, so never the token). The `/v1/sim/` endpoints (simulated cluster
 * reports, in-flight work, latency and fault injection) exist only with `simulate: true`.
 * Other systems' protocols (the stand-ins of src/standins/: Union's Connect API, flyteadmin's
 * gateway) can share the port as mounts; this module knows none of them.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import { firstAfter } from '../../util/sorted.js';
import { constantTimeEqual } from '../../util/constant-time.js';
import { ControlPlaneError, ERROR_STATUS } from '../errors.js';
import type { EmbeddedControlPlane } from './embedded.js';
import { BOUNDS_CHECKED_EVERY_MS, readLimitedBody } from '../../util/request-body.js';
import { assignmentKeyString } from '../../model/common.js';
import { lostBelow, parseInventory } from '../../model/inventory.js';
import { NewerFormatError } from '../../util/format-version.js';
import { isMap } from '../../model/flyte.js';
import { checkNesting } from './validate.js';

export interface ControlPlaneServerOptions {
  controlPlane: EmbeddedControlPlane;
  /** Default 127.0.0.1 (loopback). */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** When set, every /v1 call needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Enables /v1/sim/. */
  simulate?: boolean;
  logger?: Logger;
  /** Largest accepted request body (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Other protocols served on this port, tried in order before the REST API. */
  mounts?: ProtocolMount[];
}

/** Another system's protocol on the same port (e.g. a stand-in of src/standins/). */
export interface ProtocolMount {
  /** Answers the request (true) when it is this protocol's; false leaves it to the next. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>;
  /** The port's listener, for a protocol that needs its own (HTTP/2 beside HTTP/1.1). */
  listener?(http1: Server): NetServer;
  /** Ends what the protocol holds open (its connections). */
  close?(): void;
}

export interface ControlPlaneServer {
  url: string;
  close(): Promise<void>;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;

function tokenMatches(expected: string, header: string | undefined): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  // Compared even when the header is malformed, so its shape does not show in the timing.
  return constantTimeEqual(match?.[1] ?? '', expected) && match !== null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startControlPlaneServer(
  opts: ControlPlaneServerOptions,
): Promise<ControlPlaneServer> {
  const faults: Faults = { latency_ms: 0, fault_rate: 0, lost_response_rate: 0 };
  const table = routes(opts.controlPlane, faults).filter((r) => opts.simulate || !r.sim);
  const log = opts.logger;
  const server = createServer(
    { connectionsCheckingInterval: BOUNDS_CHECKED_EVERY_MS },
    (req, res) => {
      logRequest(req, res, log);
      handle(opts, table, faults, req, res).catch((err: unknown) => sendError(res, err, log));
    },
  );
  server.keepAliveTimeout = 60_000;
  server.requestTimeout = 120_000;

  const mounts = opts.mounts ?? [];
  const own = mounts.find((m) => m.listener);
  const listener = own?.listener?.(server) ?? server;
  listener.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  await once(listener, 'listening');
  const addr = listener.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        listener.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
        for (const mount of mounts) mount.close?.();
      }),
  };
}

/** A JSON answer (none when `body` is undefined). */
export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    ...(text
      ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }
      : {}),
  });
  res.end(text);
}

/** Only method, path and outcome: never headers (token) or bodies. Of HTTP/2 requests too. */
export function logRequest(
  req: Pick<IncomingMessage, 'method' | 'url'>,
  res: { statusCode: number; on(event: 'finish', listener: () => void): unknown },
  log: Logger | undefined,
): void {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    log?.info(
      {
        method: req.method,
        path: (req.url ?? '').split('?')[0],
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
      },
      'request',
    );
  });
}

/** A body of a newer client's format: INVALID_ARGUMENT, its one line naming both versions. */
async function newerAsInvalid<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof NewerFormatError)
      throw new ControlPlaneError('INVALID_ARGUMENT', err.message);
    throw err;
  }
}

function sendError(res: ServerResponse, err: unknown, log: Logger | undefined): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof HttpError) {
    if (err.status === 413) res.setHeader('connection', 'close');
    send(res, err.status, { code: err.code, message: err.message }, err.headers);
  } else if (err instanceof NewerFormatError) {
    // A file beside the state that a newer build wrote (the inventory): its line, not INTERNAL.
    send(res, ERROR_STATUS.FAILED_PRECONDITION, {
      code: 'FAILED_PRECONDITION',
      message: err.message,
    });
  } else if (err instanceof ControlPlaneError) {
    send(res, ERROR_STATUS[err.code], {
      code: err.code,
      message: err.message,
      address: err.address,
      rule: err.rule,
    });
  } else {
    log?.error({ err }, 'internal error');
    send(res, 500, {
      code: 'INTERNAL',
      message: 'internal error of the control-plane server (see its log)',
    });
  }
}

async function handle(
  o: ControlPlaneServerOptions,
  table: Route[],
  faults: Faults,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  for (const mount of o.mounts ?? []) if (await mount.handle(req, res, url)) return;
  if (url.pathname === '/healthz' && method === 'GET') return send(res, 200, { status: 'ok' });
  if (o.token && !tokenMatches(o.token, req.headers.authorization)) {
    throw new HttpError(
      401,
      'UNAUTHENTICATED',
      'a valid bearer token is required (Authorization: Bearer <token>)',
      { 'www-authenticate': 'Bearer' },
    );
  }
  const found = findRoute(table, method, url.pathname);
  const lostResponse = found.sim ? false : await simulatedFaults(faults);
  const reply = await found.handler({
    query: url.searchParams,
    params: pathParams(found, url.pathname),
    body: () => jsonBody(req, o.bodyLimitBytes ?? DEFAULT_BODY_LIMIT),
  });
  if (lostResponse)
    throw unavailable('simulated fault: the call was carried out but its answer was lost');
  send(res, reply.status, reply.body);
}

/**
 * One call of the REST API (`/v1/…`, not the simulation's) on `cp`, its body already read, as
 * the daemon serves the control plane it reconciles (docs/daemon.md#quickstart): opened for
 * this call alone, so its runs and these calls share the state through its lock.
 */
export async function answerCall(
  cp: unknown,
  call: { method: string; url: URL; body: Buffer },
  res: ServerResponse,
  log?: Logger,
): Promise<void> {
  try {
    const { EmbeddedControlPlane } = await import('./embedded.js');
    if (!(cp instanceof EmbeddedControlPlane))
      throw new HttpError(
        404,
        'NOT_FOUND',
        'this daemon does not reconcile an embedded control plane',
      );
    const table = routes(cp, { latency_ms: 0, fault_rate: 0, lost_response_rate: 0 });
    const found = findRoute(
      table.filter((r) => !r.sim),
      call.method,
      call.url.pathname,
    );
    const reply = await found.handler({
      query: call.url.searchParams,
      params: pathParams(found, call.url.pathname),
      body: async () => parsedBody(call.body),
    });
    send(res, reply.status, reply.body);
  } catch (err) {
    sendError(res, err, log);
  }
}

function findRoute(table: Route[], method: string, pathname: string): Route {
  const matching = table.filter((r) => r.pattern.test(pathname));
  if (matching.length === 0) throw new HttpError(404, 'NOT_FOUND', `no endpoint ${pathname}`);
  const found = matching.find((r) => r.method === method);
  if (!found) {
    const allow = matching.map((r) => r.method).join(', ');
    throw new HttpError(
      405,
      'INVALID_ARGUMENT',
      `${method} is not allowed on ${pathname} (allowed: ${allow})`,
      { allow },
    );
  }
  return found;
}

const unavailable = (message: string) => new HttpError(503, 'UNAVAILABLE', message);

/** The simulated latency and faults of a non-sim call; true when its answer is to be lost. */
async function simulatedFaults(faults: Faults): Promise<boolean> {
  if (faults.latency_ms > 0) await sleep(faults.latency_ms);
  if (faults.fault_rate > 0 && Math.random() < faults.fault_rate)
    throw unavailable('simulated fault: the control plane is unavailable, retry');
  return faults.lost_response_rate > 0 && Math.random() < faults.lost_response_rate;
}

function pathParams(found: Route, pathname: string): string[] {
  return (found.pattern.exec(pathname) ?? []).slice(1).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw invalid(`malformed path segment "${s}"`);
    }
  });
}

async function jsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return parsedBody(
    await readLimitedBody(req, limit, (m) => new HttpError(413, 'INVALID_ARGUMENT', m)),
  );
}

function parsedBody(raw: Buffer): unknown {
  if (raw.length === 0) throw invalid('the request needs a JSON body');
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw invalid(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  checkNesting(body);
  return body;
}

/** Page sizes of the lists (`limit`). */
export const DEFAULT_PAGE_SIZE = 500;
export const MAX_PAGE_SIZE = 5000;

/** Simulated trouble (only with `simulate`). */
export interface Faults {
  /** Added to every non-sim call. */
  latency_ms: number;
  /** Fraction of non-sim calls answered 503 UNAVAILABLE before doing anything. */
  fault_rate: number;
  /** Fraction of non-sim calls that are carried out but answered 503 (a lost response). */
  lost_response_rate: number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const invalid = (message: string) => new HttpError(400, 'INVALID_ARGUMENT', message);

const unknownKeys = (body: Record<string, unknown>, ...known: string[]) =>
  Object.keys(body).filter((k) => !known.includes(k));

/** `takes` says what the body takes. */
function takeOnly(body: Record<string, unknown>, takes: string, ...known: string[]): void {
  const unknown = unknownKeys(body, ...known);
  if (unknown.length > 0) throw invalid(`${takes}; unknown: ${unknown.join(', ')}`);
}

interface Request {
  query: URLSearchParams;
  params: string[];
  body: () => Promise<unknown>;
}

interface Reply {
  status: number;
  body?: unknown;
}

type Handler = (req: Request) => Promise<Reply>;

export interface Route {
  method: string;
  /** As written in the OpenAPI document, e.g. `/v1/pools/{name}`. */
  path: string;
  pattern: RegExp;
  sim: boolean;
  handler: Handler;
}

const NAME = '([^/]+)';

function route(method: string, path: string, handler: Handler): Route {
  const pattern = new RegExp(`^${path.replaceAll('{name}', NAME)}$`);
  return { method, path, pattern, sim: path.startsWith('/v1/sim/'), handler };
}

/** Most shards a list may be split into (`shards`), so parallel readers stay bounded. */
export const MAX_SHARDS = 64;

/**
 * The shard of a list key: FNV-1a (32-bit) of its UTF-8 bytes, modulo `shards`. Part of the
 * API (schemas/control-plane.openapi.yaml), so any client can check or reproduce it.
 */
export function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

function intParam(query: URLSearchParams, name: string, min: number, max: number): number | null {
  const raw = query.get(name);
  if (raw === null) return null;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max)
    throw invalid(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}

/**
 * Items after the page token (the last key of the previous page), `limit` of them; with
 * `shards`/`shard`, only the keys of that shard, so a client can read one list as several
 * independent page chains at once (the answer echoes `shard` so a client knows it was honoured).
 */
function paginate<T>(items: T[], keyOf: (item: T) => string, query: URLSearchParams): Reply {
  const limit = intParam(query, 'limit', 1, MAX_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE;
  const shards = intParam(query, 'shards', 1, MAX_SHARDS);
  const shard = intParam(query, 'shard', 0, (shards ?? 1) - 1);
  if ((shards === null) !== (shard === null))
    throw invalid('shards and shard are given together or not at all');
  const token = query.get('page_token');
  let start = 0;
  if (token !== null && token !== '') {
    const after = Buffer.from(token, 'base64url').toString('utf8');
    if (after === '' || Buffer.from(after, 'utf8').toString('base64url') !== token)
      throw invalid('page_token is not a token this server issued');
    start = firstAfter(items, keyOf, after);
  }
  const page: T[] = [];
  let more = false;
  for (let i = start; i < items.length; i++) {
    if (shards !== null && shardOf(keyOf(items[i]!), shards) !== shard) continue;
    if (page.length === limit) {
      more = true;
      break;
    }
    page.push(items[i]!);
  }
  const next = more
    ? Buffer.from(keyOf(page[page.length - 1]!), 'utf8').toString('base64url')
    : null;
  // `total` (the whole list) lets a client size its parallel reads (shards) to the list.
  const body: Record<string, unknown> = { items: page, next_page_token: next, total: items.length };
  if (shards !== null) body.shard = { index: shard, count: shards };
  return { status: 200, body };
}

const byName = (x: { name: string }) => x.name;

const ok = (body: unknown): Reply => ({ status: 200, body });
const created = (body: unknown): Reply => ({ status: 201, body });
const none: Reply = { status: 204 };
const obj = async (req: Request): Promise<Record<string, unknown>> => {
  const body = await req.body();
  if (!isMap(body)) throw invalid('the request body must be a JSON object');
  return body;
};
const nameOf = (req: Request) => req.params[0]!;

/** Every endpoint of the API, one table (those under /v1/sim/: only with `simulate`). */
export function routes(cp: EmbeddedControlPlane, faults: Faults): Route[] {
  return [
    route('GET', '/v1/capabilities', async () => ok(await cp.capabilities())),
    route('GET', '/v1/pools', async (r) => paginate(await cp.listPools(), byName, r.query)),
    route('POST', '/v1/pools', async (r) => {
      const b = await obj(r);
      takeOnly(b, 'a pool takes name and contract', 'name', 'contract');
      return created(await cp.createPool(b.name as string, b.contract as never));
    }),
    route('GET', '/v1/pools/{name}', async (r) => ok(await cp.getPool(nameOf(r)))),
    route('DELETE', '/v1/pools/{name}', async (r) => (await cp.deletePool(nameOf(r)), none)),
    // Capability `pool_update` (P4 when off): replaces the contract in place.
    route('PUT', '/v1/pools/{name}', async (r) => {
      const b = await obj(r);
      takeOnly(b, 'a pool update takes contract only', 'contract');
      return ok(await cp.updatePool(nameOf(r), b.contract as never));
    }),
    route('GET', '/v1/clusters', async (r) => paginate(await cp.listClusters(), byName, r.query)),
    route('POST', '/v1/clusters', async (r) =>
      created(await cp.registeredCluster((await obj(r)) as never)),
    ),
    route('GET', '/v1/clusters/{name}', async (r) => ok(await cp.getCluster(nameOf(r)))),
    route('PATCH', '/v1/clusters/{name}', async (r) => {
      const b = await obj(r);
      const unknown = unknownKeys(b, 'enabled');
      if (unknown.length > 0) {
        throw new ControlPlaneError(
          'INVALID_ARGUMENT',
          `only "enabled" can be updated on a cluster (C6); got ${unknown.map((k) => `"${k}"`).join(', ')}`,
          `Cluster/${nameOf(r)}`,
          'C6',
        );
      }
      return ok(await cp.updateCluster(nameOf(r), b as { enabled: boolean }));
    }),
    route('DELETE', '/v1/clusters/{name}', async (r) => (await cp.deleteCluster(nameOf(r)), none)),
    // Capability `cluster_move` (C7 when off).
    route('POST', '/v1/clusters/{name}/move', async (r) => {
      const b = await obj(r);
      if (unknownKeys(b, 'pool').length > 0 || typeof b.pool !== 'string')
        throw invalid('a cluster move takes {"pool": "<name>"} only');
      return ok(await cp.moveCluster(nameOf(r), b.pool));
    }),
    route('GET', '/v1/queues', async (r) => paginate(await cp.listQueues(), byName, r.query)),
    route('POST', '/v1/queues', async (r) =>
      created(await cp.createdQueue((await obj(r)) as never)),
    ),
    route('GET', '/v1/queues/{name}', async (r) => ok(await cp.getQueue(nameOf(r)))),
    route('PUT', '/v1/queues/{name}', async (r) =>
      ok(await cp.updateQueue(nameOf(r), (await obj(r)) as never)),
    ),
    route('GET', '/v1/queues/{name}/metrics', async (r) => ok(await cp.queueMetrics(nameOf(r)))),
    // Capabilities `drain` (C9 when off) and `queue_delete` (Q6 when off).
    route('POST', '/v1/queues/{name}/drain', async (r) => ok(await cp.drainQueue(nameOf(r)))),
    route('POST', '/v1/queues/{name}/activate', async (r) => ok(await cp.activateQueue(nameOf(r)))),
    route('DELETE', '/v1/queues/{name}', async (r) => (await cp.deleteQueue(nameOf(r)), none)),
    // Capability `soft_delete` (Union today): deleted objects keep their names until undeleted.
    ...(
      [
        ['queues', 'listDeletedQueues', 'undeleteQueue'],
        ['pools', 'listDeletedPools', 'undeletePool'],
        ['clusters', 'listDeletedClusters', 'undeleteCluster'],
      ] as const
    ).flatMap(([kind, listDeleted, undelete]) => [
      route('GET', `/v1/deleted/${kind}`, async (r) =>
        paginate(await cp[listDeleted](), byName, r.query),
      ),
      route('POST', `/v1/${kind}/{name}/undelete`, async (r) => ok(await cp[undelete](nameOf(r)))),
    ]),
    route('GET', '/v1/assignments', async (r) =>
      paginate(await cp.listAssignments(), assignmentKeyString, r.query),
    ),
    route('PUT', '/v1/assignments', async (r) =>
      ok(await cp.setAssignment((await obj(r)) as never)),
    ),
    route('DELETE', '/v1/assignments', async (r) => {
      const q = r.query;
      await cp.deleteAssignment({
        project: q.get('project') as string,
        domain: q.get('domain') as string,
        workflow: q.get('workflow'),
      });
      return none;
    }),
    route('GET', '/v1/inventory', async () =>
      ok({ inventory: await cp.inventory.readInventory() }),
    ),
    route('PUT', '/v1/inventory', async (r) => {
      const record = await newerAsInvalid(async () =>
        parseInventory(await r.body(), 'the inventory sent'),
      );
      if (typeof record === 'string')
        throw new ControlPlaneError('INVALID_ARGUMENT', `not an inventory: ${record}`);
      // An earlier client's format would drop what the stored one records (never downgraded).
      const stored = (await cp.inventory.readInventory())?.format;
      if (stored !== undefined && record.format < stored)
        throw new ControlPlaneError(
          'FAILED_PRECONDITION',
          `the inventory sent is format ${record.format}, written by an earlier poolsync; the one stored here is format ${stored}, which records ${lostBelow(record.format, stored)}, and format ${record.format} would drop them: nothing was written; upgrade the client to this server's poolsync or later (docs/versioning.md)`,
        );
      await cp.inventory.writeInventory(record);
      return none;
    }),
    route('GET', '/v1/apply-lock', async () => ok({ lock: await cp.applyLock.getApplyLock() })),
    route('PUT', '/v1/apply-lock', async (r) =>
      ok(await cp.applyLock.acquireApplyLock((await obj(r)) as never)),
    ),
    route('DELETE', '/v1/apply-lock', async (r) => {
      const b = await obj(r);
      await cp.applyLock.releaseApplyLock(b.id as string);
      return none;
    }),
    route('POST', '/v1/sim/clusters/{name}/status', async (r) =>
      ok(await cp.reportClusterStatus(nameOf(r), (await obj(r)) as never)),
    ),
    route('POST', '/v1/sim/queues/{name}/activity', async (r) => {
      await cp.setQueueActivity(nameOf(r), (await obj(r)) as never);
      return ok(await cp.queueMetrics(nameOf(r)));
    }),
    route('GET', '/v1/sim/faults', async () => ok({ ...faults })),
    route('PUT', '/v1/sim/faults', async (r) => ok(setFaults(faults, await obj(r)))),
  ];
}

/** Checks every setting first: a bad one changes none. */
function setFaults(faults: Faults, b: Record<string, unknown>): Faults {
  const next = { ...faults };
  for (const [key, value] of Object.entries(b)) {
    const max = key === 'latency_ms' ? 600_000 : 1;
    if (!(key in faults))
      throw invalid(`unknown fault setting "${key}" (known: ${Object.keys(faults).join(', ')})`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max)
      throw invalid(`${key} must be a number from 0 to ${max}`);
    next[key as keyof Faults] = value;
  }
  Object.assign(faults, next);
  return { ...faults };
}
