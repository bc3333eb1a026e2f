/**
 * `cloudidl.cluster.ClusterService` and `cloudidl.clusterpool.ClusterPoolService` of Union's API
 * stand-in, over the embedded control plane, as Union's client expects (flyteplugins-union
 * 0.19.1, remote/_cluster.py, _cluster_pool.py; each rule cites its lines below).
 * UpdateClusterState drains (poolsync's `enabled: false`) or activates a cluster, UpdateCluster
 * moves it; deletes are soft: a deleted cluster or pool is listed only with `EXISTS deleted_at`,
 * read by Get (with include_deleted, for clusters), and keeps its name until undeleted.
 */
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { SECRET_STORE_TYPES, WILDCARD, type PoolContract } from '../../model/common.js';
import type { LiveCluster, LivePool } from '../../model/live.js';
import { ClusterService } from '../../gen/cloudidl/cluster/cluster_pb.js';
import { ClusterState } from '../../gen/cloudidl/cluster/definition_pb.js';
import { ClusterPoolService } from '../../gen/cloudidl/clusterpool/clusterpool_pb.js';
import {
  SecretStore_SecretStoreType,
  type ClusterPoolConfig,
} from '../../gen/cloudidl/common/cluster_pb.js';
import { configToPb, contractFromPb } from '../../controlplane/union/pools.js';
import { listsDeleted } from './lifecycle.js';
import { byName } from '../../controlplane/embedded/state.js';
import {
  alreadyExists,
  clusterToPb,
  failedPrecondition,
  invalidArgument,
  hasNamed,
  page,
  unmodelled,
} from './pb-views.js';
import { nameOf, type ServiceContext } from './queue-service.js';
import type * as ClusterPb from '../../gen/cloudidl/cluster/payload_pb.js';
import type * as PoolPb from '../../gen/cloudidl/clusterpool/payload_pb.js';

const ckey = (name: string) => `Cluster/${name}`;
const pkey = (name: string) => `ClusterPool/${name}`;

/** A Create's or Update's contract, refused without its two required fields. */
function contractFromConfig(c: ClusterPoolConfig | undefined): PoolContract {
  const type = c?.secretStore?.type;
  // "Object store URI (required)", "Secret store type (required)" (remote/_cluster_pool.py:149-150).
  if (
    !c?.objectStoreRef?.uri ||
    !SECRET_STORE_TYPES.some((t) => SecretStore_SecretStoreType[t] === type)
  )
    throw invalidArgument(
      'a cluster pool needs config.object_store_ref.uri and config.secret_store.type',
    );
  return contractFromPb(c);
}

/** Whether a live queue has the name, read once per answer (a cluster's view asks for its own). */
async function queueNames(x: ServiceContext): Promise<(name: string) => boolean> {
  const { queues } = await x.cp.pagedLists();
  return (name) => hasNamed(queues, name);
}

const noQueue = () => false;

/** The stand-in's view of a cluster (its generation, deletion and co-named queue). */
function view(
  x: ServiceContext,
  c: LiveCluster,
  queueNamed: (name: string) => boolean,
  deleted = false,
) {
  const { org, life } = x;
  const hasQueue = !deleted && queueNamed(c.name);
  return clusterToPb(c, org, {
    generation: life.generation(ckey(c.name)),
    deletedAt: deleted ? life.deletedTimestamp(ckey(c.name)) : undefined,
    queue: hasQueue,
    deleting: !deleted && life.deletingClusters.has(c.name),
  });
}

/** Soft-deletes the cluster (its co-named queue goes with it: the embedded store's rule). */
async function softDelete(x: ServiceContext, c: LiveCluster): Promise<void> {
  await x.cp.deleteCluster(c.name);
  x.life.deletingClusters.delete(c.name);
  x.life.deletedClusters.set(c.name, c);
  x.life.markDeleted(ckey(c.name));
}

/**
 * Finishes the deletes whose time has come (lifecycle.ts, deletingClusters); each is claimed
 * before it is carried out, so calls that settle at once never finish one twice.
 */
async function settle(x: ServiceContext): Promise<void> {
  const now = Date.now();
  for (const [name, d] of [...x.life.deletingClusters]) {
    if (d.until > now || !x.life.deletingClusters.delete(name)) continue;
    await softDelete(x, d.cluster);
  }
}

/**
 * A deleted cluster is not moved (remote/_cluster.py:322); a deleting or deleted one is not
 * drained, activated or deleted again (remote/_cluster.py:365, 400-401, 444-445).
 */
function refuseDeleted(x: ServiceContext, name: string, deleting: boolean): void {
  if (deleting && x.life.deletingClusters.has(name))
    throw failedPrecondition(`cluster "${name}" is deleting: wait until its deletion finishes`);
  if (x.life.deletedClusters.has(name)) throw failedPrecondition(`cluster "${name}" is deleted`);
}

function poolView(x: ServiceContext, p: LivePool, deleted: boolean) {
  const { org, life } = x;
  return {
    id: { organization: org, name: p.name },
    memberClusters: p.member_clusters.map((name) => ({ organization: org, name })),
    config: configToPb(p.contract),
    deletedAt: deleted ? life.deletedTimestamp(pkey(p.name)) : undefined,
  };
}

/** Every call first finishes the deletes whose time has come (`settle`). */
export function clusterRoutes(x: ServiceContext): (router: ConnectRouter) => void {
  const settled =
    <R, O>(handler: (x: ServiceContext, req: R) => Promise<O>) =>
    async (req: R): Promise<O> => {
      await settle(x);
      return handler(x, req);
    };
  return (router) => {
    router.service(ClusterService, {
      listClusters: settled(listClusters),
      getCluster: settled(getCluster),
      createCluster: settled(createCluster),
      updateCluster: settled(updateCluster),
      updateClusterState: settled(updateClusterState),
      deleteCluster: settled(deleteCluster),
      undeleteCluster: settled(undeleteCluster),
    });
    router.service(ClusterPoolService, {
      list: settled(listPools),
      get: settled(getPool),
      create: settled(createPool),
      update: settled(updatePool),
      delete: settled(deletePool),
      undelete: settled(undeletePool),
    });
  };
}

async function listClusters(x: ServiceContext, req: ClusterPb.ListRequest) {
  const { cp, life } = x;
  x.checkOrg(req.organization);
  const { deleted } = listsDeleted(req.request?.filters ?? []);
  const all = deleted
    ? [...life.deletedClusters.values()].sort(byName)
    : (await cp.pagedLists()).clusters;
  const p = page(all, (o) => o.name, req.request, x.max);
  const queues = deleted ? noQueue : await queueNames(x);
  return { clusters: p.items.map((c) => view(x, c, queues, deleted)), token: p.token };
}

async function getCluster(x: ServiceContext, req: ClusterPb.GetRequest) {
  const name = nameOf(x, req.clusterId);
  const gone = x.life.deletedClusters.get(name);
  if (gone && req.includeDeleted) return { cluster: view(x, gone, noQueue, true) };
  return { cluster: view(x, await x.cp.getCluster(name), await queueNames(x)) };
}

async function createCluster(x: ServiceContext, req: ClusterPb.CreateClusterRequest) {
  const name = nameOf(x, req.clusterId);
  // A deleted cluster keeps its name reserved (remote/_cluster.py:441-443).
  if (x.life.deletedClusters.has(name))
    throw alreadyExists(`cluster "${name}" is deleted: undelete it`);
  // A deleted queue keeps its name, and no cluster takes a queue's (remote/_queue.py:1007-1008,
  // remote/_cluster.py:289-291).
  if ((await x.cp.listDeletedQueues()).some((q) => q.name === name))
    throw alreadyExists(
      `the name "${name}" is taken by a deleted queue (reserved until it is undeleted)`,
    );
  await x.cp.registerCluster({ name, pool: req.clusterPoolName || 'default' });
  return {};
}

async function updateCluster(x: ServiceContext, req: ClusterPb.UpdateClusterRequest) {
  const { cp } = x;
  const name = nameOf(x, req.clusterId);
  refuseDeleted(x, name, false);
  const current = await cp.getCluster(name);
  // "must name a *different* pool" (remote/_cluster.py:323-324).
  if (current.pool === req.clusterPoolName)
    throw alreadyExists(`cluster "${name}" is already in pool "${current.pool}"`);
  await cp.moveCluster(name, req.clusterPoolName);
  return {};
}

async function updateClusterState(x: ServiceContext, req: ClusterPb.UpdateClusterStateRequest) {
  const { cp, life } = x;
  const name = nameOf(x, req.clusterId);
  refuseDeleted(x, name, true);
  life.expect(ckey(name), req.expectedGeneration);
  if (req.state !== ClusterState.DRAINING && req.state !== ClusterState.ACTIVE)
    throw unmodelled('UpdateClusterState to a state other than DRAINING or ACTIVE');
  const enabled = req.state === ClusterState.ACTIVE;
  // "A drain cannot start while apps are assigned to the cluster" (remote/_cluster.py:361).
  if (!enabled && life.appsAssigned.has(name))
    throw failedPrecondition(
      `cluster "${name}" cannot be drained: apps are assigned to it (remote/_cluster.py:361)`,
    );
  // The co-named queue drains and activates with it (the embedded store, with drain).
  const c = await cp.updateCluster(name, { enabled });
  life.bump(ckey(name));
  return { cluster: view(x, c, await queueNames(x)) };
}

async function deleteCluster(x: ServiceContext, req: ClusterPb.DeleteRequest) {
  const { cp, life } = x;
  const name = nameOf(x, req.clusterId);
  refuseDeleted(x, name, true);
  life.expect(ckey(name), req.expectedGeneration);
  const c = await cp.getCluster(name);
  if (!c.enabled) {
    // Drained: nothing runs there, so it is deleted at once (remote/_cluster.py `delete`).
    await softDelete(x, c);
    return { cluster: view(x, c, noQueue, true) };
  }
  // Active (or draining): DELETING until its work is moved off, then deleted; a pinned one is
  // refused now, as the embedded control plane refuses it at once (unpin_first).
  const pins = (await cp.listQueues()).filter(
    (q) => q.name !== name && q.clusters[0] !== WILDCARD && q.clusters.includes(name),
  );
  // "Any other live queue that explicitly pins the cluster blocks the delete" (remote/_cluster.py:450-451).
  if (pins.length > 0)
    throw failedPrecondition(
      `cluster "${name}" cannot be deleted: queues ${pins.map((q) => `"${q.name}"`).join(', ')} pin it explicitly; unpin it first (remote/_cluster.py)`,
    );
  life.deletingClusters.set(name, { cluster: c, until: Date.now() + life.deletingMs });
  life.bump(ckey(name));
  return { cluster: view(x, c, await queueNames(x)) };
}

async function undeleteCluster(x: ServiceContext, req: ClusterPb.UndeleteRequest) {
  const { cp, life } = x;
  const name = nameOf(x, req.clusterId);
  // "A ``deleting`` cluster cannot be undeleted" (remote/_cluster.py:485-486).
  if (life.deletingClusters.has(name))
    throw failedPrecondition(
      `cluster "${name}" is deleting: it can be undeleted once its deletion finishes`,
    );
  const c = life.deletedClusters.get(name);
  // "Undeleting a cluster that is not deleted is rejected" (remote/_cluster.py:497-498).
  if (!c) throw failedPrecondition(`cluster "${name}" is not deleted`);
  // "The cluster's pool must not itself be soft-deleted" (remote/_cluster.py:496-497).
  if (life.deletedPools.has(c.pool))
    throw failedPrecondition(
      `cluster "${name}" cannot be undeleted: its pool "${c.pool}" is deleted; undelete the pool first`,
    );
  // Drained, with its co-named queue and the spec it had (remote/_cluster.py): the embedded
  // store's undelete (soft_delete); activating the cluster gives them work.
  const back = await cp.undeleteCluster(name);
  life.deletedClusters.delete(name);
  life.undeleted(ckey(name));
  life.undeleted(`Queue/${name}`);
  return { cluster: view(x, back, await queueNames(x)) };
}

async function listPools(x: ServiceContext, req: PoolPb.ListRequest) {
  const { cp, life } = x;
  x.checkOrg(req.organization);
  const { deleted } = listsDeleted(req.request?.filters ?? []);
  const all = deleted
    ? [...life.deletedPools]
        .map(([name, contract]) => ({ name, contract, member_clusters: [] }))
        .sort(byName)
    : (await cp.pagedLists()).pools;
  const p = page(all, (o) => o.name, req.request, x.max);
  return { clusterPools: p.items.map((q) => poolView(x, q, deleted)), token: p.token };
}

/** A deleted pool "disappears from ``ClusterPool.get``" (remote/_cluster_pool.py:260-261). */
async function getPool(x: ServiceContext, req: PoolPb.GetRequest) {
  const name = nameOf(x, req.id);
  const pool = (await x.cp.listPools()).find((q) => q.name === name);
  if (!pool) throw new ConnectError(`cluster pool "${name}" not found`, Code.NotFound);
  return { clusterPool: poolView(x, pool, false) };
}

async function createPool(x: ServiceContext, req: PoolPb.CreateRequest) {
  const name = nameOf(x, req.clusterPool?.id);
  // A deleted pool keeps its name reserved (remote/_cluster_pool.py:262-264).
  if (x.life.deletedPools.has(name))
    throw alreadyExists(`cluster pool "${name}" is deleted: undelete it`);
  await x.cp.createPool(name, contractFromConfig(req.clusterPool?.config));
  return {};
}

async function updatePool(x: ServiceContext, req: PoolPb.UpdateRequest) {
  const name = nameOf(x, req.clusterPool?.id);
  await x.cp.updatePool(name, contractFromConfig(req.clusterPool?.config));
  return {};
}

async function deletePool(x: ServiceContext, req: PoolPb.DeleteRequest) {
  const name = nameOf(x, req.id);
  const pool = (await x.cp.listPools()).find((q) => q.name === name);
  await x.cp.deletePool(name);
  if (pool) x.life.deletedPools.set(name, pool.contract);
  x.life.markDeleted(pkey(name));
  return {};
}

async function undeletePool(x: ServiceContext, req: PoolPb.UndeleteRequest) {
  const { life } = x;
  const name = nameOf(x, req.id);
  // "Undeleting a pool that is not deleted is rejected" (remote/_cluster_pool.py:290-291).
  if (!life.deletedPools.has(name))
    throw failedPrecondition(`cluster pool "${name}" is not deleted`);
  const pool = await x.cp.undeletePool(name);
  life.deletedPools.delete(name);
  life.undeleted(pkey(name));
  return { clusterPool: poolView(x, pool, false) };
}
