/** Arguments of control-plane writes that plan steps carry (model/plan.ts) and backends take. */
import type { ClusterDataPlane, QueueSpec, RequiredSetting } from './common.js';

export interface RegisterClusterRequest {
  name: string;
  /** C1: defaults to `default`. */
  pool?: string;
  /** C4: declared values are checked against the pool contract. */
  data_plane?: ClusterDataPlane | null;
}

/** Q1: the settings a manifest must write are required, the rest defaulted. */
export type CreateQueueRequest = Partial<QueueSpec> &
  Pick<QueueSpec, RequiredSetting> & { name: string };
