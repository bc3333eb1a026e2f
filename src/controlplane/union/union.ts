/**
 * The `union` backend: poolsync's ControlPlane over Union's own API (Connect by default, gRPC
 * with `?protocol=grpc`), authenticated by an API key through OAuth2 client credentials.
 *
 * Round trips: lists are read in pages of `pageSize`; the list calls readLiveState makes in
 * parallel share one ListClusters and one ListQueues sweep (in-flight reads are shared).
 * What Union has no public RPC for throws `noPublicApi` naming the `flyte` command; the same
 * command is offered to the planner through `backend.manualStep` (manual.ts).
 */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import type { Capabilities, PoolContract, QueueSpec } from '../../model/common.js';
import { address } from '../../model/common.js';
import type {
  LiveCluster,
  LiveDefaultQueue,
  LivePool,
  LiveQueue,
  QueueMetrics,
} from '../../model/live.js';
import { ClusterService } from '../../gen/cloudidl/cluster/cluster_pb.js';
import type { Cluster } from '../../gen/cloudidl/cluster/definition_pb.js';
import { QueueService, QueueState, type Queue } from '../../gen/cloudidl/queue/queue_pb.js';
import { ProjectService } from '../../gen/flyteidl2/project/project_service_pb.js';
import { ControlPlaneError } from '../errors.js';
import type {
  BackendProfile,
  CapabilityCalls,
  ClusterCalls,
  ControlPlane,
  CreateQueueRequest,
  DefaultQueueCalls,
  PoolCalls,
  QueueCalls,
  RegisterClusterRequest,
} from '../types.js';
import {
  FLYTE_API_KEY_ENV,
  noPublicApi,
  unionManual,
  unionManualStep,
  type CliTarget,
  type UnionManual,
} from './manual.js';
import {
  clusterFromPb,
  clusterName,
  createSpec,
  poolsFrom,
  queueFromPb,
  selfSelecting,
  withManagedFields,
} from './mapping.js';
import { firstQueueMetrics } from './metrics.js';
import { createQueueOnce } from './queue-create.js';
import { DefaultQueueSettings } from './settings.js';
import { SharedReads, sweep } from './sweeps.js';
import type { Reach } from '../../util/reach.js';
import {
  DEFAULT_RETRY,
  isCode,
  withRetry,
  type CallState,
  type RetryPolicy,
  type UnionRetry,
} from './transport.js';

export interface UnionControlPlaneOptions {
  transport: Transport;
  org: string;
  /** For messages: `union+https://acme.hosted.unionai.cloud`. */
  url: string;
  retry?: RetryPolicy;
  /** Whether Union has answered yet (shared with OAuth2 discovery: util/reach.ts). */
  reach?: Reach;
  /** Items per list page. */
  pageSize?: number;
  /** Closes what the transport holds (HTTP/2 sessions). */
  onClose?: () => void;
  /** Where the `flyte` commands of manual steps go (this org and endpoint) and get the key. */
  cli: CliTarget;
  /** The API key as given (base64), for the flyte CLI's environment (`--flyte-cli`). */
  apiKey: string;
}

const QUEUES = 'cloudidl.queue.QueueService';
const CLUSTERS = 'cloudidl.cluster.ClusterService';

export class UnionControlPlane implements ControlPlane {
  readonly backend: BackendProfile;
  // Union v2 has no pool assignments (a DefaultQueue per project/domain replaces them) and no
  // execution cluster labels (flyteadmin attributes); pool and cluster writes and queue deletes
  // have no public API: their calls throw noPublicApi and the planner marks them manual.
  readonly pools: PoolCalls = this;
  readonly clusters: ClusterCalls = this;
  readonly queues: QueueCalls = this;
  readonly defaultQueues: DefaultQueueCalls = this;
  readonly capabilityCalls: CapabilityCalls = this;
  readonly org: string;
  private readonly manual: UnionManual;
  private readonly apiKey: string;
  readonly url: string;
  readonly organization: string;
  private readonly queueService: Client<typeof QueueService>;
  private readonly clusterService: Client<typeof ClusterService>;
  private readonly settings: DefaultQueueSettings;
  private readonly retry: UnionRetry;
  private readonly pageSize: number;
  private readonly onClose: (() => void) | undefined;
  private readonly reads = new SharedReads();

  constructor(opts: UnionControlPlaneOptions) {
    this.manual = unionManual(opts.cli);
    this.apiKey = opts.apiKey;
    this.backend = {
      name: 'union',
      manualStep: unionManualStep(this.manual),
    };
    this.org = this.organization = opts.org;
    this.url = opts.url;
    this.retry = {
      ...(opts.retry ?? DEFAULT_RETRY),
      ...(opts.reach ? { reach: opts.reach } : {}),
      origin: new URL(opts.url.replace(/^union\+/, '')).origin,
    };
    this.pageSize = opts.pageSize ?? 1000;
    this.onClose = opts.onClose;
    this.queueService = createClient(QueueService, opts.transport);
    this.clusterService = createClient(ClusterService, opts.transport);
    this.settings = new DefaultQueueSettings({
      org: this.org,
      transport: opts.transport,
      projects: createClient(ProjectService, opts.transport),
      retry: this.retry,
      pageSize: this.pageSize,
      queueExists: async (name) => {
        await this.getQueue(name);
      },
    });
  }

  /** `idempotent`: a write that may be sent again (transport.ts); reads always may. */
  private call<T>(
    rpc: string,
    addr: string | null,
    fn: (s: CallState) => Promise<T>,
    idempotent?: boolean,
  ): Promise<T> {
    const info = { rpc, address: addr, org: this.org, ...(idempotent ? { idempotent } : {}) };
    return withRetry(info, this.retry, fn);
  }

  private rawQueues(): Promise<Queue[]> {
    return this.reads.get('queues', () =>
      sweep(async (token) => {
        const res = await this.call(`${QUEUES}/ListQueues`, null, () =>
          this.queueService.listQueues({
            organization: this.org,
            request: { limit: this.pageSize, token },
          }),
        );
        return { items: res.queues, token: res.token };
      }),
    );
  }

  private rawClusters(): Promise<Cluster[]> {
    return this.reads.get('clusters', () =>
      sweep(async (token) => {
        const res = await this.call(`${CLUSTERS}/ListClusters`, null, () =>
          this.clusterService.listClusters({
            organization: this.org,
            request: { limit: this.pageSize, token },
          }),
        );
        return { items: res.clusters, token: res.token };
      }),
    );
  }

  private async liveQueuesAndClusters(): Promise<[LiveQueue[], Cluster[]]> {
    const [queues, clusters] = await Promise.all([this.rawQueues(), this.rawClusters()]);
    const names = new Set(clusters.map(clusterName));
    return [queues.map((q) => queueFromPb(q, names)), clusters];
  }

  async capabilities(): Promise<Capabilities> {
    // All exist in the product (real-apis.md: Union's docs, 2026). drain and queue_move go
    // through the API (UpdateQueueState; UpdateQueue naming the new cluster_pool_name of a
    // drained queue); the others are planned as manual steps (backend.manualStep).
    return {
      drain: true,
      queue_delete: true,
      pool_update: true,
      cluster_move: true,
      queue_move: true,
    };
  }

  async listPools(): Promise<LivePool[]> {
    const [queues, clusters] = await this.liveQueuesAndClusters();
    return poolsFrom(clusters, queues);
  }

  async getPool(name: string): Promise<LivePool> {
    const pool = (await this.listPools()).find((p) => p.name === name);
    if (!pool) {
      throw new ControlPlaneError(
        'NOT_FOUND',
        `${address('ClusterPool', name)}: no cluster or queue of organisation "${this.org}" names this pool (Union's public API shows pools only through them)`,
        address('ClusterPool', name),
      );
    }
    return pool;
  }

  async listClusters(): Promise<LiveCluster[]> {
    const [queues, clusters] = await this.liveQueuesAndClusters();
    return clusters.map((c) => clusterFromPb(c, queues));
  }

  async getCluster(name: string): Promise<LiveCluster> {
    const addr = address('Cluster', name);
    const [res, queues] = await Promise.all([
      this.call(`${CLUSTERS}/GetCluster`, addr, () =>
        this.clusterService.getCluster({ clusterId: { organization: this.org, name } }),
      ),
      this.rawQueues(),
    ]);
    if (!res.cluster) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    return clusterFromPb(
      res.cluster,
      queues.map((q) => queueFromPb(q, new Set([name]))),
    );
  }

  async listQueues(): Promise<LiveQueue[]> {
    return (await this.liveQueuesAndClusters())[0];
  }

  async getQueue(name: string): Promise<LiveQueue> {
    const addr = address('Queue', name);
    const res = await this.call(`${QUEUES}/GetQueue`, addr, () =>
      this.queueService.getQueue({ id: { organization: this.org, name } }),
    );
    return this.liveQueue(res.queue, addr);
  }

  /** A queue Union sent back: no further call (a GetCluster per write would be one per queue). */
  private liveQueue(q: Queue | undefined, addr: string): LiveQueue {
    if (!q) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    return queueFromPb(q, selfSelecting(q));
  }

  /** Q7 through WatchQueueMetrics (metrics.ts). */
  async queueMetrics(name: string): Promise<QueueMetrics> {
    const queue = await this.getQueue(name);
    return this.call(`${QUEUES}/WatchQueueMetrics`, address('Queue', name), () =>
      firstQueueMetrics(this.queueService, this.org, queue),
    );
  }

  createPool(name: string, contract: PoolContract): Promise<LivePool> {
    return Promise.reject(
      noPublicApi(address('ClusterPool', name), this.manual.createPool(name, contract)),
    );
  }

  updatePool(name: string, contract: PoolContract): Promise<LivePool> {
    return Promise.reject(
      noPublicApi(address('ClusterPool', name), this.manual.updatePool(name, contract)),
    );
  }

  deletePool(name: string): Promise<void> {
    return Promise.reject(noPublicApi(address('ClusterPool', name), this.manual.deletePool(name)));
  }

  registerCluster(request: RegisterClusterRequest): Promise<LiveCluster> {
    const m = this.manual.registerCluster(request.name, request.pool ?? 'default');
    return Promise.reject(noPublicApi(address('Cluster', request.name), m));
  }

  updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster> {
    const m = this.manual.updateCluster(name, update.enabled);
    return Promise.reject(noPublicApi(address('Cluster', name), m));
  }

  moveCluster(name: string, pool: string): Promise<LiveCluster> {
    return Promise.reject(
      noPublicApi(address('Cluster', name), this.manual.moveCluster(name, pool)),
    );
  }

  async deleteCluster(name: string): Promise<void> {
    const addr = address('Cluster', name);
    await this.call(
      `${CLUSTERS}/DeleteCluster`,
      addr,
      async (state) => {
        try {
          await this.clusterService.deleteCluster({ clusterId: { organization: this.org, name } });
        } catch (err) {
          // A retried delete whose first attempt landed finds nothing to delete: done.
          if (state.retried && isCode(err, 'NotFound')) return;
          throw err;
        }
      },
      true,
    );
  }

  async createQueue(request: CreateQueueRequest): Promise<LiveQueue> {
    const addr = address('Queue', request.name);
    const spec = createSpec(request);
    const res = await this.call(
      `${QUEUES}/CreateQueue`,
      addr,
      (state) => createQueueOnce(this.queueService, this.org, request.name, spec, state.retried),
      true,
    ); // a retry that finds the queue reads it back
    return this.liveQueue(res.queue, addr);
  }

  /**
   * Q3: UpdateQueue replaces the whole spec, so it is a read-modify-write: GetQueue, the 7
   * fields poolsync manages set from `spec`, every other field written back as Union sent it,
   * including those poolsync's .proto does not declare (kept as protobuf unknown fields; the
   * transport is binary, which carries them: transport.ts). Union has no version on queues, so a
   * change another writer makes between the read and the write is lost (docs/union.md).
   * With `queue_move`, a new pool in `spec` moves a drained queue (its cluster_pool_name).
   */
  async updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue> {
    const addr = address('Queue', name);
    const id = { organization: this.org, name };
    const current = await this.call(`${QUEUES}/GetQueue`, addr, () =>
      this.queueService.getQueue({ id }),
    );
    if (!current.queue) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    const merged = withManagedFields(current.queue.spec, spec);
    // The whole spec: sent again, the same queue.
    const res = await this.call(
      `${QUEUES}/UpdateQueue`,
      addr,
      () => this.queueService.updateQueue({ id, spec: merged }),
      true,
    );
    return this.liveQueue(res.queue, addr);
  }

  drainQueue(name: string): Promise<LiveQueue> {
    return this.setQueueState(name, QueueState.DRAINING);
  }

  activateQueue(name: string): Promise<LiveQueue> {
    return this.setQueueState(name, QueueState.ACTIVE);
  }

  private async setQueueState(name: string, state: QueueState): Promise<LiveQueue> {
    const addr = address('Queue', name);
    // Setting a state twice is setting it once.
    const res = await this.call(
      `${QUEUES}/UpdateQueueState`,
      addr,
      () => this.queueService.updateQueueState({ id: { organization: this.org, name }, state }),
      true,
    );
    return this.liveQueue(res.queue, addr);
  }

  deleteQueue(name: string): Promise<void> {
    return Promise.reject(noPublicApi(address('Queue', name), this.manual.deleteQueue(name)));
  }

  listDefaultQueues(): Promise<LiveDefaultQueue[]> {
    return this.settings.list();
  }

  setDefaultQueue(project: string, domain: string, queue: string): Promise<LiveDefaultQueue> {
    return this.settings.set(project, domain, queue);
  }

  deleteDefaultQueue(project: string, domain: string): Promise<void> {
    return this.settings.delete(project, domain);
  }

  /** `apply --flyte-cli`: the flyte CLI reads the API key from FLYTE_API_KEY, never argv. */
  manualCommandEnv(): Record<string, string> {
    return { [FLYTE_API_KEY_ENV]: this.apiKey };
  }

  async close(): Promise<void> {
    this.onClose?.();
  }
}
