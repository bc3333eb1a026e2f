/**
 * Cluster pools through `cloudidl.clusterpool.ClusterPoolService` (proto/cloudidl/clusterpool/),
 * the contract as `cloudidl.common.ClusterPoolConfig`; soft deletes: remote/_cluster_pool.py.
 * Create and Update answer nothing: the pool is returned as written (its contract as Union keeps
 * it, its member clusters as last read), not read back.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import {
  DEFAULT_POOL,
  SECRET_STORE_TYPES,
  address,
  type PoolContract,
} from '../../model/common.js';
import type { LivePool } from '../../model/live.js';
import type { ClusterPoolService } from '../../gen/cloudidl/clusterpool/clusterpool_pb.js';
import type { ClusterPool, ClusterPoolSchema } from '../../gen/cloudidl/clusterpool/payload_pb.js';
import {
  ClusterPoolConfigSchema,
  SecretStore_SecretStoreType,
  type ClusterPoolConfig,
} from '../../gen/cloudidl/common/cluster_pb.js';
import { ControlPlaneError } from '../errors.js';
import type { PoolCalls } from '../types.js';
import { type Call, isCode } from './transport.js';
import { Latest, sweep } from './sweeps.js';
import { fromPb, toPbTable } from './mapping.js';

const TYPE_TO_PB = toPbTable(SECRET_STORE_TYPES, SecretStore_SecretStoreType);

export function configToPb(c: PoolContract): ClusterPoolConfig {
  return create(ClusterPoolConfigSchema, {
    objectStoreRef: { uri: c.object_store_ref.uri, endpoint: c.object_store_ref.endpoint },
    secretStore: { type: TYPE_TO_PB[c.secret_store.type], locator: c.secret_store.locator },
    imageRegistry: c.image_registry ? { locator: c.image_registry.locator } : undefined,
  });
}

export function contractFromPb(c: ClusterPoolConfig | undefined): PoolContract {
  return {
    object_store_ref: {
      uri: c?.objectStoreRef?.uri ?? '',
      endpoint: c?.objectStoreRef?.endpoint ?? '',
    },
    secret_store: {
      type: fromPb(TYPE_TO_PB, c?.secretStore?.type, 'KUBERNETES'),
      locator: c?.secretStore?.locator ?? '',
    },
    image_registry: c?.imageRegistry?.locator ? { locator: c.imageRegistry.locator } : null,
  };
}

export function poolFromPb(p: ClusterPool): LivePool {
  return {
    name: p.id?.name ?? DEFAULT_POOL,
    contract: contractFromPb(p.config),
    member_clusters: p.memberClusters.map((c) => c.name).sort(),
  };
}

export class UnionPools implements PoolCalls {
  private readonly latest = new Latest<ClusterPool>((p) => p.id?.name ?? DEFAULT_POOL);

  constructor(
    private readonly service: Client<typeof ClusterPoolService>,
    private readonly org: string,
    private readonly call: Call,
    private readonly pageSize: number,
  ) {}

  private pb(name: string, contract: PoolContract): MessageInitShape<typeof ClusterPoolSchema> {
    return { id: { organization: this.org, name }, config: configToPb(contract) };
  }

  private sweep(deleted: boolean): Promise<ClusterPool[]> {
    return sweep(this.call, 'listPools', this.pageSize, deleted, async (request) => {
      const res = await this.service.list({ organization: this.org, request });
      return { items: res.clusterPools, token: res.token };
    });
  }

  async listPools(): Promise<LivePool[]> {
    const live = this.latest.all((await this.sweep(false)).filter((p) => !p.deletedAt));
    return live.map(poolFromPb);
  }

  async listDeletedPools(): Promise<LivePool[]> {
    return (await this.sweep(true)).filter((p) => p.deletedAt).map(poolFromPb);
  }

  async undeletePool(name: string): Promise<LivePool> {
    const addr = address('ClusterPool', name);
    const pool = await this.call('undeletePool', addr, async (state) => {
      if (state.retried) {
        // A retry whose first attempt landed finds the pool live again.
        // A pool still deleted is NOT_FOUND to Get (remote/_cluster_pool.py:260-261).
        const got = await this.service.get({ id: { organization: this.org, name } }).then(
          (r) => r.clusterPool,
          () => undefined,
        );
        if (got && !got.deletedAt) return got;
      }
      const res = await this.service.undelete({ id: { organization: this.org, name } });
      return res.clusterPool;
    });
    return pool ? poolFromPb(pool) : this.getPool(name);
  }

  async getPool(name: string): Promise<LivePool> {
    const addr = address('ClusterPool', name);
    const res = await this.call('getPool', addr, () =>
      this.service.get({ id: { organization: this.org, name } }),
    );
    if (!res.clusterPool || res.clusterPool.deletedAt)
      throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    return poolFromPb(this.latest.one(res.clusterPool));
  }

  async createPool(name: string, contract: PoolContract): Promise<LivePool> {
    const addr = address('ClusterPool', name);
    // AlreadyExists, after a retry or not, is the step's to judge (src/apply/steps.ts existing).
    await this.call('createPool', addr, () =>
      this.service.create({ clusterPool: this.pb(name, contract) }),
    );
    return { name, contract: contractFromPb(configToPb(contract)), member_clusters: [] };
  }

  async updatePool(name: string, contract: PoolContract): Promise<LivePool> {
    const addr = address('ClusterPool', name);
    // The member clusters are the server's (a cluster joins by CreateCluster/UpdateCluster):
    // only the id and the contract are sent.
    await this.call('updatePool', addr, () =>
      this.service.update({ clusterPool: this.pb(name, contract) }),
    );
    const known = this.latest.get(name);
    if (!known) return this.getPool(name);
    const { member_clusters } = poolFromPb(known);
    return { name, contract: contractFromPb(configToPb(contract)), member_clusters };
  }

  async deletePool(name: string): Promise<void> {
    const addr = address('ClusterPool', name);
    await this.call('deletePool', addr, async (state) => {
      try {
        await this.service.delete({ id: { organization: this.org, name } });
      } catch (err) {
        if (state.retried && isCode(err, 'NotFound')) return;
        throw err;
      }
    });
  }
}
