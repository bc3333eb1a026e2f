/**
 * The ControlPlane interface: exactly the calls domain.md says exist, nothing more
 * (no pool update P4, no queue delete Q6, no drain C9, no cluster move C7).
 * Implementations: the embedded store (src/controlplane/embedded) and the HTTP client.
 */
import type {
  Assignment,
  AssignmentKey,
  Capabilities,
  ClusterDataPlane,
  PoolContract,
  QueueSpec,
} from '../model/common.js';
import type {
  LiveAssignment,
  LiveCluster,
  LivePool,
  LiveQueue,
  LiveState,
  QueueMetrics,
} from '../model/live.js';

export interface RegisterClusterRequest {
  name: string;
  /** C1: defaults to `default`. */
  pool?: string;
  /** C4: declared values are checked against the pool contract. */
  data_plane?: ClusterDataPlane | null;
}

export interface CreateQueueRequest extends Partial<QueueSpec> {
  name: string;
  run_concurrency: number;
  action_concurrency: number;
}

export interface ControlPlane {
  capabilities(): Promise<Capabilities>;

  listPools(): Promise<LivePool[]>;
  getPool(name: string): Promise<LivePool>;
  listClusters(): Promise<LiveCluster[]>;
  getCluster(name: string): Promise<LiveCluster>;
  listQueues(): Promise<LiveQueue[]>;
  getQueue(name: string): Promise<LiveQueue>;
  listAssignments(): Promise<LiveAssignment[]>;
  /** Q7. */
  queueMetrics(name: string): Promise<QueueMetrics>;

  createPool(name: string, contract: PoolContract): Promise<LivePool>;
  deletePool(name: string): Promise<void>;
  registerCluster(request: RegisterClusterRequest): Promise<LiveCluster>;
  /** C6: only `enabled` can change in place. */
  updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster>;
  deleteCluster(name: string): Promise<void>;
  createQueue(request: CreateQueueRequest): Promise<LiveQueue>;
  /** Q3: replaces the whole spec. */
  updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue>;
  /** A1: upsert. */
  setAssignment(assignment: Assignment): Promise<LiveAssignment>;
  deleteAssignment(key: AssignmentKey): Promise<void>;

  /** Releases connections / file handles / locks. */
  close(): Promise<void>;
}

/** Reads every kind (in parallel where the implementation allows) into a LiveState. */
export async function readLiveState(cp: ControlPlane): Promise<LiveState> {
  const [capabilities, pools, clusters, queues, assignments] = await Promise.all([
    cp.capabilities(),
    cp.listPools(),
    cp.listClusters(),
    cp.listQueues(),
    cp.listAssignments(),
  ]);
  const byName = <T extends { name: string }>(a: T, b: T) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  return {
    capabilities,
    pools: [...pools].sort(byName),
    clusters: [...clusters].sort(byName),
    queues: [...queues].sort(byName),
    assignments: [...assignments].sort((a, b) => {
      const ka = [a.project, a.domain, a.workflow ?? ''].join('\u0000');
      const kb = [b.project, b.domain, b.workflow ?? ''].join('\u0000');
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    }),
  };
}
