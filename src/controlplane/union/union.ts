/**
 * The `union` backend: poolsync's ControlPlane over Union's own API (Connect by default, gRPC
 * with `?protocol=grpc`), authenticated by an API key through OAuth2 client credentials.
 * Every operation goes through the API (definitions: proto/, from the flyteplugins-union
 * wheel): queues (queue-lifecycle.ts for deletes and undeletes), clusters (cluster-writes.ts)
 * and cluster pools (pools.ts); no step of this backend is manual.
 *
 * Round trips: lists are read in pages of `pageSize`; the list calls readLiveState makes in
 * parallel share one ListClusters and one ListQueues sweep (in-flight reads are shared).
 */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { ClusterPoolService } from '../../gen/cloudidl/clusterpool/clusterpool_pb.js';
import type { Capabilities, PoolContract, QueueSpec } from '../../model/common.js';
import { address } from '../../model/common.js';
import type {
  LiveCluster,
  LiveDefaultQueue,
  LiveScopedDefaultQueue,
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
import type { Call } from './calls.js';
import { UnionClusterWrites, isDeleting } from './cluster-writes.js';
import { UnionPools } from './pools.js';
import { UnionQueueLifecycle } from './queue-lifecycle.js';
import { RPC } from './rpcs.js';
import {
  clusterFromPb,
  clusterName,
  createSpec,
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
}

/**
 * What Union does through its API: drain (UpdateQueueState), queue_delete (DeleteQueue of a
 * DRAINED queue), pool_update (ClusterPoolService/Update), cluster_move (UpdateCluster naming the
 * new pool), queue_move (UpdateQueue naming the new cluster_pool_name of a drained queue).
 * Deletes are soft: a deleted queue keeps its name until UndeleteQueue. `default` can be drained
 * and deleted like any other queue (remote/_queue.py). A cluster another queue pins is drained,
 * moved or deleted only once unpinned (unpin_first, remote/_cluster.py).
 */
export const UNION_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  drain: true,
  queue_delete: true,
  pool_update: true,
  cluster_move: true,
  queue_move: true,
  soft_delete: true,
  default_delete: true,
  unpin_first: true,
});

export class UnionControlPlane implements ControlPlane {
  readonly backend: BackendProfile;
  // Union v2 has no pool assignments (a DefaultQueue per project/domain replaces them:
  // backend.replacedKinds) and no execution cluster labels (flyteadmin attributes).
  readonly pools: PoolCalls = this;
  readonly clusters: ClusterCalls = this;
  readonly queues: QueueCalls = this;
  readonly defaultQueues: DefaultQueueCalls = this;
  readonly capabilityCalls: CapabilityCalls = this;
  readonly org: string;
  private readonly poolCalls: UnionPools;
  private readonly clusterWrites: UnionClusterWrites;
  private readonly lifecycle: UnionQueueLifecycle;
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
    this.backend = {
      name: 'union',
      queueCaps: true,
      replacedKinds: { PoolAssignment: 'DefaultQueue' },
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
    const call: Call = (rpc, addr, fn) => this.call(rpc, addr, fn);
    this.poolCalls = new UnionPools(
      createClient(ClusterPoolService, opts.transport),
      this.org,
      call,
      this.pageSize,
    );
    this.clusterWrites = new UnionClusterWrites(this.clusterService, this.org, call);
    this.lifecycle = new UnionQueueLifecycle(this.queueService, this.org, call, this.pageSize);
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

  /** One RPC (rpcs.ts: its name and whether it may be sent again) with retries (transport.ts). */
  private call<T>(
    rpc: keyof typeof RPC,
    addr: string | null,
    fn: (s: CallState) => Promise<T>,
  ): Promise<T> {
    const { name, idempotent } = RPC[rpc];
    return withRetry({ rpc: name, address: addr, org: this.org, idempotent }, this.retry, fn);
  }

  private rawQueues(): Promise<Queue[]> {
    return this.reads.get('queues', () =>
      sweep(async (token) => {
        const res = await this.call('listQueues', null, () =>
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
        const res = await this.call('listClusters', null, () =>
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
    return { ...UNION_CAPABILITIES };
  }

  listPools(): Promise<LivePool[]> {
    return this.poolCalls.list();
  }

  getPool(name: string): Promise<LivePool> {
    return this.poolCalls.get(name);
  }

  /** The live clusters; one Union is DELETING is among the deleted ones (listDeletedClusters). */
  async listClusters(): Promise<LiveCluster[]> {
    const [queues, clusters] = await this.liveQueuesAndClusters();
    return clusters.filter((c) => !isDeleting(c)).map((c) => clusterFromPb(c, queues));
  }

  async getCluster(name: string): Promise<LiveCluster> {
    const addr = address('Cluster', name);
    const [res, queues] = await Promise.all([
      this.call('getCluster', addr, () =>
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
    const res = await this.call('getQueue', addr, () =>
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
    return this.call('watchQueueMetrics', address('Queue', name), () =>
      firstQueueMetrics(this.queueService, this.org, queue),
    );
  }

  createPool(name: string, contract: PoolContract): Promise<LivePool> {
    return this.poolCalls.create(name, contract);
  }

  updatePool(name: string, contract: PoolContract): Promise<LivePool> {
    return this.poolCalls.update(name, contract);
  }

  deletePool(name: string): Promise<void> {
    return this.poolCalls.delete(name);
  }

  listDeletedPools(): Promise<LivePool[]> {
    return this.poolCalls.listDeleted();
  }

  undeletePool(name: string): Promise<LivePool> {
    return this.poolCalls.undelete(name);
  }

  /** Soft-deleted clusters (`EXISTS deleted_at`), and those still DELETING (`deleting`). */
  async listDeletedClusters(): Promise<LiveCluster[]> {
    const [deleted, listed] = await Promise.all([
      this.clusterWrites.listDeleted(this.pageSize),
      this.rawClusters(),
    ]);
    return [
      ...deleted.map((c) => clusterFromPb(c, [])),
      ...listed
        .filter(isDeleting)
        .map((c) => ({ ...clusterFromPb(c, []), deleting: true as const })),
    ];
  }

  async undeleteCluster(name: string): Promise<LiveCluster> {
    await this.clusterWrites.undelete(name);
    return this.getCluster(name);
  }

  async registerCluster(request: RegisterClusterRequest): Promise<LiveCluster> {
    await this.clusterWrites.register(request.name, request.pool ?? 'default');
    return this.getCluster(request.name);
  }

  async updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster> {
    await this.clusterWrites.setEnabled(name, update.enabled);
    return this.getCluster(name);
  }

  async moveCluster(name: string, pool: string): Promise<LiveCluster> {
    await this.clusterWrites.move(name, pool);
    return this.getCluster(name);
  }

  deleteCluster(name: string): Promise<void> {
    return this.clusterWrites.delete(name);
  }

  async createQueue(request: CreateQueueRequest): Promise<LiveQueue> {
    const addr = address('Queue', request.name);
    const spec = createSpec(request);
    // A retry that finds the queue reads it back.
    const res = await this.call('createQueue', addr, (state) =>
      createQueueOnce(this.queueService, this.org, request.name, spec, state.retried),
    );
    return this.liveQueue(res.queue, addr);
  }

  /**
   * Q3: UpdateQueue replaces the whole spec, so it is a read-modify-write: GetQueue, the 7
   * fields poolsync manages and the caps `spec` declares (queue-caps.ts) set from `spec`, every
   * other field written back as Union sent it,
   * including those poolsync's .proto does not declare (kept as protobuf unknown fields; the
   * transport is binary, which carries them: transport.ts). Union has no version on queues, so a
   * change another writer makes between the read and the write is lost (docs/union.md).
   * With `queue_move`, a new pool in `spec` moves a drained queue (its cluster_pool_name).
   */
  async updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue> {
    const addr = address('Queue', name);
    const id = { organization: this.org, name };
    const current = await this.call('getQueue', addr, () => this.queueService.getQueue({ id }));
    if (!current.queue) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    const merged = withManagedFields(current.queue.spec, spec);
    const res = await this.call('updateQueue', addr, () =>
      this.queueService.updateQueue({ id, spec: merged }),
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
    const res = await this.call('updateQueueState', addr, () =>
      this.queueService.updateQueueState({ id: { organization: this.org, name }, state }),
    );
    return this.liveQueue(res.queue, addr);
  }

  deleteQueue(name: string): Promise<void> {
    return this.lifecycle.delete(name);
  }

  listDeletedQueues(): Promise<LiveQueue[]> {
    return this.lifecycle.listDeleted();
  }

  undeleteQueue(name: string): Promise<LiveQueue> {
    return this.lifecycle.undelete(name);
  }

  listDefaultQueues(): Promise<LiveDefaultQueue[]> {
    return this.settings.list();
  }

  listScopedDefaultQueues(): Promise<LiveScopedDefaultQueue[]> {
    return this.settings.listScoped();
  }

  setDefaultQueue(project: string, domain: string, queue: string): Promise<LiveDefaultQueue> {
    return this.settings.set(project, domain, queue);
  }

  deleteDefaultQueue(project: string, domain: string): Promise<void> {
    return this.settings.delete(project, domain);
  }

  async close(): Promise<void> {
    this.onClose?.();
  }
}
