/**
 * The JSON shapes of the model's records (util/json-shape.ts), for files poolsync wrote and
 * reads back: the embedded control plane's snapshot and journal, apply's last-applied record.
 * Derived from schemas/ (SPEC_FIELDS): an absent optional field reads as its default.
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
import { SPEC_FIELDS, type SpecField } from '../gen/manifests/kinds.js';
import { CAPABILITY_NAMES } from './capabilities.js';
import { CLUSTER_FIELDS, QUEUE_SPEC_FIELDS } from './common.js';

/** A value of a field as the model keeps it (schemas/<kind>.schema.json declares the field). */
function shapeOf(f: SpecField): Shape {
  switch (f.type) {
    case 'string':
      return str;
    case 'integer':
    case 'number':
      return num;
    case 'boolean':
      return bool;
    case 'enum':
      return oneOf(...f.values!);
    case 'array':
      return listOf(shapeOf(f.items!));
    case 'object':
      return f.fields ? recordOf(f.fields) : anything;
    default:
      return anything;
  }
}

/**
 * The record of `fields` (the `names` of them) as the model keeps it. Only a field the schema
 * requires must be there: a record written before an optional field existed reads it as its
 * default, or as null when it has none (the model's null for a field a manifest may omit: an
 * assignment's workflow, a pool's registry), as ajv's `useDefaults` fills a manifest.
 */
function recordOf(
  fields: Readonly<Record<string, SpecField>>,
  names: readonly string[] = Object.keys(fields),
): Shape {
  const shapes: Record<string, Shape> = {};
  const absent: Record<string, unknown> = {};
  for (const n of names) {
    const f = fields[n]!;
    const shape = shapeOf(f);
    shapes[n] = f.required || 'default' in f ? shape : nullable(shape);
    if (!f.required) absent[n] = 'default' in f ? f.default : null;
  }
  return record(shapes, {}, absent);
}

export const poolContractShape: Shape = recordOf(SPEC_FIELDS.ClusterPool);

/** A queue's spec without its caps (Union's, which the embedded control plane has none of). */
export const queueSpecShape: Shape = recordOf(SPEC_FIELDS.Queue, QUEUE_SPEC_FIELDS);

const clusterFields = {
  name: str,
  health: oneOf('unknown', 'healthy', 'unhealthy'),
  unhealthy_reasons: listOf(str),
  config_drift: listOf(record({ field: str, contract: str, reported: str })),
};
const clusterSettingsShape = recordOf(SPEC_FIELDS.Cluster, CLUSTER_FIELDS);
const both =
  (a: Shape, b: Shape): Shape =>
  (v) =>
    a(v) ?? b(v);

/** A cluster as the embedded control plane stores it (its bound queues are derived). */
export const storedClusterShape: Shape = both(record(clusterFields), clusterSettingsShape);

export const assignmentShape: Shape = recordOf(SPEC_FIELDS.PoolAssignment);

/** Every capability optional: a record written before one existed lacks it. */
export const capabilitiesShape: Shape = record(
  {},
  Object.fromEntries(CAPABILITY_NAMES.map((n) => [n, bool])),
);

export const defaultQueueShape: Shape = recordOf(SPEC_FIELDS.DefaultQueue);

export const executionClusterLabelShape: Shape = recordOf(SPEC_FIELDS.ExecutionClusterLabel);

/** A pool, cluster, queue as a control plane answers it (schemas/control-plane.openapi.yaml). */
export const livePoolShape: Shape = record({
  name: str,
  contract: poolContractShape,
  member_clusters: listOf(str),
});
export const liveClusterShape: Shape = both(
  record({ ...clusterFields, bound_queues: listOf(str) }),
  clusterSettingsShape,
);
export const liveQueueShape: Shape = both(
  queueSpecShape,
  record({ name: str, cluster_managed: bool, available_clusters: listOf(str) }),
);

const liveStateShape: Shape = record(
  {
    pools: listOf(livePoolShape),
    clusters: listOf(liveClusterShape),
    queues: listOf(liveQueueShape),
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
