/** Union's messages (src/gen/) ↔ poolsync's model. Pure. */
import { clone, create } from '@bufbuild/protobuf';
import {
  DEFAULT_POOL,
  QUEUE_DEFAULTS,
  WILDCARD,
  type Fairness,
  type Priority,
  type QueueCaps,
  type QueueSpec,
} from '../../model/common.js';
import type { ClusterHealth, LiveCluster, LiveQueue, QueueState } from '../../model/live.js';
import {
  ClusterState,
  State,
  Status_Health,
  type Cluster,
} from '../../gen/cloudidl/cluster/definition_pb.js';
import {
  FairnessAlgorithm,
  Priority as PbPriority,
  QueueSpecSchema,
  QueueState as PbQueueState,
  type Queue,
  type QueueSpec as PbQueueSpec,
} from '../../gen/cloudidl/queue/queue_pb.js';
import { capsFromPb, setCaps } from './queue-caps.js';

const PRIORITY_TO_PB: Record<Priority, PbPriority> = {
  min: PbPriority.MIN,
  medium: PbPriority.MEDIUM,
  max: PbPriority.MAX,
};
const FAIRNESS_TO_PB: Record<Fairness, FairnessAlgorithm> = {
  round_robin: FairnessAlgorithm.ROUND_ROBIN,
  shuffle_interleave: FairnessAlgorithm.SHUFFLE_INTERLEAVE,
};

export function priorityFromPb(p: PbPriority): Priority {
  if (p === PbPriority.MIN) return 'min';
  if (p === PbPriority.MAX) return 'max';
  return p === PbPriority.MEDIUM ? 'medium' : QUEUE_DEFAULTS.priority;
}

export function fairnessFromPb(f: FairnessAlgorithm): Fairness {
  return f === FairnessAlgorithm.SHUFFLE_INTERLEAVE ? 'shuffle_interleave' : 'round_robin';
}

export function queueStateFromPb(s: PbQueueState): QueueState {
  if (s === PbQueueState.DRAINING) return 'draining';
  if (s === PbQueueState.DRAINED) return 'drained';
  return 'active';
}

/** Q3: every field of the spec, so UpdateQueue (a full replace) never drops one. */
export function queueSpecToPb(spec: QueueSpec): PbQueueSpec {
  const out = managedToPb(spec);
  setCaps(out, spec);
  return out;
}

function managedToPb(spec: QueueSpec): PbQueueSpec {
  return create(QueueSpecSchema, {
    runConcurrency: spec.run_concurrency,
    actionConcurrency: spec.action_concurrency,
    depth: spec.depth,
    priority: PRIORITY_TO_PB[spec.priority],
    fairness: FAIRNESS_TO_PB[spec.fairness],
    clusters: [...spec.clusters],
    clusterPoolName: spec.pool,
  });
}

/**
 * Q3 read-modify-write: `current` (the spec as Union sent it) with the 7 fields poolsync
 * manages set from `spec`, and the caps `spec` declares (setCaps); every other field, declared
 * or not (protobuf-es keeps the ones its .proto lacks as unknown fields and writes them back),
 * is left exactly as it was.
 */
export function withManagedFields(current: PbQueueSpec | undefined, spec: QueueSpec): PbQueueSpec {
  const out = current ? clone(QueueSpecSchema, current) : create(QueueSpecSchema);
  setCaps(out, spec);
  const managed = managedToPb(spec);
  out.runConcurrency = managed.runConcurrency;
  out.actionConcurrency = managed.actionConcurrency;
  out.depth = managed.depth;
  out.priority = managed.priority;
  out.fairness = managed.fairness;
  out.clusters = managed.clusters;
  out.clusterPoolName = managed.clusterPoolName;
  return out;
}

export function queueSpecFromPb(spec: PbQueueSpec | undefined): QueueSpec {
  return {
    pool: spec?.clusterPoolName || DEFAULT_POOL,
    clusters: [...(spec?.clusters ?? [])],
    run_concurrency: spec?.runConcurrency ?? 0,
    action_concurrency: spec?.actionConcurrency ?? 0,
    depth: spec?.depth ?? 0,
    priority: priorityFromPb(spec?.priority ?? PbPriority.UNSPECIFIED),
    fairness: fairnessFromPb(spec?.fairness ?? FairnessAlgorithm.UNSPECIFIED),
    ...capsFromPb(spec),
  };
}

/**
 * The numbers of the spec fields set beyond poolsync's 7: Union's caps and scheduling
 * (max_resources 8, scheduling 9, max_accelerators 10) and any field the .proto does not
 * declare. A queue update writes them back as read (withManagedFields).
 */
export function unmanagedFields(spec: PbQueueSpec | undefined): number[] {
  if (!spec) return [];
  const set = new Set((spec.$unknown ?? []).map((f) => f.no));
  if (spec.maxResources.length > 0) set.add(8);
  if (spec.scheduling !== 0) set.add(9);
  if (spec.maxAccelerators.length > 0) set.add(10);
  return [...set].sort((a, b) => a - b);
}

/**
 * C2: Union does not flag the queue a registration created; a queue may not share a cluster's
 * name otherwise (Q2), so a queue named like a cluster is that cluster's queue.
 */
export function queueFromPb(q: Queue, clusterNames: ReadonlySet<string>): LiveQueue {
  const name = q.id?.name ?? '';
  const unknown = unmanagedFields(q.spec);
  return {
    name,
    ...queueSpecFromPb(q.spec),
    state: queueStateFromPb(q.status?.state ?? PbQueueState.UNSPECIFIED),
    // Union flags it (QueueStatus.cluster_managed); older servers did not: then by name (Q2).
    cluster_managed: q.status?.clusterManaged === true || clusterNames.has(name),
    available_clusters: (q.status?.availableClusters ?? []).map((c) => c.name).sort(),
    ...(unknown.length > 0 ? { unknown_fields: unknown } : {}),
  };
}

/**
 * C2 without a cluster lookup: a queue's selector may name only clusters of its pool (Q1) and
 * a queue may share a name only with its own cluster (Q2), so a queue whose selector is exactly
 * its own name is that cluster's co-named queue. (An orphaned one, whose cluster is gone, has
 * an empty selector and is reported unmanaged by cluster, as ListClusters would tell.)
 */
export function selfSelecting(q: Queue): ReadonlySet<string> {
  const name = q.id?.name ?? '';
  const sel = q.spec?.clusters ?? [];
  return new Set(sel.length === 1 && sel[0] === name ? [name] : []);
}

function healthFromPb(h: Status_Health): ClusterHealth {
  if (h === Status_Health.HEALTHY) return 'healthy';
  return h === Status_Health.UNHEALTHY ? 'unhealthy' : 'unknown';
}

export function clusterName(c: Cluster): string {
  return c.spec?.id?.name ?? '';
}

/** A cluster belongs to one pool (C1): `pool`, `default` when Union names none. */
export function clusterPool(c: Cluster): string {
  return c.pool?.name || DEFAULT_POOL;
}

/**
 * poolsync's `enabled` is Union's drain state (UpdateClusterState: draining stops new work):
 * enabled unless DRAINING or DRAINED. A cluster whose drain state never changed reads as
 * active; a server without drain states says it through spec.state.
 */
export function clusterEnabled(c: Cluster): boolean {
  const s = c.drainStatus?.overallState ?? ClusterState.UNSPECIFIED;
  if (s === ClusterState.UNSPECIFIED)
    return (c.spec?.state ?? State.UNSPECIFIED) !== State.DISABLED;
  return s !== ClusterState.DRAINING && s !== ClusterState.DRAINED;
}

export function clusterFromPb(c: Cluster, queues: readonly LiveQueue[]): LiveCluster {
  const name = clusterName(c);
  return {
    name,
    pool: clusterPool(c),
    enabled: clusterEnabled(c),
    health: healthFromPb(c.status?.health ?? Status_Health.UNKNOWN),
    unhealthy_reasons: [...(c.status?.unhealthyReasons ?? [])],
    // Union reports a mismatch only as unhealthy_reasons, not field by field: nothing says
    // what the data plane is (model/capabilities.ts reportedDataPlane).
    config_drift: [],
    data_plane_reported: false,
    bound_queues: queues
      .filter((q) => q.clusters.includes(name))
      .map((q) => q.name)
      .sort(),
  };
}

/** CreateQueue's spec: Q1 defaults for what the request leaves out (pool default, selector *). */
export function createSpec(request: Partial<QueueSpec>): QueueSpec {
  return {
    // Union's client creates every queue with a scheduling policy (strict_fifo unless told:
    // remote/_queue.py:746, 799); one sent without is UNSPECIFIED, which the leasor orders
    // differently (:83-87). Undeclared, it is not managed after (queue-caps.ts, inheritCaps).
    scheduling: 'strict_fifo',
    ...capsOf(request),
    pool: request.pool ?? DEFAULT_POOL,
    clusters: request.clusters ?? [WILDCARD],
    run_concurrency: request.run_concurrency ?? QUEUE_DEFAULTS.run_concurrency,
    action_concurrency: request.action_concurrency ?? QUEUE_DEFAULTS.action_concurrency,
    depth: request.depth ?? QUEUE_DEFAULTS.depth,
    priority: request.priority ?? QUEUE_DEFAULTS.priority,
    fairness: request.fairness ?? QUEUE_DEFAULTS.fairness,
  };
}

function capsOf(r: QueueCaps): QueueCaps {
  const out: QueueCaps = {};
  if (r.max_resources !== undefined) out.max_resources = r.max_resources;
  if (r.max_accelerators !== undefined) out.max_accelerators = r.max_accelerators;
  if (r.scheduling !== undefined) out.scheduling = r.scheduling;
  return out;
}
