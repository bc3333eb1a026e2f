/**
 * Cluster writes through `cloudidl.cluster.ClusterService` (proto/cloudidl/cluster/, from the
 * flyteplugins-union wheel): CreateCluster (register in a pool; Union creates the co-named
 * queue, C2), UpdateCluster (move to another pool: the co-named queue, drained first, moves
 * along), UpdateClusterState (drain = poolsync's `enabled: false`, activate = `enabled: true`,
 * with the drain generation read just before) and DeleteCluster (the co-named queue goes with
 * it). A state change carries the generation Union's client sends (`expected_generation`), so a
 * delayed request never applies to a state poolsync did not see.
 *
 * Soft deletes (remote/_cluster.py `listall(deleted=True)`, `undelete`): the deleted clusters are
 * ListClusters with the filter `EXISTS deleted_at`; UndeleteCluster brings one back DRAINED in
 * the pool it had, with its co-named queue.
 */
import type { Client } from '@connectrpc/connect';
import { address } from '../../model/common.js';
import type { ClusterService } from '../../gen/cloudidl/cluster/cluster_pb.js';
import { ClusterState, type Cluster } from '../../gen/cloudidl/cluster/definition_pb.js';
import { Filter_Function } from '../../gen/cloudidl/common/list_pb.js';
import { ControlPlaneError } from '../errors.js';
import type { Call } from './calls.js';
import { clusterEnabled, clusterPool } from './mapping.js';
import { sweep } from './sweeps.js';
import { isCode } from './transport.js';

/** How long a cluster delete waits for Union to finish a DELETING cluster (10 minutes). */
export const DELETING_WAIT_MS = 600_000;

/** DeleteCluster left it DELETING: Union is moving its work off (remote/_cluster.py). */
export function isDeleting(c: Cluster): boolean {
  return c.drainStatus?.overallState === ClusterState.DELETING;
}

export class UnionClusterWrites {
  constructor(
    private readonly service: Client<typeof ClusterService>,
    private readonly org: string,
    private readonly call: Call,
  ) {}

  private id(name: string) {
    return { organization: this.org, name };
  }

  /** The cluster as Union has it now (deleted ones too: their state says so). */
  async read(name: string): Promise<Cluster> {
    const addr = address('Cluster', name);
    const res = await this.call('getCluster', addr, () =>
      this.service.getCluster({ clusterId: this.id(name), includeDeleted: true }),
    );
    if (!res.cluster) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    return res.cluster;
  }

  async register(name: string, pool: string): Promise<void> {
    await this.call('createCluster', address('Cluster', name), async (state) => {
      try {
        await this.service.createCluster({ clusterId: this.id(name), clusterPoolName: pool });
      } catch (err) {
        // A retry whose first attempt landed finds the cluster in the pool it asked for.
        if (!state.retried || !isCode(err, 'AlreadyExists')) throw err;
        const got = await this.read(name);
        if (got.deletedAt || clusterPool(got) !== pool) throw err;
      }
    });
  }

  async move(name: string, pool: string): Promise<void> {
    await this.call('updateCluster', address('Cluster', name), async (state) => {
      try {
        await this.service.updateCluster({ clusterId: this.id(name), clusterPoolName: pool });
      } catch (err) {
        // Union refuses a move to the pool the cluster is in: after a retry, that is done.
        if (!state.retried || !isCode(err, 'AlreadyExists')) throw err;
      }
    });
  }

  async setEnabled(name: string, enabled: boolean): Promise<void> {
    const want = enabled ? ClusterState.ACTIVE : ClusterState.DRAINING;
    await this.call('updateClusterState', address('Cluster', name), async (state) => {
      const current = await this.read(name);
      if (state.retried && clusterEnabled(current) === enabled) return;
      await this.service.updateClusterState({
        clusterId: this.id(name),
        state: want,
        expectedGeneration: current.drainStatus?.generation ?? 0n,
      });
    });
  }

  /**
   * DeleteCluster, then, when it left the cluster DELETING (an active or draining one: Union
   * moves its work off first, remote/_cluster.py `delete`), GetCluster until it is DELETED, so
   * the steps after it (its pool's delete, a registration of the name) find it gone.
   */
  async delete(name: string, waitMs = DELETING_WAIT_MS): Promise<void> {
    await this.call('deleteCluster', address('Cluster', name), async (state) => {
      let generation = 0n;
      try {
        const current = await this.read(name);
        // A retry whose first attempt landed finds the cluster deleted (or deleting).
        if (state.retried && current.deletedAt) return;
        if (state.retried && isDeleting(current)) return;
        generation = current.drainStatus?.generation ?? 0n;
        await this.service.deleteCluster({
          clusterId: this.id(name),
          expectedGeneration: generation,
        });
      } catch (err) {
        if (state.retried && isCode(err, 'NotFound')) return;
        throw err;
      }
    });
    await this.untilDeleted(name, waitMs);
  }

  /** GetCluster until the cluster is DELETED (or gone), backing off 50 ms → 1 s, for `waitMs`. */
  private async untilDeleted(name: string, waitMs: number): Promise<void> {
    const addr = address('Cluster', name);
    const deadline = Date.now() + waitMs;
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
        throw new ControlPlaneError(
          'UNAVAILABLE',
          `${addr}: Union is still deleting the cluster (DELETING) after ${Math.round(waitMs / 1000)} s; ` +
            'its deletion goes on: run `poolsync apply` again once it is DELETED (flyte get cluster --deleted)',
          addr,
        );
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  /** The soft-deleted clusters (ListClusters with `EXISTS deleted_at`, as Union's client lists them). */
  async listDeleted(pageSize: number): Promise<Cluster[]> {
    const clusters = await sweep(async (token) => {
      const res = await this.call('listClusters', null, () =>
        this.service.listClusters({
          organization: this.org,
          request: {
            limit: pageSize,
            token,
            filters: [{ function: Filter_Function.EXISTS, field: 'deleted_at' }],
          },
        }),
      );
      return { items: res.clusters, token: res.token };
    });
    return clusters.filter((c) => c.deletedAt);
  }

  async undelete(name: string): Promise<void> {
    await this.call('undeleteCluster', address('Cluster', name), async (state) => {
      // A retry whose first attempt landed finds the cluster live again.
      if (state.retried && !(await this.read(name)).deletedAt) return;
      await this.service.undeleteCluster({ clusterId: this.id(name) });
    });
  }
}
