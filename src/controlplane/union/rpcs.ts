/**
 * Every Union RPC the union backend calls, by full procedure name. Each is safe to send again
 * after a lost connection (transport.ts retries them all): reads are; a write is when sending
 * it twice is sending it once, or when the call reads its effect back on a retry (the `retried`
 * branch of its caller), as said beside it. Definitions: proto/ (from the flyteplugins-union
 * wheel).
 */
import type { CallState } from './transport.js';

const Q = 'cloudidl.queue.QueueService';
const C = 'cloudidl.cluster.ClusterService';
const P = 'cloudidl.clusterpool.ClusterPoolService';
const S = 'flyteidl2.settings.SettingsService';

export const RPC = {
  listQueues: `${Q}/ListQueues`,
  getQueue: `${Q}/GetQueue`,
  // A retry meeting ALREADY_EXISTS reads the queue (queues.ts createQueueOnce).
  createQueue: `${Q}/CreateQueue`,
  // The whole spec: sent again, the same queue.
  updateQueue: `${Q}/UpdateQueue`,
  // Setting a state twice is setting it once.
  updateQueueState: `${Q}/UpdateQueueState`,
  watchQueueMetrics: `${Q}/WatchQueueMetrics`,
  // A retry refused because the queue is already deleted reads it back (queues.ts).
  deleteQueue: `${Q}/DeleteQueue`,
  // Likewise: a retry refused because it is no longer deleted reads it back.
  undeleteQueue: `${Q}/UndeleteQueue`,
  listClusters: `${C}/ListClusters`,
  getCluster: `${C}/GetCluster`,
  // A retry meeting ALREADY_EXISTS reads the cluster: done when it is in the pool asked for.
  createCluster: `${C}/CreateCluster`,
  // A retry meeting ALREADY_EXISTS ("already in that pool") is done.
  updateCluster: `${C}/UpdateCluster`,
  // With the generation read just before: a retry refused for a stale generation reads back.
  updateClusterState: `${C}/UpdateClusterState`,
  // NOT_FOUND after a retry is done.
  deleteCluster: `${C}/DeleteCluster`,
  // A retry refused because the cluster is no longer deleted reads it back (clusters.ts).
  undeleteCluster: `${C}/UndeleteCluster`,
  listPools: `${P}/List`,
  getPool: `${P}/Get`,
  // A retry meeting ALREADY_EXISTS reads the pool: done when its config is the one sent.
  createPool: `${P}/Create`,
  // The whole config: sent again, the same pool.
  updatePool: `${P}/Update`,
  // NOT_FOUND after a retry is done.
  deletePool: `${P}/Delete`,
  // A retry refused because the pool is no longer deleted reads it back (pools.ts).
  undeletePool: `${P}/Undelete`,
  listProjects: 'flyteidl2.project.ProjectService/ListProjects',
  getSettingsForEdit: `${S}/GetSettingsForEdit`,
  // Versioned: sent again after it landed, a version conflict (or ALREADY_EXISTS) reads the level
  // again (settings.ts).
  createSettings: `${S}/CreateSettings`,
  updateSettings: `${S}/UpdateSettings`,
} as const;

export type RpcName = keyof typeof RPC;

/** One RPC with retries (withRetry): `addr` names the object for messages (null for lists). */
export type Call = <T>(
  rpc: RpcName,
  addr: string | null,
  fn: (s: CallState) => Promise<T>,
) => Promise<T>;
