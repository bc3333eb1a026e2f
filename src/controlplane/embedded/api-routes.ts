/**
 * The endpoints of the control-plane REST API (schemas/control-plane.openapi.yaml) over an
 * embedded control plane: each route's method, path and handler, pagination (`page_token`,
 * `shards`/`shard`) and the simulation endpoints. server.ts serves them over HTTP.
 */
import { assignmentKeyString } from '../../model/common.js';
import { parseInventory } from '../../model/inventory.js';
import { ControlPlaneError } from '../errors.js';
import type { EmbeddedControlPlane } from './embedded.js';
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

/** A request the API refuses as malformed (400 INVALID_ARGUMENT). */
export const invalid = (message: string) => new HttpError(400, 'INVALID_ARGUMENT', message);

/** The keys of a request body beyond those of its kind. */
const unknownKeys = (body: Record<string, unknown>, ...known: string[]) =>
  Object.keys(body).filter((k) => !known.includes(k));

interface Request {
  method: string;
  path: string;
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

function route(method: string, path: string, handler: Handler, sim = false): Route {
  return {
    method,
    path,
    pattern: new RegExp(`^${path.replaceAll('{name}', NAME)}$`),
    sim,
    handler,
  };
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
    // Lists are sorted by key: binary search for the first key after the token.
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keyOf(items[mid]!) <= after) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  let page: T[];
  let more: boolean;
  if (shards === null || shard === null) {
    page = items.slice(start, start + limit);
    more = start + limit < items.length;
  } else {
    page = [];
    more = false;
    for (let i = start; i < items.length; i++) {
      if (shardOf(keyOf(items[i]!), shards) !== shard) continue;
      if (page.length === limit) {
        more = true;
        break;
      }
      page.push(items[i]!);
    }
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
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('the request body must be a JSON object');
  return body as Record<string, unknown>;
};
/** The `{name}` of the path. */
const nameOf = (req: Request) => req.params[0]!;

export function routes(cp: EmbeddedControlPlane, faults: Faults): Route[] {
  return [
    route('GET', '/v1/capabilities', async () => ok(await cp.capabilities())),
    ...poolRoutes(cp),
    ...clusterRoutes(cp),
    ...queueRoutes(cp),
    ...assignmentRoutes(cp),
    ...recordRoutes(cp),
    ...simRoutes(cp, faults),
  ];
}

function poolRoutes(cp: EmbeddedControlPlane): Route[] {
  return [
    route('GET', '/v1/pools', async (r) => paginate(await cp.listPools(), byName, r.query)),
    route('POST', '/v1/pools', async (r) => {
      const b = await obj(r);
      const unknown = unknownKeys(b, 'name', 'contract');
      if (unknown.length > 0)
        throw invalid(`a pool takes name and contract; unknown: ${unknown.join(', ')}`);
      return created(await cp.createPool(b.name as string, b.contract as never));
    }),
    route('GET', '/v1/pools/{name}', async (r) => ok(await cp.getPool(nameOf(r)))),
    route('DELETE', '/v1/pools/{name}', async (r) => (await cp.deletePool(nameOf(r)), none)),
    // Capability `pool_update` (P4 when off): replaces the contract in place.
    route('PUT', '/v1/pools/{name}', async (r) => {
      const b = await obj(r);
      const unknown = unknownKeys(b, 'contract');
      if (unknown.length > 0)
        throw invalid(`a pool update takes contract only; unknown: ${unknown.join(', ')}`);
      return ok(await cp.updatePool(nameOf(r), b.contract as never));
    }),
  ];
}

function clusterRoutes(cp: EmbeddedControlPlane): Route[] {
  return [
    route('GET', '/v1/clusters', async (r) => paginate(await cp.listClusters(), byName, r.query)),
    route('POST', '/v1/clusters', async (r) =>
      created(await cp.registerCluster((await obj(r)) as never)),
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
  ];
}

function queueRoutes(cp: EmbeddedControlPlane): Route[] {
  return [
    route('GET', '/v1/queues', async (r) => paginate(await cp.listQueues(), byName, r.query)),
    route('POST', '/v1/queues', async (r) =>
      created(await cp.createQueue((await obj(r)) as never)),
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
  ];
}

function assignmentRoutes(cp: EmbeddedControlPlane): Route[] {
  return [
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
  ];
}

/** The inventory record and the apply lock the control plane keeps for poolsync. */
function recordRoutes(cp: EmbeddedControlPlane): Route[] {
  return [
    route('GET', '/v1/inventory', async () =>
      ok({ inventory: await cp.inventory.readInventory() }),
    ),
    route('PUT', '/v1/inventory', async (r) => {
      const record = parseInventory(await r.body());
      if (typeof record === 'string')
        throw new ControlPlaneError('INVALID_ARGUMENT', `not an inventory: ${record}`);
      await cp.inventory.writeInventory(record);
      return none;
    }),
    route('GET', '/v1/apply-lock', async () => ok({ lock: await cp.applyLock.getApplyLock() })),
    route('PUT', '/v1/apply-lock', async (r) => {
      const b = await obj(r);
      return ok(await cp.applyLock.acquireApplyLock(b as never));
    }),
    route('DELETE', '/v1/apply-lock', async (r) => {
      const b = await obj(r);
      await cp.applyLock.releaseApplyLock(b.id as string);
      return none;
    }),
  ];
}

/** The simulation endpoints (only with `simulate`). */
function simRoutes(cp: EmbeddedControlPlane, faults: Faults): Route[] {
  return [
    route(
      'POST',
      '/v1/sim/clusters/{name}/status',
      async (r) => ok(await cp.reportClusterStatus(nameOf(r), (await obj(r)) as never)),
      true,
    ),
    route(
      'POST',
      '/v1/sim/queues/{name}/activity',
      async (r) => {
        await cp.setQueueActivity(nameOf(r), (await obj(r)) as never);
        return ok(await cp.queueMetrics(nameOf(r)));
      },
      true,
    ),
    route('GET', '/v1/sim/faults', async () => ok({ ...faults }), true),
    route('PUT', '/v1/sim/faults', async (r) => ok(setFaults(faults, await obj(r))), true),
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

/** Every endpoint the server has (for the OpenAPI document's test and the docs). */
export function apiRoutes(): { method: string; path: string; sim: boolean }[] {
  const faults: Faults = { latency_ms: 0, fault_rate: 0, lost_response_rate: 0 };
  return routes(null as unknown as EmbeddedControlPlane, faults).map(({ method, path, sim }) => ({
    method,
    path,
    sim,
  }));
}
