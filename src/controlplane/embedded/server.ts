/**
 * The control-plane REST API (schemas/control-plane.openapi.yaml; its endpoints in
 * api-routes.ts) over an embedded control plane, on node:http. JSON in and out; errors as
 * `{code, message, address, rule}`.
 *
 * Safety: bearer-token auth with a constant-time comparison, a request body limit, 400 for
 * malformed JSON, request logs that carry method, path, status and duration only (never
 * headers or bodies, so never the token). The `/v1/sim/` endpoints (simulated cluster
 * reports, in-flight work, latency and fault injection) exist only with `simulate: true`.
 * Other systems' protocols (the stand-ins of src/standins/: Union's Connect API, flyteadmin's
 * gateway) can share the port as mounts; this module knows none of them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import { constantTimeEqual } from '../../util/constant-time.js';
import type { ControlPlaneErrorCode } from '../errors.js';
import { ControlPlaneError } from '../errors.js';
import type { EmbeddedControlPlane } from './embedded.js';
import { HttpError, invalid, routes, type Faults, type Route } from './api-routes.js';

export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_SHARDS, apiRoutes, shardOf } from './api-routes.js';
import { readLimitedBody } from '../../util/request-body.js';

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

const STATUS: Record<ControlPlaneErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 412,
  UNAVAILABLE: 503,
};

function tokenMatches(expected: string, header: string | undefined): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  // Compared even when the header is malformed, so its shape does not show in the timing.
  return constantTimeEqual(match?.[1] ?? '', expected) && match !== null;
}

const readBody = (req: IncomingMessage, limit: number): Promise<Buffer> =>
  readLimitedBody(req, limit, (message) => new HttpError(413, 'INVALID_ARGUMENT', message));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What every request is served with. */
interface Serving {
  table: Route[];
  /** The bearer token every /v1 call needs, or null. */
  expected: string | null;
  limit: number;
  mounts: ProtocolMount[];
  faults: Faults;
}

export async function startControlPlaneServer(
  opts: ControlPlaneServerOptions,
): Promise<ControlPlaneServer> {
  const faults: Faults = { latency_ms: 0, fault_rate: 0, lost_response_rate: 0 };
  const serving: Serving = {
    table: routes(opts.controlPlane, faults).filter((r) => opts.simulate || !r.sim),
    expected: opts.token ? opts.token : null,
    limit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    mounts: opts.mounts ?? [],
    faults,
  };
  const log = opts.logger;
  const server = createServer((req, res) => {
    logRequest(req, res, log);
    handle(serving, req, res).catch((err: unknown) => sendError(res, err, log));
  });
  server.keepAliveTimeout = 60_000;
  server.requestTimeout = 120_000;

  const mounts = serving.mounts;
  const own = mounts.find((m) => m.listener);
  const listener = own?.listener?.(server) ?? server;
  await listen(listener, opts.port ?? 0, opts.host ?? '127.0.0.1');
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

function listen(listener: NetServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
}

function send(
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

/** Only method, path and outcome: never headers (token) or bodies. */
function logRequest(req: IncomingMessage, res: ServerResponse, log: Logger | undefined): void {
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

function sendError(res: ServerResponse, err: unknown, log: Logger | undefined): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof HttpError) {
    if (err.status === 413) res.setHeader('connection', 'close');
    send(res, err.status, { code: err.code, message: err.message }, err.headers);
  } else if (err instanceof ControlPlaneError) {
    send(res, STATUS[err.code], {
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

async function handle(s: Serving, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  for (const mount of s.mounts) if (await mount.handle(req, res, url)) return;
  if (url.pathname === '/healthz' && method === 'GET') return send(res, 200, { status: 'ok' });
  if (s.expected && !tokenMatches(s.expected, req.headers.authorization)) {
    throw new HttpError(
      401,
      'UNAUTHENTICATED',
      'a valid bearer token is required (Authorization: Bearer <token>)',
      { 'www-authenticate': 'Bearer' },
    );
  }
  const found = findRoute(s.table, method, url.pathname);
  const lostResponse = found.sim ? false : await simulatedFaults(s.faults);
  const reply = await found.handler({
    method,
    path: url.pathname,
    query: url.searchParams,
    params: pathParams(found, url.pathname),
    body: () => jsonBody(req, s.limit),
  });
  if (lostResponse)
    throw unavailable('simulated fault: the call was carried out but its answer was lost');
  send(res, reply.status, reply.body);
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
  const raw = await readBody(req, limit);
  if (raw.length === 0) throw invalid('the request needs a JSON body');
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw invalid(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}
