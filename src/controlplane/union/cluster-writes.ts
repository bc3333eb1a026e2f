/**
 * Cluster writes through `cloudidl.cluster.ClusterService` (proto/cloudidl/cluster/, from the
 * flyteplugins-union wheel): CreateCluster (register in a pool; Union creates the co-named
 * queue, C2), UpdateCluster (move to another pool: the co-named queue, drained first, moves
 * along), UpdateClusterState (drain = poolsync's `enabled: false`, activate = `enabled: true`,
 * with the drain generation read just before) and DeleteCluster (the co-named queue goes with
 * it). A state change carries the generation Union's client sends (`expected_generation`), so a
 * delayed request never applies to a state poolsync did not see.
 */
import type { Client } from '@connectrpc/connect';
import { address } from '../../model/common.js';
import type { ClusterService } from '../../gen/cloudidl/cluster/cluster_pb.js';
import { ClusterState, type Cluster } from '../../gen/cloudidl/cluster/definition_pb.js';
import { ControlPlaneError } from '../errors.js';
import type { Call } from './calls.js';
import { clusterEnabled, clusterPool } from './mapping.js';
import { isCode } from './transport.js';

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

  async delete(name: string): Promise<void> {
    await this.call('deleteCluster', address('Cluster', name), async (state) => {
      let generation = 0n;
      try {
        const current = await this.read(name);
        // A retry whose first attempt landed finds the cluster deleted.
        if (state.retried && current.deletedAt) return;
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
  }
}
