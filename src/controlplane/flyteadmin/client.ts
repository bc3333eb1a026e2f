/**
 * The flyteadmin backend (`flyteadmin+https://HOST`): poolsync's ControlPlane over flyteadmin's
 * REST gateway (real-apis.md §2). flyteadmin keeps matchable attributes, not pools, clusters
 * or queues, so:
 *  - PoolAssignment ↔ CLUSTER_ASSIGNMENT (`cluster_assignment.cluster_pool_name`, Union
 *    self-managed's `uctl update cluster-pool-attributes`);
 *  - ExecutionClusterLabel ↔ EXECUTION_CLUSTER_LABEL (`flytectl update execution-cluster-label`);
 *  - both read through `GET /api/v1/matchable_attributes?resource_type=…`, written through
 *    `PUT|DELETE /api/v1/project_domain_attributes/{project}/{domain}` and
 *    `/api/v1/workflow_attributes/{project}/{domain}/{workflow}`;
 *  - pools, clusters and queues list as empty (flyteadmin has none), and every other call is
 *    refused with FAILED_PRECONDITION naming the backend. ExecutionCluster, ClusterLabel,
 *    ClusterPool and Cluster are configuration (Helm values, Union's pool mapping): the plan
 *    leaves them out and `poolsync render` writes them.
 * Only project-domain and project-domain-workflow attributes are read: project-wide, global
 * and launch-plan attributes are not poolsync's to manage and are left alone.
 */
import { Pool, type Dispatcher } from 'undici';
import {
  BASELINE_CAPABILITIES,
  address,
  assignmentKeyString,
  type Assignment,
  type AssignmentKey,
  type Capabilities,
  type PoolContract,
  type QueueSpec,
} from '../../model/common.js';
import type { ExecutionClusterLabel } from '../../model/flyte.js';
import type {
  LiveAssignment,
  LiveCluster,
  LiveDefaultQueue,
  LivePool,
  LiveQueue,
  QueueMetrics,
} from '../../model/live.js';
import { backoffDelay, retryDelayMs } from '../../util/backoff.js';
import { ControlPlaneError, kindUnsupported, type ControlPlaneErrorCode } from '../errors.js';
import type {
  BackendInfo,
  ControlPlane,
  CreateQueueRequest,
  RegisterClusterRequest,
} from '../types.js';
import { FlyteTokenSource, type ClientCredentials } from './auth.js';

export interface FlyteadminOptions {
  /** OAuth2 client credentials; null or absent: no auth (flyteadmin with useAuth off). */
  credentials?: ClientCredentials | null;
  requestTimeoutMs?: number;
  /** Retries after the first attempt of a transient failure (429, 5xx, connection errors). */
  maxRetries?: number;
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
}

const BACKEND = 'flyteadmin';

/** gRPC status code (grpc-gateway's error body `code`) → ControlPlaneError code. */
const GRPC_CODES: Record<number, ControlPlaneErrorCode> = {
  3: 'INVALID_ARGUMENT',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'UNAUTHENTICATED',
  9: 'FAILED_PRECONDITION',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};
const TRANSIENT_STATUS = [429, 500, 502, 503, 504];

type ResourceType = 'EXECUTION_CLUSTER_LABEL' | 'CLUSTER_ASSIGNMENT';

interface Configuration {
  attributes?: {
    execution_cluster_label?: { value?: string };
    cluster_assignment?: { cluster_pool_name?: string };
  };
  project?: string;
  domain?: string;
  workflow?: string;
  launch_plan?: string;
}

export function unsupported(what: string, objectAddress: string | null = null): ControlPlaneError {
  return new ControlPlaneError(
    'FAILED_PRECONDITION',
    `the ${BACKEND} backend cannot ${what}: flyteadmin has no API for it (pools and clusters are configuration: see \`poolsync render\`)`,
    objectAddress,
  );
}

export class FlyteadminControlPlane implements ControlPlane {
  readonly backend: BackendInfo = {
    name: BACKEND,
    kinds: ['PoolAssignment', 'ExecutionClusterLabel'],
    configKinds: ['ExecutionCluster', 'ClusterLabel', 'ClusterPool', 'Cluster'],
  };
  private readonly pool: Pool;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly auth: FlyteTokenSource | null;
  private readonly maxRetries: number;
  private readonly minRetryDelayMs: number;
  private readonly maxRetryDelayMs: number;

  /** `baseUrl` is the http(s) URL of flyteadmin (without the `flyteadmin+` prefix). */
  constructor(baseUrl: string, opts: FlyteadminOptions = {}) {
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    const timeout = opts.requestTimeoutMs ?? 30_000;
    this.maxRetries = opts.maxRetries ?? 6;
    this.minRetryDelayMs = opts.minRetryDelayMs ?? 100;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 10_000;
    this.pool = new Pool(this.origin, {
      connections: 16,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      keepAliveTimeout: 30_000,
    });
    this.auth = opts.credentials
      ? new FlyteTokenSource(this.origin, opts.credentials, timeout)
      : null;
  }

  get url(): string {
    return `flyteadmin+${this.origin}${this.basePath}`;
  }

  /** One call with retries of transient failures and one token refresh on 401. */
  private async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (this.auth) {
        let auth: [string, string];
        try {
          auth = await this.auth.header();
        } catch (err) {
          // A token endpoint that did not answer (or whose answer was cut off) is transient.
          const transient = err instanceof ControlPlaneError && err.code === 'UNAVAILABLE';
          if (!transient || attempt >= this.maxRetries) throw err;
          await sleep(backoffDelay(attempt + 1, this.minRetryDelayMs, this.maxRetryDelayMs));
          continue;
        }
        headers[auth[0]] = auth[1];
      }
      let res: Dispatcher.ResponseData;
      try {
        res = await this.pool.request({
          path: `${this.basePath}${path}`,
          method,
          headers,
          body: body === undefined ? null : JSON.stringify(body),
        });
      } catch (err) {
        if (attempt < this.maxRetries) {
          await sleep(backoffDelay(attempt + 1, this.minRetryDelayMs, this.maxRetryDelayMs));
          continue;
        }
        const reason = (err as { code?: string }).code ?? (err as Error).message;
        throw new ControlPlaneError(
          'UNAVAILABLE',
          `${method} ${this.origin}${this.basePath}${path}: cannot reach flyteadmin (${reason}, after ${this.maxRetries} retries)`,
        );
      }
      // A body cut off after the headers (reset, closed short of its Content-Length, timeout)
      // or a 2xx body that is not JSON is transient like any network failure: retried.
      let text: string | null = null;
      let problem: string;
      try {
        text = await res.body.text();
        problem = `HTTP ${res.statusCode} with a body that is not JSON`;
      } catch (err) {
        problem = `body cut off: ${(err as { code?: string }).code ?? (err as Error).message}`;
      }
      if (text !== null && res.statusCode >= 200 && res.statusCode < 300) {
        try {
          return (text === '' ? {} : JSON.parse(text)) as T;
        } catch {
          // reported below
        }
      }
      if (text === null || (res.statusCode >= 200 && res.statusCode < 300)) {
        if (attempt < this.maxRetries) {
          await sleep(backoffDelay(attempt + 1, this.minRetryDelayMs, this.maxRetryDelayMs));
          continue;
        }
        throw new ControlPlaneError(
          'UNAVAILABLE',
          `${method} ${path}: flyteadmin's answer could not be read (${problem}), still failing after ${this.maxRetries} retries`,
        );
      }
      if (res.statusCode === 401 && this.auth && !refreshed) {
        refreshed = true;
        this.auth.invalidate();
        continue;
      }
      if (TRANSIENT_STATUS.includes(res.statusCode) && attempt < this.maxRetries) {
        await sleep(
          retryDelayMs(
            attempt + 1,
            res.headers['retry-after'] as string | undefined,
            this.minRetryDelayMs,
            this.maxRetryDelayMs,
          ),
        );
        continue;
      }
      throw this.apiError(method, path, res.statusCode, text);
    }
  }

  private apiError(method: string, path: string, status: number, text: string): ControlPlaneError {
    let payload: { code?: unknown; message?: unknown } = {};
    try {
      payload = JSON.parse(text) as typeof payload;
    } catch {
      // A proxy page, say: the status tells what we know.
    }
    const code =
      (typeof payload.code === 'number' ? GRPC_CODES[payload.code] : undefined) ??
      (status === 401 || status === 403
        ? 'UNAUTHENTICATED'
        : status === 404
          ? 'NOT_FOUND'
          : status >= 500
            ? 'UNAVAILABLE'
            : 'INVALID_ARGUMENT');
    const detail = typeof payload.message === 'string' ? payload.message : `HTTP ${status}`;
    const hint =
      code === 'UNAUTHENTICATED'
        ? this.auth
          ? ' (the token was refused: check the client id and secret and their scopes)'
          : ' (flyteadmin requires authentication: set POOLSYNC_FLYTE_CLIENT_ID and POOLSYNC_FLYTE_CLIENT_SECRET_FILE)'
        : '';
    return new ControlPlaneError(code, `flyteadmin ${method} ${path}: ${detail}${hint}`);
  }

  private async listAttributes(type: ResourceType): Promise<Configuration[]> {
    const res = await this.call<{ configurations?: Configuration[] }>(
      'GET',
      `/api/v1/matchable_attributes?resource_type=${type}`,
    );
    return (res.configurations ?? []).filter(
      (c) => (c.project ?? '') !== '' && (c.domain ?? '') !== '' && (c.launch_plan ?? '') === '',
    );
  }

  private attributesPath(key: AssignmentKey): string {
    const p = `${seg(key.project)}/${seg(key.domain)}`;
    return key.workflow === null || key.workflow === undefined
      ? `/api/v1/project_domain_attributes/${p}`
      : `/api/v1/workflow_attributes/${p}/${seg(key.workflow)}`;
  }

  private async put(key: AssignmentKey, matching: Record<string, unknown>): Promise<void> {
    const attributes: Record<string, unknown> = {
      project: key.project,
      domain: key.domain,
      ...(key.workflow !== null && key.workflow !== undefined ? { workflow: key.workflow } : {}),
      matching_attributes: matching,
    };
    await this.call('PUT', this.attributesPath(key), { attributes });
  }

  private async remove(key: AssignmentKey, type: ResourceType): Promise<void> {
    const body: Record<string, unknown> = {
      project: key.project,
      domain: key.domain,
      ...(key.workflow !== null && key.workflow !== undefined ? { workflow: key.workflow } : {}),
      resource_type: type,
    };
    await this.call('DELETE', this.attributesPath(key), body);
  }

  capabilities(): Promise<Capabilities> {
    return Promise.resolve({ ...BASELINE_CAPABILITIES });
  }

  // flyteadmin knows no pools, clusters or queues: nothing live to compare with.
  async listPools(): Promise<LivePool[]> {
    return [];
  }
  async getPool(name: string): Promise<LivePool> {
    throw unsupported('read pools', address('ClusterPool', name));
  }
  async listClusters(): Promise<LiveCluster[]> {
    return [];
  }
  async getCluster(name: string): Promise<LiveCluster> {
    throw unsupported('read clusters', address('Cluster', name));
  }
  async listQueues(): Promise<LiveQueue[]> {
    return [];
  }
  async getQueue(name: string): Promise<LiveQueue> {
    throw unsupported('read queues', address('Queue', name));
  }
  async queueMetrics(name: string): Promise<QueueMetrics> {
    throw unsupported('read queue metrics', address('Queue', name));
  }
  async createPool(name: string, _contract: PoolContract): Promise<LivePool> {
    throw unsupported('create pools', address('ClusterPool', name));
  }
  async deletePool(name: string): Promise<void> {
    throw unsupported('delete pools', address('ClusterPool', name));
  }
  async registerCluster(request: RegisterClusterRequest): Promise<LiveCluster> {
    throw unsupported('register clusters', address('Cluster', request.name));
  }
  async updateCluster(name: string, _update: { enabled: boolean }): Promise<LiveCluster> {
    throw unsupported('update clusters', address('Cluster', name));
  }
  async deleteCluster(name: string): Promise<void> {
    throw unsupported('delete clusters', address('Cluster', name));
  }
  async createQueue(request: CreateQueueRequest): Promise<LiveQueue> {
    throw unsupported('create queues', address('Queue', request.name));
  }
  async updateQueue(name: string, _spec: QueueSpec): Promise<LiveQueue> {
    throw unsupported('update queues', address('Queue', name));
  }
  async drainQueue(name: string): Promise<LiveQueue> {
    throw unsupported('drain queues', address('Queue', name));
  }
  async activateQueue(name: string): Promise<LiveQueue> {
    throw unsupported('activate queues', address('Queue', name));
  }
  async deleteQueue(name: string): Promise<void> {
    throw unsupported('delete queues', address('Queue', name));
  }
  async moveCluster(name: string, _pool: string): Promise<LiveCluster> {
    throw unsupported('move clusters', address('Cluster', name));
  }
  async updatePool(name: string, _contract: PoolContract): Promise<LivePool> {
    throw unsupported('update pools', address('ClusterPool', name));
  }

  async listAssignments(): Promise<LiveAssignment[]> {
    return (await this.listAttributes('CLUSTER_ASSIGNMENT'))
      .filter((c) => (c.attributes?.cluster_assignment?.cluster_pool_name ?? '') !== '')
      .map((c) => ({
        project: c.project!,
        domain: c.domain!,
        workflow: c.workflow ? c.workflow : null,
        pool: c.attributes!.cluster_assignment!.cluster_pool_name!,
      }));
  }

  async setAssignment(assignment: Assignment): Promise<LiveAssignment> {
    await this.put(assignment, { cluster_assignment: { cluster_pool_name: assignment.pool } });
    return { ...assignment };
  }

  async deleteAssignment(key: AssignmentKey): Promise<void> {
    await this.remove(key, 'CLUSTER_ASSIGNMENT');
  }

  // Default-queue settings are Union v2's; flyteadmin routes by label and cluster assignment.
  async listDefaultQueues(): Promise<LiveDefaultQueue[]> {
    throw kindUnsupported(this.backend.name, 'DefaultQueue', null);
  }

  async setDefaultQueue(
    project: string,
    domain: string,
    _queue: string,
  ): Promise<LiveDefaultQueue> {
    throw kindUnsupported(this.backend.name, 'DefaultQueue', `DefaultQueue/${project}/${domain}`);
  }

  async deleteDefaultQueue(project: string, domain: string): Promise<void> {
    throw kindUnsupported(this.backend.name, 'DefaultQueue', `DefaultQueue/${project}/${domain}`);
  }

  async listExecutionClusterLabels(): Promise<ExecutionClusterLabel[]> {
    return (await this.listAttributes('EXECUTION_CLUSTER_LABEL'))
      .filter((c) => (c.attributes?.execution_cluster_label?.value ?? '') !== '')
      .map((c) => ({
        project: c.project!,
        domain: c.domain!,
        workflow: c.workflow ? c.workflow : null,
        label: c.attributes!.execution_cluster_label!.value!,
      }));
  }

  async setExecutionClusterLabel(label: ExecutionClusterLabel): Promise<ExecutionClusterLabel> {
    await this.put(label, { execution_cluster_label: { value: label.label } });
    return { ...label };
  }

  async deleteExecutionClusterLabel(key: AssignmentKey): Promise<void> {
    try {
      await this.remove(key, 'EXECUTION_CLUSTER_LABEL');
    } catch (err) {
      if (err instanceof ControlPlaneError && err.address === null) {
        throw new ControlPlaneError(
          err.code,
          err.message,
          address('ExecutionClusterLabel', assignmentKeyString(key)),
          err.rule,
        );
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
