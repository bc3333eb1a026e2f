/**
 * `cloudidl.cluster.ClusterService` and `cloudidl.clusterpool.ClusterPoolService` of Union's API
 * stand-in, over the embedded control plane. As Union's client expects (flyteplugins-union
 * 0.19.1, remote/_cluster.py, _cluster_pool.py):
 *  - CreateCluster registers a cluster in a pool (`default` when none is named) and creates its
 *    co-named queue; UpdateCluster moves it to another pool (the same pool is ALREADY_EXISTS);
 *    UpdateClusterState drains (poolsync's `enabled: false`) or activates it, with the
 *    generation the caller read;
 *  - a cluster that another live queue names explicitly cannot be drained, moved or deleted
 *    (unpin it first); DeleteCluster takes the co-named queue along;
 *  - deletes are soft: a deleted cluster or pool is listed only with `EXISTS deleted_at`, read
 *    by Get (with include_deleted, for clusters), and keeps its name until undeleted (it comes
 *    back drained);
 *  - a pool is created and updated with its data plane contract (ClusterPoolConfig).
 */
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import {
  SECRET_STORE_TYPES,
  WILDCARD,
  type PoolContract,
  type SecretStoreType,
} from '../../model/common.js';
import type { LiveCluster, LivePool } from '../../model/live.js';
import { ClusterService } from '../../gen/cloudidl/cluster/cluster_pb.js';
import { ClusterState } from '../../gen/cloudidl/cluster/definition_pb.js';
import { ClusterPoolService } from '../../gen/cloudidl/clusterpool/clusterpool_pb.js';
import {
  SecretStore_SecretStoreType,
  type ClusterPoolConfig,
} from '../../gen/cloudidl/common/cluster_pb.js';
import { listsDeleted } from './lifecycle.js';
import { byName, clusterToPb, page } from './pb-views.js';
import type { ServiceContext } from './queue-service.js';

const ckey = (name: string) => `Cluster/${name}`;
const pkey = (name: string) => `ClusterPool/${name}`;

function contractFromConfig(c: ClusterPoolConfig | undefined): PoolContract {
  const type = SECRET_STORE_TYPES.find(
    (t) => SecretStore_SecretStoreType[t] === c?.secretStore?.type,
  );
  if (!c?.objectStoreRef?.uri || !type)
    throw new ConnectError(
      'a cluster pool needs config.object_store_ref.uri and config.secret_store.type',
      Code.InvalidArgument,
    );
  return {
    object_store_ref: { uri: c.objectStoreRef.uri, endpoint: c.objectStoreRef.endpoint },
    secret_store: { type, locator: c.secretStore?.locator ?? '' },
    image_registry: c.imageRegistry?.locator ? { locator: c.imageRegistry.locator } : null,
  };
}

function configOf(c: PoolContract) {
  return {
    objectStoreRef: c.object_store_ref,
    secretStore: {
      type: SecretStore_SecretStoreType[c.secret_store.type as SecretStoreType],
      locator: c.secret_store.locator,
    },
    ...(c.image_registry ? { imageRegistry: { locator: c.image_registry.locator } } : {}),
  };
}

export function clusterRoutes(x: ServiceContext): (router: ConnectRouter) => void {
  const { cp, org, life } = x;
  const view = async (c: LiveCluster, deleted = false) => {
    const hasQueue = !deleted && (await cp.listQueues()).some((q) => q.name === c.name);
    return clusterToPb(c, org, {
      generation: life.generation(ckey(c.name)),
      deletedAt: deleted ? life.deletedTimestamp(ckey(c.name)) : undefined,
      queue: hasQueue,
      deleting: !deleted && life.deletingClusters.has(c.name),
    });
  };
  /** Soft-deletes the cluster (its co-named queue goes with it: the embedded store's rule). */
  const softDelete = async (c: LiveCluster) => {
    await cp.deleteCluster(c.name);
    life.deletingClusters.delete(c.name);
    life.deletedClusters.set(c.name, c);
    life.markDeleted(ckey(c.name));
  };
  /** Finishes the deletes whose time has come (lifecycle.ts, deletingClusters). */
  const settle = async () => {
    const now = Date.now();
    for (const [, d] of [...life.deletingClusters]) if (d.until <= now) await softDelete(d.cluster);
  };
  const nameOf = (id: { organization: string; name: string } | undefined) => {
    x.checkOrg(id?.organization);
    return id?.name ?? '';
  };
  /** Union refuses to drain, move or delete a cluster another live queue pins. */
  const checkUnpinned = async (name: string, what: string) => {
    const pins = (await cp.listQueues())
      .filter((q) => q.name !== name && q.clusters[0] !== WILDCARD && q.clusters.includes(name))
      .map((q) => q.name);
    if (pins.length > 0)
      throw new ConnectError(
        `cluster "${name}" cannot be ${what}: queue(s) ${pins.join(', ')} name it explicitly; unpin it first`,
        Code.FailedPrecondition,
      );
  };
  /** The cluster's live co-named queue drains (or activates) with it; none, nothing to do. */
  const conamedFollows = async (name: string, active: boolean) => {
    const own = (await cp.listQueues()).find((q) => q.name === name && q.cluster_managed);
    if (!own) return;
    if (active) {
      if ((own.state ?? 'active') !== 'active') await cp.activateQueue(name);
    } else if ((own.state ?? 'active') === 'active') await cp.drainQueue(name);
  };
  const refuseDeleted = (name: string) => {
    if (life.deletingClusters.has(name))
      throw new ConnectError(
        `cluster "${name}" is deleting: wait until its deletion finishes`,
        Code.FailedPrecondition,
      );
    if (life.deletedClusters.has(name))
      throw new ConnectError(`cluster "${name}" is deleted`, Code.FailedPrecondition);
  };
  const poolView = (p: LivePool | { name: string; contract: PoolContract }, deleted: boolean) => ({
    id: { organization: org, name: p.name },
    memberClusters: ('member_clusters' in p ? p.member_clusters : []).map((name) => ({
      organization: org,
      name,
    })),
    config: configOf(p.contract),
    ...(deleted ? { deletedAt: life.deletedTimestamp(pkey(p.name)) } : {}),
  });
  return (router) => {
    router.service(ClusterService, {
      async listClusters(req) {
        await settle();
        x.checkOrg(req.organization);
        const { deleted } = listsDeleted(req.request?.filters ?? []);
        const all = deleted ? [...life.deletedClusters.values()] : await cp.listClusters();
        const p = page(
          all.sort(byName),
          (c) => c.name,
          req.request?.limit ?? 0,
          req.request?.token ?? '',
          x.max,
        );
        return {
          clusters: await Promise.all(p.items.map((c) => view(c, deleted))),
          token: p.token,
        };
      },
      async getCluster(req) {
        await settle();
        const name = nameOf(req.clusterId);
        const gone = life.deletedClusters.get(name);
        if (gone && req.includeDeleted) return { cluster: await view(gone, true) };
        return { cluster: await view(await cp.getCluster(name)) };
      },
      async createCluster(req) {
        await settle();
        const name = nameOf(req.clusterId);
        if (life.deletedClusters.has(name))
          throw new ConnectError(`cluster "${name}" is deleted: undelete it`, Code.AlreadyExists);
        await cp.registerCluster({ name, pool: req.clusterPoolName || 'default' });
        return {};
      },
      async updateCluster(req) {
        await settle();
        const name = nameOf(req.clusterId);
        refuseDeleted(name);
        const current = await cp.getCluster(name);
        if (current.pool === req.clusterPoolName)
          throw new ConnectError(
            `cluster "${name}" is already in pool "${current.pool}"`,
            Code.AlreadyExists,
          );
        await checkUnpinned(name, 'moved');
        await cp.moveCluster(name, req.clusterPoolName);
        return {};
      },
      async updateClusterState(req) {
        await settle();
        const name = nameOf(req.clusterId);
        refuseDeleted(name);
        life.expect(ckey(name), req.expectedGeneration);
        if (req.state !== ClusterState.DRAINING && req.state !== ClusterState.ACTIVE)
          throw new ConnectError(
            'state must be CLUSTER_STATE_DRAINING or CLUSTER_STATE_ACTIVE',
            Code.InvalidArgument,
          );
        const enabled = req.state === ClusterState.ACTIVE;
        if (!enabled) await checkUnpinned(name, 'drained');
        // Union drains the co-named queue with its cluster and activates it with it, even one
        // drained on its own (remote/_cluster.py, Cluster.drain and Cluster.activate).
        await conamedFollows(name, enabled);
        const c = await cp.updateCluster(name, { enabled });
        life.bump(ckey(name));
        return { cluster: await view(c) };
      },
      async deleteCluster(req) {
        await settle();
        const name = nameOf(req.clusterId);
        refuseDeleted(name);
        life.expect(ckey(name), req.expectedGeneration);
        await checkUnpinned(name, 'deleted');
        const c = await cp.getCluster(name);
        if (!c.enabled) {
          // Drained: nothing runs there, so it is deleted at once (remote/_cluster.py `delete`).
          await softDelete(c);
          return { cluster: await view(c, true) };
        }
        // Active (or draining): DELETING until its work is moved off, then deleted.
        life.deletingClusters.set(name, { cluster: c, until: Date.now() + life.deletingMs });
        life.bump(ckey(name));
        return { cluster: await view(c) };
      },
      async undeleteCluster(req) {
        await settle();
        const name = nameOf(req.clusterId);
        if (life.deletingClusters.has(name))
          throw new ConnectError(
            `cluster "${name}" is deleting: it can be undeleted once its deletion finishes`,
            Code.FailedPrecondition,
          );
        const c = life.deletedClusters.get(name);
        if (!c) throw new ConnectError(`cluster "${name}" is not deleted`, Code.FailedPrecondition);
        if (life.deletedPools.has(c.pool))
          throw new ConnectError(
            `cluster "${name}" cannot be undeleted: its pool "${c.pool}" is deleted; undelete the pool first`,
            Code.FailedPrecondition,
          );
        // Its co-named queue comes back with it, with the spec it had (remote/_cluster.py).
        const own = (await cp.listDeletedQueues()).find(
          (q) => q.name === name && q.cluster_managed,
        );
        await cp.registerCluster({ name, pool: c.pool });
        if (own) {
          const { run_concurrency, action_concurrency, depth, priority, fairness } = own;
          const settings = { run_concurrency, action_concurrency, depth, priority, fairness };
          await cp.updateQueue(name, { ...settings, pool: c.pool, clusters: [name] });
        }
        // Both come back drained: activating the cluster gives them work.
        await conamedFollows(name, false);
        const back = await cp.updateCluster(name, { enabled: false });
        life.deletedClusters.delete(name);
        life.undeleted(ckey(name));
        life.undeleted(`Queue/${name}`);
        return { cluster: await view(back) };
      },
    });
    router.service(ClusterPoolService, {
      async list(req) {
        await settle();
        x.checkOrg(req.organization);
        const { deleted } = listsDeleted(req.request?.filters ?? []);
        const all = deleted
          ? [...life.deletedPools.entries()].map(([name, contract]) => ({ name, contract }))
          : await cp.listPools();
        const p = page(
          all.sort(byName),
          (q) => q.name,
          req.request?.limit ?? 0,
          req.request?.token ?? '',
          x.max,
        );
        return { clusterPools: p.items.map((q) => poolView(q, deleted)), token: p.token };
      },
      async get(req) {
        await settle();
        const name = nameOf(req.id);
        const gone = life.deletedPools.get(name);
        if (gone) return { clusterPool: poolView({ name, contract: gone }, true) };
        const pool = (await cp.listPools()).find((q) => q.name === name);
        if (!pool) throw new ConnectError(`cluster pool "${name}" not found`, Code.NotFound);
        return { clusterPool: poolView(pool, false) };
      },
      async create(req) {
        await settle();
        const name = nameOf(req.clusterPool?.id);
        if (life.deletedPools.has(name))
          throw new ConnectError(
            `cluster pool "${name}" is deleted: undelete it`,
            Code.AlreadyExists,
          );
        await cp.createPool(name, contractFromConfig(req.clusterPool?.config));
        return {};
      },
      async update(req) {
        await settle();
        const name = nameOf(req.clusterPool?.id);
        await cp.updatePool(name, contractFromConfig(req.clusterPool?.config));
        return {};
      },
      async delete(req) {
        await settle();
        const name = nameOf(req.id);
        const pool = (await cp.listPools()).find((q) => q.name === name);
        await cp.deletePool(name);
        if (pool) life.deletedPools.set(name, pool.contract);
        life.markDeleted(pkey(name));
        return {};
      },
      async undelete(req) {
        await settle();
        const name = nameOf(req.id);
        const contract = life.deletedPools.get(name);
        if (!contract)
          throw new ConnectError(`cluster pool "${name}" is not deleted`, Code.FailedPrecondition);
        const pool = await cp.createPool(name, contract);
        life.deletedPools.delete(name);
        life.undeleted(pkey(name));
        return { clusterPool: poolView(pool, false) };
      },
    });
  };
}
