/**
 * The ControlPlane interface over poolsync's REST API (schemas/control-plane.openapi.yaml),
 * through JsonHttp. A retried write may have landed the first time: a delete answered NOT_FOUND
 * *after a retry* is done; a create answered ALREADY_EXISTS is judged by the step (one check).
 */
import {
  assignmentKeyString,
  type Assignment,
  type AssignmentKey,
  type Capabilities,
  type PoolContract,
  type QueueSpec,
} from '../../model/common.js';
import type {
  LiveAssignment,
  LiveCluster,
  LivePool,
  LiveQueue,
  QueueMetrics,
} from '../../model/live.js';
import { INVENTORY_FORMAT, lostBelow, parseInventory } from '../../model/inventory.js';
import { OlderReaderError } from '../../util/format-version.js';
import { packageVersion } from '../../util/package-version.js';
import {
  anything,
  listOf,
  nullable,
  num,
  record,
  shapeProblem,
  str,
  type Shape,
} from '../../util/json-shape.js';
import {
  assignmentShape,
  capabilitiesShape,
  liveClusterShape,
  livePoolShape,
  liveQueueShape,
} from '../../model/shapes.js';
import { UserError } from '../../util/user-error.js';

import {
  ControlPlaneError,
  ERROR_CODES,
  ERROR_STATUS,
  withAddress,
  type ControlPlaneErrorCode,
} from '../errors.js';
import { JsonHttp, type ErrorBody } from '../json-http.js';
import { transientStatus } from '../retry.js';
import { limitsOf, retryPolicy, type ClientTuning } from '../opener.js';
import { HTTP_DELAYS } from '../../util/backoff.js';
import type {
  ApplyLockLease,
  ApplyLockProvider,
  AssignmentCalls,
  BackendProfile,
  CapabilityCalls,
  ClusterCalls,
  ControlPlane,
  CreateQueueRequest,
  InventoryCalls,
  PoolCalls,
  QueueCalls,
  RegisterClusterRequest,
} from '../types.js';

export interface HttpControlPlaneOptions extends ClientTuning {
  /** Never logged. */
  token?: string | undefined;
}

interface Page<T> {
  items: T[];
  next_page_token: string | null;
  shard?: { index: number; count: number };
  total?: number;
}

type Shard = { index: number; count: number } | null;
type Kinds = 'pools' | 'clusters' | 'queues';

/** A page of `item`s (schemas/control-plane.openapi.yaml, PoolPage and the others). */
const pageOf = (item: Shape): Shape =>
  record(
    { items: listOf(item), next_page_token: nullable(str) },
    { shard: record({ index: num, count: num }), total: num },
  );
const PAGES: Record<string, Shape> = {
  '/v1/pools': pageOf(livePoolShape),
  '/v1/clusters': pageOf(liveClusterShape),
  '/v1/queues': pageOf(liveQueueShape),
  '/v1/assignments': pageOf(assignmentShape),
  '/v1/deleted/pools': pageOf(livePoolShape),
  '/v1/deleted/clusters': pageOf(liveClusterShape),
  '/v1/deleted/queues': pageOf(liveQueueShape),
};
const APPLY_LOCK = record({
  holder: str,
  acquired_at: str,
  renewed_at: str,
  expires_at: str,
  taken_over_from: nullable(str),
});
const QUEUE_METRICS = record({ runs_in_flight: num, actions_in_flight: num, depth: num });

/** The code of an error answer without one: the server's status of each code, and 413. */
const STATUS_CODES: Record<number, ControlPlaneErrorCode> = {
  ...Object.fromEntries(ERROR_CODES.map((code) => [ERROR_STATUS[code], code])),
  413: 'INVALID_ARGUMENT',
};

export class HttpControlPlane implements ControlPlane {
  readonly backend: BackendProfile = { name: 'poolsync REST API' };
  // The stand-ins serve default-queue settings and labels over Union's and flyteadmin's protocols.
  readonly pools: PoolCalls = this;
  readonly clusters: ClusterCalls = this;
  readonly queues: QueueCalls = this;
  readonly assignments: AssignmentCalls = this;
  readonly capabilityCalls: CapabilityCalls = this;
  private readonly http: JsonHttp;
  private readonly token: string | undefined;
  private readonly pageSize: number;
  private readonly listShards: number;

  constructor(baseUrl: string, opts: HttpControlPlaneOptions = {}) {
    const connections = Math.max(1, opts.connections ?? 32);
    const token = opts.token || undefined;
    this.token = token;
    // The API's largest page (MAX_PAGE_SIZE, schemas/control-plane.openapi.yaml): latency, not
    // payload, dominates a remote read, so fewer round trips win.
    this.pageSize = opts.pageSize ?? 5000;
    this.listShards = Math.max(1, Math.min(64, opts.listShards ?? Math.min(16, connections)));
    this.http = new JsonHttp(baseUrl, {
      service: 'the control plane',
      label: (method, path) => `${method} ${this.url}${path}`,
      apiError: (method, path, status, text) => this.apiError(method, path, status, text),
      auth: token ? { header: async () => `Bearer ${token}` } : undefined,
      plainHttpHint: (plain) =>
        `if it is a plain-HTTP server (\`poolsync control-plane serve\` is), use --control-plane ${plain}`,
      retry: retryPolicy(opts, { maxRetries: 8, ...HTTP_DELAYS }),
      limits: limitsOf(opts),
      connections,
      onPace: opts.onPace,
      onWait: opts.onWait,
      clock: opts.clock,
      signal: opts.signal,
    });
  }

  get url(): string {
    return this.http.url;
  }

  readonly inventory: InventoryCalls = {
    readInventory: async () => {
      const path = '/v1/inventory';
      const { inventory } = await this.read<{ inventory: unknown }>(
        'GET',
        path,
        record({ inventory: anything }),
      );
      if (inventory === null) return null;
      // One of a newer server's format is refused (never rewritten in this one's).
      const parsed = parseInventory(inventory, `${this.url}${path}`);
      if (typeof parsed === 'string') throw this.misshapen(path, `answer.inventory: ${parsed}`);
      return parsed;
    },
    writeInventory: async (record) => {
      try {
        await this.http.call('PUT', '/v1/inventory', record);
      } catch (err) {
        throw olderServer(err, `${this.url}/v1/inventory`) ?? err;
      }
    },
  };
  readonly applyLock: ApplyLockProvider = {
    acquireApplyLock: (request) =>
      this.read<ApplyLockLease>('PUT', '/v1/apply-lock', APPLY_LOCK, request),
    releaseApplyLock: (id) => this.http.call('DELETE', '/v1/apply-lock', { id }),
    getApplyLock: async () =>
      (
        await this.read<{ lock: ApplyLockLease | null }>(
          'GET',
          '/v1/apply-lock',
          record({ lock: nullable(APPLY_LOCK) }),
        )
      ).lock,
  };

  capabilities(): Promise<Capabilities> {
    return this.read('GET', '/v1/capabilities', capabilitiesShape);
  }

  readonly listPools = () => this.list<LivePool>('/v1/pools', byName);
  readonly getPool = (name: string): Promise<LivePool> =>
    this.read('GET', `/v1/pools/${seg(name)}`, livePoolShape);

  readonly listClusters = () => this.list<LiveCluster>('/v1/clusters', byName);
  readonly getCluster = (name: string): Promise<LiveCluster> =>
    this.read('GET', `/v1/clusters/${seg(name)}`, liveClusterShape);

  readonly listQueues = () => this.list<LiveQueue>('/v1/queues', byName);
  readonly getQueue = (name: string): Promise<LiveQueue> =>
    this.read('GET', `/v1/queues/${seg(name)}`, liveQueueShape);

  /** soft_delete; a server older than these lists lists none, as before. */
  readonly listDeletedQueues = () => this.listDeleted<LiveQueue>('queues');
  readonly listDeletedPools = () => this.listDeleted<LivePool>('pools');
  readonly listDeletedClusters = () => this.listDeleted<LiveCluster>('clusters');

  /**
   * The answer of a call whose fields the client reads: one of a server older than an optional
   * field reads it as its default, as a stored record does (model/shapes.ts); one without a
   * required field, or not an object at all, is refused, naming the field.
   */
  private async read<T>(
    method: 'GET' | 'PUT' | 'POST',
    path: string,
    shape: Shape,
    body?: unknown,
  ): Promise<T> {
    const answer = await this.http.call<unknown>(method, path, body);
    const problem = shapeProblem('answer', shape, answer);
    if (problem !== null) throw this.misshapen(path, problem);
    return answer as T;
  }

  private misshapen(path: string, problem: string): UserError {
    const where = path.split('?')[0];
    return new UserError(
      `${this.url}${where}: ${problem}: is it a poolsync control-plane server (control-plane serve)?`,
    );
  }

  private async listDeleted<T extends { name: string }>(kind: Kinds): Promise<T[]> {
    try {
      return await this.list<T>(`/v1/deleted/${kind}`, byName);
    } catch (err) {
      if (err instanceof ControlPlaneError && err.code === 'NOT_FOUND') return [];
      throw err;
    }
  }

  readonly undeleteQueue = (name: string) => this.post<LiveQueue>('queues', name, 'undelete');
  readonly undeletePool = (name: string) => this.post<LivePool>('pools', name, 'undelete');
  readonly undeleteCluster = (name: string) => this.post<LiveCluster>('clusters', name, 'undelete');

  private post<T>(kind: Kinds, name: string, action: string, body: object = {}): Promise<T> {
    return this.http.call('POST', `/v1/${kind}/${seg(name)}/${action}`, body);
  }

  listAssignments(): Promise<LiveAssignment[]> {
    return this.list<LiveAssignment>('/v1/assignments', assignmentKeyString);
  }

  queueMetrics(name: string): Promise<QueueMetrics> {
    return this.read('GET', `/v1/queues/${seg(name)}/metrics`, QUEUE_METRICS);
  }

  /** A delete answered NOT_FOUND *after a retry* is done: its earlier attempt landed. */
  private async remove(path: string): Promise<void> {
    const attempts = { retried: false };
    try {
      await this.http.call('DELETE', path, undefined, attempts);
    } catch (err) {
      if (!(attempts.retried && err instanceof ControlPlaneError && err.code === 'NOT_FOUND'))
        throw err;
    }
  }

  // A create answered ALREADY_EXISTS, after a retry or not, is the step's to judge
  // (src/apply/steps.ts existing): the object it would have made, or another client's.
  createPool(name: string, contract: PoolContract): Promise<LivePool> {
    return this.http.call('POST', '/v1/pools', { name, contract });
  }

  deletePool(name: string): Promise<void> {
    return this.remove(`/v1/pools/${seg(name)}`);
  }

  async registerCluster(request: RegisterClusterRequest): Promise<void> {
    await this.http.call('POST', '/v1/clusters', request);
  }

  updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster> {
    return this.http.call('PATCH', `/v1/clusters/${seg(name)}`, update);
  }

  deleteCluster(name: string): Promise<void> {
    return this.remove(`/v1/clusters/${seg(name)}`);
  }

  async createQueue(request: CreateQueueRequest): Promise<void> {
    await this.http.call('POST', '/v1/queues', request);
  }

  updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue> {
    return this.http.call('PUT', `/v1/queues/${seg(name)}`, spec);
  }

  // Capability calls: the server refuses them (FAILED_PRECONDITION, C9/Q6/C7/P4) when off.
  readonly drainQueue = (name: string) => this.post<LiveQueue>('queues', name, 'drain');
  readonly activateQueue = (name: string) => this.post<LiveQueue>('queues', name, 'activate');

  deleteQueue(name: string): Promise<void> {
    return this.remove(`/v1/queues/${seg(name)}`);
  }

  // The step reads the pool the cluster is in after the move (src/apply/steps.ts moved).
  moveCluster(name: string, pool: string): Promise<LiveCluster> {
    return this.read('POST', `/v1/clusters/${seg(name)}/move`, liveClusterShape, { pool });
  }

  updatePool(name: string, contract: PoolContract): Promise<LivePool> {
    return this.http.call('PUT', `/v1/pools/${seg(name)}`, { contract });
  }

  setAssignment(assignment: Assignment): Promise<LiveAssignment> {
    return this.http.call('PUT', '/v1/assignments', assignment);
  }

  deleteAssignment(key: AssignmentKey): Promise<void> {
    const q = new URLSearchParams({ project: key.project, domain: key.domain });
    if (key.workflow !== null && key.workflow !== undefined) q.set('workflow', key.workflow);
    // Keep the key in the message even when the server's body was lost.
    return this.remove(`/v1/assignments?${q.toString()}`).catch(
      withAddress(`PoolAssignment/${assignmentKeyString(key)}`),
    );
  }

  private apiError(method: string, path: string, status: number, payload: ErrorBody) {
    const ours = ERROR_CODES.includes(payload.code as ControlPlaneErrorCode);
    const code = ours
      ? (payload.code as ControlPlaneErrorCode)
      : (STATUS_CODES[status] ?? (transientStatus(status) ? 'UNAVAILABLE' : 'INVALID_ARGUMENT'));
    // A body without one of poolsync's codes is another server's (flyteadmin, a proxy): its
    // words alone ("Not Found") would not say which call, nor that the URL may be wrong.
    const words = typeof payload.message === 'string' ? payload.message : '';
    let message =
      ours && words
        ? words
        : `${method} ${this.url}${path} answered HTTP ${status}${words && ` (${words})`}`;
    // The API docs' base URL ends in /v1, which every call's path starts with already.
    if (status === 404 && this.url.endsWith('/v1'))
      message += `: the control-plane URL is the server's root, without /v1 (poolsync adds it); use --control-plane ${this.url.slice(0, -3)}`;
    else if (!ours && status === 404)
      message +=
        daemonWords(this.url, payload) ??
        `: is ${this.url} a poolsync control-plane API? A flyteadmin is flyteadmin+${this.url}, a Union organisation union+${this.url}`;
    if (status === 403 && this.token !== undefined)
      message +=
        '; the token was accepted but may not make this call: give it a role or scope that allows it, or use a token that has one';
    else if (status === 401 || status === 403)
      message +=
        this.token === undefined
          ? '; no token was sent: set POOLSYNC_TOKEN (or POOLSYNC_TOKEN_FILE), or pass --token-file FILE'
          : '; the token was refused: check the token in POOLSYNC_TOKEN / POOLSYNC_TOKEN_FILE / --token-file is the one of this control plane';
    return new ControlPlaneError(
      code,
      message,
      typeof payload.address === 'string' ? payload.address : null,
      typeof payload.rule === 'string' ? payload.rule : null,
    );
  }

  private page<T>(path: string, token: string | null, shard: Shard): Promise<Page<T>> {
    let query = `?limit=${this.pageSize}`;
    if (token) query += `&page_token=${encodeURIComponent(token)}`;
    if (shard) query += `&shards=${shard.count}&shard=${shard.index}`;
    return this.read('GET', `${path}${query}`, PAGES[path]!);
  }

  /** One page chain from `token` to its end; false when the server ignored `shard`. */
  private async chain<T>(path: string, token: string | null, shard: Shard, into: T[]) {
    const seen = new Set<string>();
    do {
      // A token given again would be read again without end, the list growing each time.
      if (token !== null && seen.has(token))
        throw this.misshapen(
          path,
          'answer.next_page_token was given before: its pages would be read without end',
        );
      if (token !== null) seen.add(token);
      const page: Page<T> = await this.page<T>(path, token, shard);
      // A server that ignores `shards` answers the whole list: not a shard of it.
      if (shard && page.shard?.count !== shard.count) return false;
      for (const item of page.items) into.push(item);
      token = page.next_page_token;
    } while (token);
    return true;
  }

  /**
   * A whole list, sorted by key as the API sorts it. The first page is read alone (most lists
   * fit one); the rest as `listShards` shard chains at once, merged: 50,000 queues take 1 +
   * ⌈45,000 ÷ (shards × page)⌉ round trips in a row instead of 10.
   */
  private async list<T>(path: string, keyOf: (item: T) => string): Promise<T[]> {
    const first = await this.page<T>(path, null, null);
    const after = first.next_page_token;
    if (!after) return first.items;
    const rest: T[] = [];
    const remainingPages =
      typeof first.total === 'number'
        ? Math.ceil((first.total - first.items.length) / this.pageSize)
        : Infinity;
    const count = Math.max(1, Math.min(this.listShards, remainingPages));
    const sharded =
      count > 1 &&
      (
        await Promise.all(
          Array.from({ length: count }, (_, index) =>
            this.chain(path, after, { index, count }, rest),
          ),
        )
      ).every(Boolean);
    if (!sharded) {
      rest.length = 0;
      await this.chain(path, after, null, rest);
      return [...first.items, ...rest];
    }
    const keyed = rest.map((item) => [keyOf(item), item] as const);
    keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return [...first.items, ...keyed.map(([, item]) => item)];
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

const byName = (item: { name: string }): string => item.name;

const seg = encodeURIComponent;

/**
 * An earlier server refusing this build's inventory (400, "… reads format 1", its words since
 * 25 Nov 2026): said as what to upgrade, since writing its format would lose what later ones
 * record (docs/versioning.md, Upgrade order).
 */
function olderServer(err: unknown, where: string): OlderReaderError | null {
  if (!(err instanceof ControlPlaneError) || err.code !== 'INVALID_ARGUMENT') return null;
  const reads = /\breads format (\d+)\b/.exec(err.message)?.[1];
  if (reads === undefined || Number(reads) >= INVENTORY_FORMAT) return null;
  return new OlderReaderError(
    `${where} is served by an earlier poolsync, which reads inventory format ${reads}; this poolsync (${packageVersion()}) writes format ${INVENTORY_FORMAT}, which records ${lostBelow(Number(reads))}: upgrade the control plane's poolsync serve first, then its clients (docs/versioning.md, Upgrade order)`,
  );
}

/**
 * A poolsync daemon's 404 lists its endpoints (src/daemon/http.ts): `/status`, and
 * `/control-plane/v1/…` when it serves its embedded control plane (the quickstart).
 */
function daemonWords(url: string, body: ErrorBody): string | null {
  const { endpoints } = body;
  if (!Array.isArray(endpoints) || !endpoints.includes('/status')) return null;
  const api = endpoints.find((e): e is string => typeof e === 'string' && e.endsWith('/v1/…'));
  const daemon = `: ${url} is a poolsync daemon (its address is for --daemon), not a control-plane API`;
  if (api === undefined)
    return `${daemon}, and this daemon serves none (only \`poolsync daemon --quickstart\` serves its embedded one): give --control-plane the control plane the daemon reconciles (its own --control-plane)`;
  const served = `${url}${api.slice(0, -'/v1/…'.length)}`;
  return `${daemon}; it serves its embedded control plane at ${served}: use --control-plane ${served} with the daemon's admin token (--token-file .poolsync/admin-token in the quickstart's folder, or POOLSYNC_TOKEN)`;
}
