/**
 * Clusters through `cloudidl.cluster.ClusterService` (proto/cloudidl/cluster/). CreateCluster
 * registers in a pool (Union creates the co-named queue, C2), UpdateCluster moves to another
 * pool (the drained co-named queue moves along), UpdateClusterState drains or activates, and
 * DeleteCluster takes the co-named queue along. A state change or delete carries the generation
 * as last read (`expected_generation`, as Union's client sends it; `fromLatest`), so a delayed
 * request never applies to a state poolsync did not see. Soft deletes: remote/_cluster.py.
 */
import type { Client } from '@connectrpc/connect';
import { DEFAULT_POOL, address } from '../../model/common.js';
import type { LiveCluster } from '../../model/live.js';
import type { RegisterClusterRequest } from '../../model/requests.js';
import type { ClusterService } from '../../gen/cloudidl/cluster/cluster_pb.js';
import { ClusterState, type Cluster } from '../../gen/cloudidl/cluster/definition_pb.js';
import { ControlPlaneError, unavailable } from '../errors.js';
import type { ClusterCalls } from '../types.js';
import { type Call, isCode } from './transport.js';
import { clusterEnabled, boundQueues, clusterFromPb, clusterName, queueFromPb } from './mapping.js';
import type { UnionQueues } from './queues.js';
import { SharedReads } from '../shared-reads.js';
import { Latest, expectUnchanged, fromLatest, sweep } from './sweeps.js';

const generation = (c: Cluster): bigint => c.drainStatus?.generation ?? 0n;
const stateName = (c: Cluster): string =>
  (
    ClusterState[c.drainStatus?.overallState ?? ClusterState.UNSPECIFIED] ?? 'UNKNOWN'
  ).toLowerCase();

/** How long a cluster delete waits for Union to finish a DELETING cluster. */
const DELETING_WAIT_MS = 600_000;

/** DeleteCluster left it DELETING: Union is moving its work off (remote/_cluster.py). */
export function isDeleting(c: Cluster): boolean {
  return c.drainStatus?.overallState === ClusterState.DELETING;
}

export class UnionClusters implements ClusterCalls {
  private readonly latest = new Latest<Cluster>(clusterName);
  private readonly reads = new SharedReads();

  constructor(
    private readonly service: Client<typeof ClusterService>,
    private readonly org: string,
    private readonly call: Call,
    private readonly pageSize: number,
    /** A cluster's bound queues are the queues that name it. */
    private readonly queues: UnionQueues,
  ) {}

  private sweep(deleted: boolean): Promise<Cluster[]> {
    return sweep(this.call, 'listClusters', this.pageSize, deleted, async (request) => {
      const res = await this.service.listClusters({ organization: this.org, request });
      return { items: res.clusters, token: res.token };
    });
  }

  /** From one sweep however many ask at once. */
  raw(): Promise<Cluster[]> {
    return this.reads.get('clusters', async () => this.latest.all(await this.sweep(false)));
  }

  /** The live clusters; one Union is DELETING is among the deleted ones (listDeletedClusters). */
  async listClusters(): Promise<LiveCluster[]> {
    const [queues, clusters] = await Promise.all([this.queues.raw(), this.raw()]);
    const names = new Set(clusters.map(clusterName));
    const live = queues.map((q) => queueFromPb(q, names));
    const boundOf = boundQueues(live);
    return clusters.filter((c) => !isDeleting(c)).map((c) => clusterFromPb(c, boundOf));
  }

  /** As listClusters: one Union is DELETING is not live (listDeletedClusters lists it). */
  async getCluster(name: string): Promise<LiveCluster> {
    const addr = address('Cluster', name);
    const [res, queues] = await Promise.all([
      this.call('getCluster', addr, () => this.service.getCluster({ clusterId: this.id(name) })),
      this.queues.raw(),
    ]);
    if (!res.cluster) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    if (isDeleting(res.cluster))
      throw new ControlPlaneError(
        'NOT_FOUND',
        `${addr}: Union is deleting it (DELETING), so it is listed among the deleted clusters; wait until it is DELETED (flyte get cluster --deleted)`,
        addr,
      );
    return clusterFromPb(res.cluster, boundQueues(queues.map((q) => queueFromPb(q, new Set()))));
  }

  /** Its queues as last read (no list per write). */
  private live(c: Cluster): LiveCluster {
    const name = clusterName(c);
    const queues = [...this.queues.latest.values()].filter((q) => q.spec?.clusters.includes(name));
    return clusterFromPb(c, boundQueues(queues.map((q) => queueFromPb(q, new Set()))));
  }

  private id(name: string) {
    return { organization: this.org, name };
  }

  /** Deleted ones too: their state says so. */
  async read(name: string): Promise<Cluster> {
    const addr = address('Cluster', name);
    const res = await this.call('getCluster', addr, () =>
      this.service.getCluster({ clusterId: this.id(name), includeDeleted: true }),
    );
    if (!res.cluster) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    return this.latest.one(res.cluster);
  }

  async registerCluster(request: RegisterClusterRequest): Promise<void> {
    const { name } = request;
    const pool = request.pool ?? DEFAULT_POOL;
    // AlreadyExists, after a retry or not, is the step's to judge (src/apply/steps.ts existing).
    await this.call('createCluster', address('Cluster', name), () =>
      this.service.createCluster({ clusterId: this.id(name), clusterPoolName: pool }),
    );
    this.latest.forget(name);
  }

  /** UpdateCluster answers nothing: the cluster as last read, in its new pool. */
  async moveCluster(name: string, pool: string): Promise<LiveCluster> {
    await this.call('updateCluster', address('Cluster', name), async (state) => {
      try {
        await this.service.updateCluster({ clusterId: this.id(name), clusterPoolName: pool });
      } catch (err) {
        // Union refuses a move to the pool the cluster is in: after a retry, that is done.
        if (!state.retried || !isCode(err, 'AlreadyExists')) throw err;
      }
    });
    const known = this.latest.get(name) ?? (await this.read(name));
    this.latest.forget(name);
    return { ...this.live(known), pool };
  }

  /** UpdateClusterStateResponse carries the cluster. */
  async updateCluster(name: string, { enabled }: { enabled: boolean }): Promise<LiveCluster> {
    const want = enabled ? ClusterState.ACTIVE : ClusterState.DRAINING;
    const read = () => this.read(name);
    const addr = address('Cluster', name);
    const changed = { address: addr, generation, state: stateName };
    const answered = await fromLatest(
      this.latest,
      name,
      read,
      (known) =>
        this.call('updateClusterState', addr, async (state) => {
          if (state.retried) {
            const current = await read();
            if (clusterEnabled(current) === enabled) return current;
            expectUnchanged(changed, known, current);
          }
          const res = await this.service.updateClusterState({
            clusterId: this.id(name),
            state: want,
            expectedGeneration: generation(known),
          });
          return this.latest.one(res.cluster) ?? known;
        }),
      changed,
    );
    return this.live(answered);
  }

  /**
   * When DeleteCluster left it DELETING (Union moves its work off first, remote/_cluster.py
   * `delete`), GetCluster until DELETED, so the steps after it (its pool's delete, a
   * registration of the name) find it gone.
   */
  async deleteCluster(name: string): Promise<void> {
    const read = () => this.read(name);
    const addr = address('Cluster', name);
    const changed = { address: addr, generation, state: stateName };
    const deleting = await fromLatest(
      this.latest,
      name,
      read,
      (known) =>
        this.call('deleteCluster', addr, async (state) => {
          try {
            if (state.retried) {
              const current = await read();
              // A retry whose first attempt landed finds the cluster deleted (or deleting).
              if (current.deletedAt || isDeleting(current)) return true;
              expectUnchanged(changed, known, current);
            }
            const res = await this.service.deleteCluster({
              clusterId: this.id(name),
              expectedGeneration: generation(known),
            });
            return res.cluster === undefined || isDeleting(res.cluster);
          } catch (err) {
            if (state.retried && isCode(err, 'NotFound')) return false;
            throw err;
          }
        }),
      changed,
    );
    this.latest.forget(name);
    if (deleting) await this.untilDeleted(name);
  }

  /** GetCluster until the cluster is DELETED (or gone), backing off 50 ms → 1 s. */
  private async untilDeleted(name: string): Promise<void> {
    const addr = address('Cluster', name);
    const deadline = Date.now() + DELETING_WAIT_MS;
    for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
      let current: Cluster;
      try {
        current = await this.read(name);
      } catch (err) {
        if (err instanceof ControlPlaneError && err.code === 'NOT_FOUND') return;
        throw err;
      }
      if (current.deletedAt || !isDeleting(current)) return;
      if (Date.now() >= deadline)
        throw unavailable(
          `${addr}: Union is still deleting the cluster (DELETING) after ${DELETING_WAIT_MS / 1000} s; ` +
            'its deletion goes on: run `poolsync apply` again once it is DELETED (flyte get cluster --deleted)',
          addr,
        );
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  /** Soft-deleted clusters, and the listed ones still DELETING (`deleting`). */
  async listDeletedClusters(): Promise<LiveCluster[]> {
    const [deleted, live] = await Promise.all([this.sweep(true), this.raw()]);
    return [
      ...deleted.filter((c) => c.deletedAt).map((c) => clusterFromPb(c, () => [])),
      ...live
        .filter(isDeleting)
        .map((c) => ({ ...clusterFromPb(c, () => []), deleting: true as const })),
    ];
  }

  /** UndeleteResponse carries the cluster. */
  async undeleteCluster(name: string): Promise<LiveCluster> {
    const answered = await this.call('undeleteCluster', address('Cluster', name), async (state) => {
      // A retry whose first attempt landed finds the cluster live again.
      if (state.retried) {
        const current = await this.read(name);
        if (!current.deletedAt) return current;
      }
      const res = await this.service.undeleteCluster({ clusterId: this.id(name) });
      return this.latest.one(res.cluster) ?? (await this.read(name));
    });
    return this.live(answered);
  }
}
