/**
 * Every Union RPC the union backend calls, by full procedure name, and whether a retry after a
 * lost connection is safe (`CallInfo.idempotent`, transport.ts): reads always are; a write is
 * when sending it twice is sending it once, or when the call reads its effect back on a retry
 * (the `retried` branch of its caller). Definitions: proto/ (from the flyteplugins-union wheel).
 */
const Q = 'cloudidl.queue.QueueService';
const C = 'cloudidl.cluster.ClusterService';
const P = 'cloudidl.clusterpool.ClusterPoolService';
const S = 'flyteidl2.settings.SettingsService';

export const RPC = {
  listQueues: { name: `${Q}/ListQueues`, idempotent: true },
  getQueue: { name: `${Q}/GetQueue`, idempotent: true },
  // A retry meeting ALREADY_EXISTS reads the queue (queue-create.ts).
  createQueue: { name: `${Q}/CreateQueue`, idempotent: true },
  // The whole spec: sent again, the same queue.
  updateQueue: { name: `${Q}/UpdateQueue`, idempotent: true },
  // Setting a state twice is setting it once.
  updateQueueState: { name: `${Q}/UpdateQueueState`, idempotent: true },
  watchQueueMetrics: { name: `${Q}/WatchQueueMetrics`, idempotent: true },
  // A retry refused because the queue is already deleted reads it back (queue-lifecycle.ts).
  deleteQueue: { name: `${Q}/DeleteQueue`, idempotent: true },
  // Likewise: a retry refused because it is no longer deleted reads it back.
  undeleteQueue: { name: `${Q}/UndeleteQueue`, idempotent: true },
  listClusters: { name: `${C}/ListClusters`, idempotent: true },
  getCluster: { name: `${C}/GetCluster`, idempotent: true },
  // A retry meeting ALREADY_EXISTS reads the cluster: done when it is in the pool asked for.
  createCluster: { name: `${C}/CreateCluster`, idempotent: true },
  // A retry meeting ALREADY_EXISTS ("already in that pool") is done.
  updateCluster: { name: `${C}/UpdateCluster`, idempotent: true },
  // With the generation read just before: a retry refused for a stale generation reads back.
  updateClusterState: { name: `${C}/UpdateClusterState`, idempotent: true },
  // NOT_FOUND after a retry is done.
  deleteCluster: { name: `${C}/DeleteCluster`, idempotent: true },
  // A retry refused because the cluster is no longer deleted reads it back (cluster-writes.ts).
  undeleteCluster: { name: `${C}/UndeleteCluster`, idempotent: true },
  listPools: { name: `${P}/List`, idempotent: true },
  getPool: { name: `${P}/Get`, idempotent: true },
  // A retry meeting ALREADY_EXISTS reads the pool: done when its config is the one sent.
  createPool: { name: `${P}/Create`, idempotent: true },
  // The whole config: sent again, the same pool.
  updatePool: { name: `${P}/Update`, idempotent: true },
  // NOT_FOUND after a retry is done.
  deletePool: { name: `${P}/Delete`, idempotent: true },
  // A retry refused because the pool is no longer deleted reads it back (pools.ts).
  undeletePool: { name: `${P}/Undelete`, idempotent: true },
  listProjects: { name: 'flyteidl2.project.ProjectService/ListProjects', idempotent: true },
  getSettingsForEdit: { name: `${S}/GetSettingsForEdit`, idempotent: true },
  // Versioned: sent again after it landed, a version conflict (or ALREADY_EXISTS) reads the level
  // again (settings.ts).
  createSettings: { name: `${S}/CreateSettings`, idempotent: true },
  updateSettings: { name: `${S}/UpdateSettings`, idempotent: true },
} as const;

export type RpcName = keyof typeof RPC;
