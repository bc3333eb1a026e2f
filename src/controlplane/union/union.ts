/**
 * The `union` backend: poolsync's ControlPlane over Union's own API (Connect by default, gRPC
 * with `?protocol=grpc`), authenticated by an API key through OAuth2 client credentials.
 *
 * Round trips: lists are read in pages of `pageSize`; the list calls readLiveState makes in
 * parallel share one ListClusters and one ListQueues sweep (in-flight reads are shared).
 * What Union has no public RPC for throws `noPublicApi` naming the `flyte` command; the same
 * command is offered to the planner through `backend.manualStep` (manual.ts).
 */
import { Code, ConnectError, createClient, type Client, type Transport } from '@connectrpc/connect';
import type {
  Assignment,
  AssignmentKey,
  Capabilities,
  PoolContract,
  QueueSpec,
} from '../../model/common.js';
import { address, assignmentKeyString } from '../../model/common.js';
import type { ExecutionClusterLabel } from '../../model/flyte.js';
import type {
  LiveAssignment,
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
import { ControlPlaneError, kindUnsupported } from '../errors.js';
import type {
  BackendInfo,
  ControlPlane,
  CreateQueueRequest,
  RegisterClusterRequest,
} from '../types.js';
import { MANUAL, noPublicApi, unionManualStep } from './manual.js';
import {
  clusterFromPb,
  clusterName,
  createSpec,
  poolsFrom,
  queueFromPb,
  queueSpecFromPb,
  queueSpecToPb,
} from './mapping.js';
import { DefaultQueueSettings } from './settings.js';
import { DEFAULT_RETRY, withRetry, type CallState, type RetryPolicy } from './transport.js';

export interface UnionControlPlaneOptions {
  transport: Transport;
  org: string;
  /** For messages: `union+https://acme.hosted.unionai.cloud`. */
  url: string;
  retry?: RetryPolicy;
  /** Items per list page. */
  pageSize?: number;
  /** Closes what the transport holds (HTTP/2 sessions). */
  onClose?: () => void;
}

const QUEUES = 'cloudidl.queue.QueueService';
const CLUSTERS = 'cloudidl.cluster.ClusterService';

export class UnionControlPlane implements ControlPlane {
  readonly backend: BackendInfo = {
    name: 'union',
    kinds: ['ClusterPool', 'Cluster', 'Queue', 'DefaultQueue'],
    manualStep: unionManualStep,
  };
  readonly org: string;
  readonly url: string;
  get organization(): string {
    return this.org;
  }
  private readonly queues: Client<typeof QueueService>;
  private readonly clusters: Client<typeof ClusterService>;
  private readonly settings: DefaultQueueSettings;
  private readonly retry: RetryPolicy;
  private readonly pageSize: number;
  private readonly onClose: (() => void) | undefined;
  private inflight = new Map<string, Promise<unknown>>();

  constructor(opts: UnionControlPlaneOptions) {
    this.org = opts.org;
    this.url = opts.url;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.pageSize = opts.pageSize ?? 1000;
    this.onClose = opts.onClose;
    this.queues = createClient(QueueService, opts.transport);
    this.clusters = createClient(ClusterService, opts.transport);
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

  private call<T>(rpc: string, addr: string | null, fn: (s: CallState) => Promise<T>): Promise<T> {
    return withRetry({ rpc, address: addr, org: this.org }, this.retry, fn);
  }

  /** Concurrent identical reads share one sweep. */
  private shared<T>(key: string, read: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const p = read().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private rawQueues(): Promise<Queue[]> {
    return this.shared('queues', async () => {
      const out: Queue[] = [];
      let token = '';
      do {
        const res = await this.call(`${QUEUES}/ListQueues`, null, () =>
          this.queues.listQueues({
            organization: this.org,
            request: { limit: this.pageSize, token },
          }),
        );
        out.push(...res.queues);
        token = res.token;
      } while (token !== '');
      return out;
    });
  }

  private rawClusters(): Promise<Cluster[]> {
    return this.shared('clusters', async () => {
      const out: Cluster[] = [];
      let token = '';
      do {
        const res = await this.call(`${CLUSTERS}/ListClusters`, null, () =>
          this.clusters.listClusters({
            organization: this.org,
            request: { limit: this.pageSize, token },
          }),
        );
        out.push(...res.clusters);
        token = res.token;
      } while (token !== '');
      return out;
    });
  }

  private async liveQueuesAndClusters(): Promise<[LiveQueue[], Cluster[]]> {
    const [queues, clusters] = await Promise.all([this.rawQueues(), this.rawClusters()]);
    const names = new Set(clusters.map(clusterName));
    return [queues.map((q) => queueFromPb(q, names)), clusters];
  }

  async capabilities(): Promise<Capabilities> {
    // All four exist in the product (real-apis.md); only drain has a public RPC, the others
    // are planned as manual steps (backend.manualStep).
    return { drain: true, queue_delete: true, pool_update: true, cluster_move: true };
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
        this.clusters.getCluster({ clusterId: { organization: this.org, name } }),
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
      this.queues.getQueue({ id: { organization: this.org, name } }),
    );
    return this.liveQueue(res.queue, addr);
  }

  private async liveQueue(q: Queue | undefined, addr: string): Promise<LiveQueue> {
    if (!q) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    const name = q.id?.name ?? '';
    // C2: one cluster lookup tells whether this is a cluster's co-named queue.
    const isCluster = await this.call(`${CLUSTERS}/GetCluster`, addr, () =>
      this.clusters.getCluster({ clusterId: { organization: this.org, name } }).then(
        (r) => r.cluster !== undefined,
        (err: unknown) => {
          if (isCode(err, 'NotFound')) return false;
          throw err;
        },
      ),
    );
    return queueFromPb(q, new Set(isCluster ? [name] : []));
  }

  /** Union v2 has no pool assignments (a DefaultQueue per project/domain replaces them). */
  async listAssignments(): Promise<LiveAssignment[]> {
    return [];
  }

  /** Q7 through WatchQueueMetrics: the first message of the stream, then the stream is closed. */
  async queueMetrics(name: string): Promise<QueueMetrics> {
    const addr = address('Queue', name);
    const queue = await this.getQueue(name);
    return this.call(`${QUEUES}/WatchQueueMetrics`, addr, async () => {
      const abort = new AbortController();
      try {
        const stream = this.queues.watchQueueMetrics(
          { poolId: { organization: this.org, name: queue.pool }, queueNames: [name] },
          { signal: abort.signal },
        );
        for await (const msg of stream) {
          const m = msg.metrics.find((x) => x.id?.name === name);
          if (m)
            return {
              runs_in_flight: m.runsInFlight,
              actions_in_flight: m.actionsInFlight,
              depth: m.currentDepth,
            };
          // Union leaves drained queues out of the stream: nothing is in flight there.
          if (queue.state === 'drained')
            return { runs_in_flight: 0, actions_in_flight: 0, depth: 0 };
          break;
        }
        throw new ControlPlaneError(
          'NOT_FOUND',
          `${addr}: WatchQueueMetrics of pool "${queue.pool}" sent no metrics for the queue`,
          addr,
        );
      } finally {
        abort.abort();
      }
    });
  }

  createPool(name: string, contract: PoolContract): Promise<LivePool> {
    return Promise.reject(
      noPublicApi(address('ClusterPool', name), MANUAL.createPool(name, contract)),
    );
  }

  updatePool(name: string, contract: PoolContract): Promise<LivePool> {
    return Promise.reject(
      noPublicApi(address('ClusterPool', name), MANUAL.updatePool(name, contract)),
    );
  }

  deletePool(name: string): Promise<void> {
    return Promise.reject(noPublicApi(address('ClusterPool', name), MANUAL.deletePool(name)));
  }

  registerCluster(request: RegisterClusterRequest): Promise<LiveCluster> {
    const m = MANUAL.registerCluster(request.name, request.pool ?? 'default');
    return Promise.reject(noPublicApi(address('Cluster', request.name), m));
  }

  updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster> {
    const m = MANUAL.updateCluster(name, update.enabled);
    return Promise.reject(noPublicApi(address('Cluster', name), m));
  }

  moveCluster(name: string, pool: string): Promise<LiveCluster> {
    return Promise.reject(noPublicApi(address('Cluster', name), MANUAL.moveCluster(name, pool)));
  }

  async deleteCluster(name: string): Promise<void> {
    const addr = address('Cluster', name);
    await this.call(`${CLUSTERS}/DeleteCluster`, addr, async (state) => {
      try {
        await this.clusters.deleteCluster({ clusterId: { organization: this.org, name } });
      } catch (err) {
        // A retried delete whose first attempt landed finds nothing to delete: done.
        if (state.retried && isCode(err, 'NotFound')) return;
        throw err;
      }
    });
  }

  async createQueue(request: CreateQueueRequest): Promise<LiveQueue> {
    const addr = address('Queue', request.name);
    const spec = createSpec(request);
    const res = await this.call(`${QUEUES}/CreateQueue`, addr, async (state) => {
      try {
        return await this.queues.createQueue({
          id: { organization: this.org, name: request.name },
          spec: queueSpecToPb(spec),
          state: QueueState.ACTIVE,
        });
      } catch (err) {
        // A retried create whose first attempt landed: the queue exists with our spec.
        if (state.retried && isCode(err, 'AlreadyExists')) {
          const got = await this.queues.getQueue({
            id: { organization: this.org, name: request.name },
          });
          if (sameSpec(queueSpecFromPb(got.queue?.spec), spec)) return got;
        }
        throw err;
      }
    });
    return this.liveQueue(res.queue, addr);
  }

  /** Q3: UpdateQueue replaces the whole spec, so every field is sent (queueSpecToPb). */
  async updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue> {
    const addr = address('Queue', name);
    const res = await this.call(`${QUEUES}/UpdateQueue`, addr, () =>
      this.queues.updateQueue({ id: { organization: this.org, name }, spec: queueSpecToPb(spec) }),
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
    const res = await this.call(`${QUEUES}/UpdateQueueState`, addr, () =>
      this.queues.updateQueueState({ id: { organization: this.org, name }, state }),
    );
    return this.liveQueue(res.queue, addr);
  }

  deleteQueue(name: string): Promise<void> {
    return Promise.reject(noPublicApi(address('Queue', name), MANUAL.deleteQueue(name)));
  }

  setAssignment(assignment: Assignment): Promise<LiveAssignment> {
    return Promise.reject(noAssignments(assignment));
  }

  deleteAssignment(key: AssignmentKey): Promise<void> {
    return Promise.reject(noAssignments(key));
  }

  // Execution cluster labels are flyteadmin attributes; Union v2 routes by default queue instead.
  listExecutionClusterLabels(): Promise<ExecutionClusterLabel[]> {
    return Promise.reject(kindUnsupported(this.backend.name, 'ExecutionClusterLabel', null));
  }

  setExecutionClusterLabel(label: ExecutionClusterLabel): Promise<ExecutionClusterLabel> {
    const addr = address('ExecutionClusterLabel', assignmentKeyString(label));
    return Promise.reject(kindUnsupported(this.backend.name, 'ExecutionClusterLabel', addr));
  }

  deleteExecutionClusterLabel(key: AssignmentKey): Promise<void> {
    const addr = address('ExecutionClusterLabel', assignmentKeyString(key));
    return Promise.reject(kindUnsupported(this.backend.name, 'ExecutionClusterLabel', addr));
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

  async close(): Promise<void> {
    this.onClose?.();
  }
}

function noAssignments(key: AssignmentKey): ControlPlaneError {
  const addr = address(
    'PoolAssignment',
    [key.project, key.domain, key.workflow].filter(Boolean).join('/'),
  );
  return new ControlPlaneError(
    'FAILED_PRECONDITION',
    `${addr}: Union v2 has no pool assignments; declare a DefaultQueue for the project/domain instead`,
    addr,
  );
}

function isCode(err: unknown, code: 'NotFound' | 'AlreadyExists'): boolean {
  return err instanceof ConnectError && err.code === Code[code];
}

function sameSpec(a: QueueSpec, b: QueueSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
