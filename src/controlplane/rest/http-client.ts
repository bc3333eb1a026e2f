/**
 * HttpControlPlane: the ControlPlane interface over the control-plane REST API
 * (schemas/control-plane.openapi.yaml), through RestTransport (transport.ts: undici).
 *
 * One keep-alive connection pool per client. Transient failures (connection errors,
 * timeouts, 429, 5xx/UNAVAILABLE, a body cut off after its headers) are retried by one loop
 * (`call`): exponential backoff with jitter, honouring Retry-After. Because a retried write may have
 * landed the first time, a create answered ALREADY_EXISTS (or a delete answered NOT_FOUND)
 * *after a retry* is checked by reading the object back. The bearer token is only ever put
 * in the Authorization header: no message, log or error of this module contains it.
 */
import {
  DEFAULT_POOL,
  QUEUE_DEFAULTS,
  WILDCARD,
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
import { ControlPlaneError } from '../errors.js';
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
import type { InventoryRecord } from '../../model/inventory.js';
import { RestTransport, type Attempts, type HttpControlPlaneOptions } from './transport.js';

export { CONNECT_RETRIES, type HttpControlPlaneOptions } from './transport.js';

export class HttpControlPlane implements ControlPlane {
  readonly backend: BackendProfile = { name: 'poolsync REST API' };
  // The REST API's kinds (its default-queue settings and execution cluster labels are served
  // over Union's and flyteadmin's own protocols by the stand-ins instead).
  readonly pools: PoolCalls = this;
  readonly clusters: ClusterCalls = this;
  readonly queues: QueueCalls = this;
  readonly assignments: AssignmentCalls = this;
  readonly capabilityCalls: CapabilityCalls = this;
  private readonly http: RestTransport;

  constructor(baseUrl: string, opts: HttpControlPlaneOptions = {}) {
    this.http = new RestTransport(baseUrl, opts);
  }

  /** The control plane's address, for messages (never carries credentials). */
  get url(): string {
    return this.http.url;
  }

  /** The server's lease-style apply lock (PUT/DELETE/GET /v1/apply-lock). */
  /** The inventory the server keeps beside its state (GET/PUT /v1/inventory). */
  readonly inventory: InventoryCalls = {
    readInventory: async () =>
      (await this.http.call<{ inventory: InventoryRecord | null }>('GET', '/v1/inventory'))
        .inventory,
    writeInventory: async (record) => void (await this.http.call('PUT', '/v1/inventory', record)),
  };
  readonly applyLock: ApplyLockProvider = {
    acquireApplyLock: (request) => this.http.call('PUT', '/v1/apply-lock', request),
    releaseApplyLock: (id) => this.http.call('DELETE', '/v1/apply-lock', { id }),
    getApplyLock: async () =>
      (await this.http.call<{ lock: ApplyLockLease | null }>('GET', '/v1/apply-lock')).lock,
  };

  capabilities(): Promise<Capabilities> {
    return this.http.call('GET', '/v1/capabilities');
  }

  listPools(): Promise<LivePool[]> {
    return this.http.list<LivePool>('/v1/pools', byName);
  }

  getPool(name: string): Promise<LivePool> {
    return this.http.call('GET', `/v1/pools/${seg(name)}`);
  }

  listClusters(): Promise<LiveCluster[]> {
    return this.http.list<LiveCluster>('/v1/clusters', byName);
  }

  getCluster(name: string): Promise<LiveCluster> {
    return this.http.call('GET', `/v1/clusters/${seg(name)}`);
  }

  listQueues(): Promise<LiveQueue[]> {
    return this.http.list<LiveQueue>('/v1/queues', byName);
  }

  getQueue(name: string): Promise<LiveQueue> {
    return this.http.call('GET', `/v1/queues/${seg(name)}`);
  }

  listAssignments(): Promise<LiveAssignment[]> {
    return this.http.list<LiveAssignment>('/v1/assignments', assignmentKeyString);
  }

  queueMetrics(name: string): Promise<QueueMetrics> {
    return this.http.call('GET', `/v1/queues/${seg(name)}/metrics`);
  }

  /**
   * A create whose earlier attempt may have landed: on ALREADY_EXISTS after a retry, succeed
   * when the object read back is what was asked for.
   */
  private async create<T>(
    path: string,
    body: unknown,
    readBack: () => Promise<T>,
    matches: (live: T) => boolean,
  ): Promise<T> {
    const attempts: Attempts = { retried: false };
    try {
      return await this.http.call<T>('POST', path, body, attempts);
    } catch (err) {
      if (attempts.retried && err instanceof ControlPlaneError && err.code === 'ALREADY_EXISTS') {
        const live = await readBack();
        if (matches(live)) return live;
      }
      throw err;
    }
  }

  /** A delete whose earlier attempt may have landed: NOT_FOUND after a retry is success. */
  private async remove(path: string): Promise<void> {
    const attempts: Attempts = { retried: false };
    try {
      await this.http.call('DELETE', path, undefined, attempts);
    } catch (err) {
      if (attempts.retried && err instanceof ControlPlaneError && err.code === 'NOT_FOUND') return;
      throw err;
    }
  }

  createPool(name: string, contract: PoolContract): Promise<LivePool> {
    return this.create(
      '/v1/pools',
      { name, contract },
      () => this.getPool(name),
      (live) => sameJson(live.contract, normaliseContract(contract)),
    );
  }

  deletePool(name: string): Promise<void> {
    return this.remove(`/v1/pools/${seg(name)}`);
  }

  registerCluster(request: RegisterClusterRequest): Promise<LiveCluster> {
    return this.create(
      '/v1/clusters',
      request,
      () => this.getCluster(request.name),
      (live) => live.pool === (request.pool ?? DEFAULT_POOL),
    );
  }

  updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster> {
    return this.http.call('PATCH', `/v1/clusters/${seg(name)}`, update);
  }

  deleteCluster(name: string): Promise<void> {
    return this.remove(`/v1/clusters/${seg(name)}`);
  }

  createQueue(request: CreateQueueRequest): Promise<LiveQueue> {
    const wanted: QueueSpec = {
      pool: request.pool ?? DEFAULT_POOL,
      clusters: request.clusters ?? [WILDCARD],
      run_concurrency: request.run_concurrency,
      action_concurrency: request.action_concurrency,
      depth: request.depth ?? QUEUE_DEFAULTS.depth,
      priority: request.priority ?? QUEUE_DEFAULTS.priority,
      fairness: request.fairness ?? QUEUE_DEFAULTS.fairness,
    };
    return this.create(
      '/v1/queues',
      request,
      () => this.getQueue(request.name),
      (live) => !live.cluster_managed && sameJson(specOf(live), wanted),
    );
  }

  updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue> {
    return this.http.call('PUT', `/v1/queues/${seg(name)}`, spec);
  }

  // Capability calls: the server refuses them (FAILED_PRECONDITION, C9/Q6/C7/P4) when off.
  drainQueue(name: string): Promise<LiveQueue> {
    return this.http.call('POST', `/v1/queues/${seg(name)}/drain`, {});
  }

  activateQueue(name: string): Promise<LiveQueue> {
    return this.http.call('POST', `/v1/queues/${seg(name)}/activate`, {});
  }

  deleteQueue(name: string): Promise<void> {
    return this.remove(`/v1/queues/${seg(name)}`);
  }

  moveCluster(name: string, pool: string): Promise<LiveCluster> {
    return this.http.call('POST', `/v1/clusters/${seg(name)}/move`, { pool });
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
    return this.remove(`/v1/assignments?${q.toString()}`).catch((err: unknown) => {
      // Keep the key in the message even when the server's body was lost.
      if (err instanceof ControlPlaneError && err.address === null) {
        throw new ControlPlaneError(
          err.code,
          err.message,
          `PoolAssignment/${assignmentKeyString(key)}`,
          err.rule,
        );
      }
      throw err;
    });
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

const byName = (item: { name: string }): string => item.name;

function seg(name: string): string {
  return encodeURIComponent(name);
}

function specOf(q: LiveQueue): QueueSpec {
  const { pool, clusters, run_concurrency, action_concurrency, depth, priority, fairness } = q;
  return { pool, clusters, run_concurrency, action_concurrency, depth, priority, fairness };
}

function normaliseContract(c: PoolContract): PoolContract {
  return {
    object_store_ref: { uri: c.object_store_ref.uri, endpoint: c.object_store_ref.endpoint ?? '' },
    secret_store: { type: c.secret_store.type, locator: c.secret_store.locator },
    image_registry: c.image_registry ? { locator: c.image_registry.locator } : null,
  };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
