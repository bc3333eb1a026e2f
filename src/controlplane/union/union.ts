/**
 * The `union` backend: poolsync's ControlPlane over Union's own API (Connect by default, gRPC
 * with `?protocol=grpc`), authenticated by an API key through OAuth2 client credentials.
 * Every operation goes through the API (definitions: proto/, from the flyteplugins-union
 * wheel): queues (queue-lifecycle.ts for writes, deletes and undeletes), clusters (cluster-writes.ts)
 * and cluster pools (pools.ts); no step of this backend is manual.
 *
 * Round trips: lists are read in pages of `pageSize`; the list calls readLiveState makes in
 * parallel share one ListClusters and one ListQueues sweep (in-flight reads are shared);
 * default-queue settings are read only for the project/domains asked (settings.ts), up to
 * `parallelism` at once. A write is one call: it starts from the object as last read
 * (`Latest`, sweeps.ts) and returns what Union answered, or, where the answer is empty, the
 * object as the write left it; nothing is read back.
 */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { ClusterPoolService } from '../../gen/cloudidl/clusterpool/clusterpool_pb.js';
import {
  DEFAULT_POOL,
  address,
  type Capabilities,
  type PoolContract,
  type QueueSpec,
} from '../../model/common.js';
import type {
  DefaultQueueScope,
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
import { clusterFromPb, clusterName, queueFromPb, selfSelecting } from './mapping.js';
import { firstQueueMetrics } from './metrics.js';
import { DefaultQueueSettings } from './settings.js';
import { Latest, SharedReads, sweep } from './sweeps.js';
import type { Clock } from '../../util/clock.js';
import type { Pacer } from '../../util/pacer.js';
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
  /** Calls in flight at once where a read fans out (default-queue settings); default 32. */
  parallelism?: number;
  /** Every call's pace (util/pacer.ts); absent: unpaced. */
  pacer?: Pacer;
  /** Where backoff waits are slept (tests: virtual time). */
  clock?: Clock;
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
  /** No call lists settings: a read asks each project/domain (settings.ts). */
  readonly settingsByKey = true;
  readonly capabilityCalls: CapabilityCalls = this;
  readonly org: string;
  private readonly poolCalls: UnionPools;
  private readonly clusterWrites: UnionClusterWrites;
  private readonly queueWrites: UnionQueueLifecycle;
  readonly url: string;
  readonly organization: string;
  private readonly queueService: Client<typeof QueueService>;
  private readonly clusterService: Client<typeof ClusterService>;
  private readonly settings: DefaultQueueSettings;
  private readonly retry: UnionRetry;
  private readonly pageSize: number;
  private readonly onClose: (() => void) | undefined;
  private readonly reads = new SharedReads();
  private readonly queuesRead = new Latest<Queue>((q) => q.id?.name ?? '');
  private readonly clustersRead = new Latest<Cluster>(clusterName);

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
      ...(opts.pacer ? { pacer: opts.pacer } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
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
    this.clusterWrites = new UnionClusterWrites(
      this.clusterService,
      this.org,
      call,
      this.clustersRead,
      (c) => this.liveCluster(c),
    );
    this.queueWrites = new UnionQueueLifecycle(
      this.queueService,
      this.org,
      call,
      this.pageSize,
      this.queuesRead,
    );
    this.settings = new DefaultQueueSettings({
      org: this.org,
      transport: opts.transport,
      projects: createClient(ProjectService, opts.transport),
      call,
      pageSize: this.pageSize,
      parallelism: opts.parallelism ?? 32,
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
    return this.reads.get('queues', async () =>
      this.queuesRead.all(
        await sweep(async (token) => {
          const res = await this.call('listQueues', null, () =>
            this.queueService.listQueues({
              organization: this.org,
              request: { limit: this.pageSize, token },
            }),
          );
          return { items: res.queues, token: res.token };
        }),
      ),
    );
  }

  private rawClusters(): Promise<Cluster[]> {
    return this.reads.get('clusters', async () =>
      this.clustersRead.all(
        await sweep(async (token) => {
          const res = await this.call('listClusters', null, () =>
            this.clusterService.listClusters({
              organization: this.org,
              request: { limit: this.pageSize, token },
            }),
          );
          return { items: res.clusters, token: res.token };
        }),
      ),
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

  getQueue(name: string): Promise<LiveQueue> {
    return this.queueWrites.get(name);
  }

  /** A cluster as a write left it, its queues as last read (no list per write). */
  private liveCluster(c: Cluster): LiveCluster {
    const name = clusterName(c);
    const queues = [...this.queuesRead.values()].filter((q) => q.spec?.clusters.includes(name));
    return clusterFromPb(
      c,
      queues.map((q) => queueFromPb(q, selfSelecting(q))),
    );
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
  listDeletedClusters(): Promise<LiveCluster[]> {
    return this.clusterWrites.listDeleted(this.pageSize, this.rawClusters());
  }

  undeleteCluster(name: string): Promise<LiveCluster> {
    return this.clusterWrites.undelete(name);
  }

  registerCluster(request: RegisterClusterRequest): Promise<LiveCluster> {
    return this.clusterWrites.register(request.name, request.pool ?? DEFAULT_POOL);
  }

  updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster> {
    return this.clusterWrites.setEnabled(name, update.enabled);
  }

  moveCluster(name: string, pool: string): Promise<LiveCluster> {
    return this.clusterWrites.move(name, pool);
  }

  deleteCluster(name: string): Promise<void> {
    return this.clusterWrites.delete(name);
  }

  createQueue(request: CreateQueueRequest): Promise<LiveQueue> {
    return this.queueWrites.create(request);
  }

  /** Q3: one UpdateQueue from the queue as last read (queue-lifecycle.ts). */
  updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue> {
    return this.queueWrites.update(name, spec);
  }

  drainQueue(name: string): Promise<LiveQueue> {
    return this.queueWrites.setState(name, QueueState.DRAINING);
  }

  activateQueue(name: string): Promise<LiveQueue> {
    return this.queueWrites.setState(name, QueueState.ACTIVE);
  }

  deleteQueue(name: string): Promise<void> {
    return this.queueWrites.delete(name);
  }

  listDeletedQueues(): Promise<LiveQueue[]> {
    return this.queueWrites.listDeleted();
  }

  undeleteQueue(name: string): Promise<LiveQueue> {
    return this.queueWrites.undelete(name);
  }

  listDefaultQueues(scope?: DefaultQueueScope): Promise<LiveDefaultQueue[]> {
    return this.settings.list(scope);
  }

  listScopedDefaultQueues(scope?: DefaultQueueScope): Promise<LiveScopedDefaultQueue[]> {
    return this.settings.listScoped(scope);
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
