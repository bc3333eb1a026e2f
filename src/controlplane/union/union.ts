/**
 * The `union` backend: poolsync's ControlPlane over Union's own API (Connect by default, gRPC
 * with `?protocol=grpc`), authenticated by an API key through OAuth2 client credentials.
 * Every operation goes through the API (definitions: proto/, from the flyteplugins-union
 * wheel): queues (queues.ts), clusters (clusters.ts), cluster pools (pools.ts)
 * and default queues (settings.ts); no step of this backend is manual.
 *
 * Round trips: lists are read in pages of `pageSize`; the list calls readLiveState makes in
 * parallel share one ListClusters and one ListQueues sweep (in-flight reads are shared);
 * default-queue settings are read only for the project/domains asked (settings.ts), up to
 * `parallelism` at once. A write is one call: it starts from the object as last read
 * (`Latest`, sweeps.ts) and returns what Union answered, or, where the answer is empty, the
 * object as the write left it; nothing is read back.
 */
import { createClient, type Transport } from '@connectrpc/connect';
import { ClusterPoolService } from '../../gen/cloudidl/clusterpool/clusterpool_pb.js';
import type { Capabilities, PoolContract } from '../../model/common.js';
import type { LiveCluster, LivePool, LiveQueue } from '../../model/live.js';
import { ClusterService } from '../../gen/cloudidl/cluster/cluster_pb.js';
import { QueueService, QueueState } from '../../gen/cloudidl/queue/queue_pb.js';
import { ProjectService } from '../../gen/flyteidl2/project/project_service_pb.js';
import type { BackendProfile, CapabilityCalls, ControlPlane } from '../types.js';
import { UnionClusters } from './clusters.js';
import { UnionPools } from './pools.js';
import { UnionQueues } from './queues.js';
import { type Call, type CallState, RPC, type UnionRetry, withRetry } from './transport.js';
import { DefaultQueueSettings } from './settings.js';

export interface UnionControlPlaneOptions {
  transport: Transport;
  org: string;
  /** For messages: `union+https://acme.hosted.unionai.cloud`. */
  url: string;
  /** The retries, what is known of the endpoint and the pace of every call (transport.ts). */
  retry: UnionRetry;
  /** Items per list page. */
  pageSize: number;
  /** Calls in flight at once where a read fans out (default-queue settings). */
  parallelism: number;
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
  readonly pools: UnionPools;
  readonly clusters: UnionClusters;
  readonly queues: UnionQueues;
  readonly defaultQueues: DefaultQueueSettings;
  readonly capabilityCalls: CapabilityCalls = this;
  readonly org: string;
  readonly url: string;
  readonly organization: string;
  private readonly retry: UnionRetry;
  private readonly onClose: (() => void) | undefined;

  constructor(opts: UnionControlPlaneOptions) {
    this.backend = {
      name: 'union',
      queueCaps: true,
      replacedKinds: { PoolAssignment: 'DefaultQueue' },
    };
    this.org = this.organization = opts.org;
    this.url = opts.url;
    this.retry = opts.retry;
    this.onClose = opts.onClose;
    const call: Call = (rpc, addr, fn) => this.call(rpc, addr, fn);
    const client = <S extends Parameters<typeof createClient>[0]>(service: S) =>
      createClient(service, opts.transport);
    this.pools = new UnionPools(client(ClusterPoolService), this.org, call, opts.pageSize);
    // Each kind's list needs the other's (a queue is cluster-managed when a cluster has its
    // name; a cluster's bound queues name it): both share their sweeps.
    this.queues = new UnionQueues(client(QueueService), this.org, call, opts.pageSize, () =>
      this.clusters.raw(),
    );
    this.clusters = new UnionClusters(
      client(ClusterService),
      this.org,
      call,
      opts.pageSize,
      this.queues,
    );
    this.defaultQueues = new DefaultQueueSettings({
      org: this.org,
      transport: opts.transport,
      projects: client(ProjectService),
      call,
      pageSize: opts.pageSize,
      parallelism: opts.parallelism,
    });
  }

  /** One RPC with retries (transport.ts). */
  private call<T>(
    rpc: keyof typeof RPC,
    addr: string | null,
    fn: (s: CallState) => Promise<T>,
  ): Promise<T> {
    return withRetry({ rpc: RPC[rpc], address: addr, org: this.org }, this.retry, fn);
  }

  async capabilities(): Promise<Capabilities> {
    return { ...UNION_CAPABILITIES };
  }

  // The capability calls belong to the parts of their kinds.

  updatePool(name: string, contract: PoolContract): Promise<LivePool> {
    return this.pools.updatePool(name, contract);
  }

  moveCluster(name: string, pool: string): Promise<LiveCluster> {
    return this.clusters.moveCluster(name, pool);
  }

  drainQueue(name: string): Promise<LiveQueue> {
    return this.queues.setState(name, QueueState.DRAINING);
  }

  activateQueue(name: string): Promise<LiveQueue> {
    return this.queues.setState(name, QueueState.ACTIVE);
  }

  deleteQueue(name: string): Promise<void> {
    return this.queues.deleteQueue(name);
  }

  async close(): Promise<void> {
    this.onClose?.();
  }
}
