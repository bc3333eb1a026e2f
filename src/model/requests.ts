/** Arguments of control-plane writes that plan steps carry (model/plan.ts) and backends take. */
import type { ClusterDataPlane, QueueSpec } from './common.js';

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
