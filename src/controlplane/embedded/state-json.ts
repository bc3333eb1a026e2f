/** The JSON form of the embedded control plane's state (snapshots). */
import {
  BASELINE_CAPABILITIES,
  assignmentKeyString,
  type Assignment,
  type Capabilities,
} from '../../model/common.js';
import type { ExecutionClusterLabel } from '../../model/flyte.js';
import type { LiveDefaultQueue } from '../../model/live.js';
import { clusterLabelsFromJson, clusterLabelsToJson } from './cluster-labels.js';
import { listDefaultQueues } from './default-queues.js';
import { deletedQueuesToJson } from './soft-deletes.js';
import type {
  ActivityRecord,
  ClusterRecord,
  PoolRecord,
  QueueRecord,
  State,
} from './state-records.js';
import { byName, listAssignments } from './state-views.js';
import {
  assignmentShape,
  capabilitiesShape,
  defaultQueueShape,
  executionClusterLabelShape,
  poolContractShape,
  queueSpecShape,
  storedClusterShape,
} from '../../model/shapes.js';
import { bool, listOf, nullable, num, record, shapeProblem, str } from '../../util/json-shape.js';

/** The JSON form of a state (snapshots): plain sorted arrays, stable across versions. */
export interface StateJson {
  pools: PoolRecord[];
  clusters: ClusterRecord[];
  queues: QueueRecord[];
  assignments: Assignment[];
  activity: ({ name: string } & ActivityRecord)[];
  /** Absent in states written before capabilities: all off. */
  capabilities?: Capabilities;
  draining?: string[];
  /** Absent in snapshots written before default-queue settings existed. */
  default_queues?: LiveDefaultQueue[];
  /** Absent in snapshots written before execution cluster labels. */
  execution_cluster_labels?: ExecutionClusterLabel[];
  /** Capability `soft_delete`; absent when no queue is deleted. */
  deleted_queues?: QueueRecord[];
}

export function stateToJson(state: State): StateJson {
  return {
    pools: [...state.pools.values()].sort(byName),
    clusters: [...state.clusters.values()].sort(byName),
    queues: [...state.queues.values()].sort(byName),
    assignments: listAssignments(state),
    activity: [...state.activity.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, a]) => ({ name, ...a })),
    capabilities: { ...state.capabilities },
    draining: [...state.draining].sort(),
    // Only when set, so snapshots of control planes without settings keep their old form.
    ...(state.default_queues.size > 0 ? { default_queues: listDefaultQueues(state) } : {}),
    ...clusterLabelsToJson(state),
    ...deletedQueuesToJson(state),
  };
}

export function stateFromJson(json: StateJson): State {
  return {
    pools: new Map(json.pools.map((p) => [p.name, p])),
    clusters: new Map(json.clusters.map((c) => [c.name, c])),
    queues: new Map(json.queues.map((q) => [q.name, q])),
    assignments: new Map(json.assignments.map((a) => [assignmentKeyString(a), a])),
    activity: new Map(json.activity.map(({ name, ...a }) => [name, a])),
    capabilities: { ...BASELINE_CAPABILITIES, ...json.capabilities },
    draining: new Set(json.draining ?? []),
    default_queues: new Map(
      (json.default_queues ?? []).map((d) => [`${d.project}/${d.domain}`, d]),
    ),
    ...clusterLabelsFromJson(json.execution_cluster_labels),
    ...(json.deleted_queues
      ? { deleted_queues: new Map(json.deleted_queues.map((q) => [q.name, q])) }
      : {}),
  };
}

const stateJsonShape = record(
  {
    pools: listOf(record({ name: str, contract: poolContractShape })),
    clusters: listOf(storedClusterShape),
    queues: listOf(record({ name: str, spec: queueSpecShape, cluster_managed: bool })),
    assignments: listOf(assignmentShape),
    activity: listOf(
      record({
        name: str,
        runs_in_flight: num,
        actions_in_flight: num,
        at: num,
        finish_over_ms: nullable(num),
      }),
    ),
  },
  {
    capabilities: capabilitiesShape,
    draining: listOf(str),
    default_queues: listOf(defaultQueueShape),
    execution_cluster_labels: listOf(executionClusterLabelShape),
    deleted_queues: listOf(record({ name: str, spec: queueSpecShape, cluster_managed: bool })),
  },
);

/** Why a snapshot's `state` is not a StateJson (`state.pools[2].contract is missing`), or null. */
export function stateJsonProblem(value: unknown): string | null {
  return shapeProblem('state', stateJsonShape, value);
}
