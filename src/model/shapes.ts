/**
 * The JSON shapes of the model's records (util/json-shape.ts), for files poolsync wrote and
 * reads back: the embedded control plane's snapshot, apply's last-applied record.
 */
import {
  anything,
  bool,
  listOf,
  nullable,
  num,
  oneOf,
  record,
  shapeProblem,
  str,
  type Shape,
} from '../util/json-shape.js';
import { CAPABILITY_NAMES } from './capabilities.js';
import { FAIRNESS_POLICIES, PRIORITIES, SECRET_STORE_TYPES } from './common.js';

export const poolContractShape: Shape = record({
  object_store_ref: record({ uri: str, endpoint: str }),
  secret_store: record({ type: oneOf(...SECRET_STORE_TYPES), locator: str }),
  image_registry: nullable(record({ locator: str })),
});

export const queueSpecShape: Shape = record({
  pool: str,
  clusters: listOf(str),
  run_concurrency: num,
  action_concurrency: num,
  depth: num,
  priority: oneOf(...PRIORITIES),
  fairness: oneOf(...FAIRNESS_POLICIES),
});

const clusterFields = {
  name: str,
  pool: str,
  enabled: bool,
  health: oneOf('unknown', 'healthy', 'unhealthy'),
  unhealthy_reasons: listOf(str),
  config_drift: listOf(record({ field: str, contract: str, reported: str })),
};

/** A cluster as the embedded control plane stores it (its bound queues are derived). */
export const storedClusterShape: Shape = record(clusterFields);

export const assignmentShape: Shape = record({
  project: str,
  domain: str,
  workflow: nullable(str),
  pool: str,
});

/** Every capability optional: a record written before one existed lacks it. */
export const capabilitiesShape: Shape = record(
  {},
  Object.fromEntries(CAPABILITY_NAMES.map((n) => [n, bool])),
);

export const defaultQueueShape: Shape = record({ project: str, domain: str, queue: str });

export const executionClusterLabelShape: Shape = record({
  project: str,
  domain: str,
  workflow: nullable(str),
  label: str,
});

const liveStateShape: Shape = record(
  {
    pools: listOf(record({ name: str, contract: poolContractShape, member_clusters: listOf(str) })),
    clusters: listOf(record({ ...clusterFields, bound_queues: listOf(str) })),
    queues: listOf(
      (v) =>
        queueSpecShape(v) ??
        record({ name: str, cluster_managed: bool, available_clusters: listOf(str) })(v),
    ),
    assignments: listOf(assignmentShape),
    capabilities: capabilitiesShape,
  },
  {
    default_queues: listOf(defaultQueueShape),
    execution_cluster_labels: listOf(executionClusterLabelShape),
    flyteadmin: anything,
  },
);

/** Why `value` is not a LiveState, as one line (`live.pools[2].name is missing`), or null. */
export function liveStateProblem(value: unknown): string | null {
  return shapeProblem('live', liveStateShape, value);
}
