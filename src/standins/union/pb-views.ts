/** The stand-in's objects as Union's messages (src/gen/, from the flyteplugins-union wheel). */
import { create } from '@bufbuild/protobuf';
import {
  type Fairness,
  type Priority,
  QUEUE_DEFAULTS,
  type QueueSpec,
} from '../../model/common.js';
import type { LiveCluster, LiveQueue } from '../../model/live.js';
import {
  ClusterSchema,
  ClusterState,
  State,
  Status_Health,
} from '../../gen/cloudidl/cluster/definition_pb.js';
import {
  FairnessAlgorithm,
  Priority as PbPriority,
  type QueueSpec as PbQueueSpec,
  QueueSchema,
  QueueState,
} from '../../gen/cloudidl/queue/queue_pb.js';
import { Code, ConnectError } from '@connectrpc/connect';

const PRIORITY: Record<Priority, PbPriority> = {
  min: PbPriority.MIN,
  medium: PbPriority.MEDIUM,
  max: PbPriority.MAX,
};
const FAIRNESS: Record<Fairness, FairnessAlgorithm> = {
  round_robin: FairnessAlgorithm.ROUND_ROBIN,
  shuffle_interleave: FairnessAlgorithm.SHUFFLE_INTERLEAVE,
};
const QUEUE_STATE = {
  active: QueueState.ACTIVE,
  draining: QueueState.DRAINING,
  drained: QueueState.DRAINED,
} as const;

export function specFromPb(s: PbQueueSpec | undefined, requirePool: boolean): QueueSpec {
  if (requirePool && !s?.clusterPoolName)
    throw invalidArgument('UpdateQueue replaces the whole spec: cluster_pool_name is required');
  const priority = (Object.keys(PRIORITY) as Priority[]).find((k) => PRIORITY[k] === s?.priority);
  const fairness = (Object.keys(FAIRNESS) as Fairness[]).find((k) => FAIRNESS[k] === s?.fairness);
  return {
    pool: s?.clusterPoolName || 'default',
    clusters: [...(s?.clusters ?? [])],
    run_concurrency: s?.runConcurrency ?? 0,
    action_concurrency: s?.actionConcurrency ?? 0,
    depth: s?.depth ?? 0,
    priority: priority ?? QUEUE_DEFAULTS.priority,
    fairness: fairness ?? QUEUE_DEFAULTS.fairness,
  };
}

export interface QueueStatusExtras {
  generation: bigint;
  deletedAt?: { seconds: bigint; nanos: number } | undefined;
}

export function queueToPb(q: LiveQueue, org: string, x: QueueStatusExtras) {
  return create(QueueSchema, {
    id: { organization: org, name: q.name },
    spec: {
      runConcurrency: q.run_concurrency,
      actionConcurrency: q.action_concurrency,
      depth: q.depth,
      priority: PRIORITY[q.priority],
      fairness: FAIRNESS[q.fairness],
      clusters: q.clusters,
      clusterPoolName: q.pool,
    },
    status: {
      state: x.deletedAt ? QueueState.DELETED : QUEUE_STATE[q.state ?? 'active'],
      availableClusters: q.available_clusters.map((name) => ({ organization: org, name })),
      clusterManaged: q.cluster_managed,
      stateGeneration: x.generation,
    },
    deletedAt: x.deletedAt,
  });
}

export function clusterToPb(
  c: LiveCluster,
  org: string,
  x: QueueStatusExtras & { queue: boolean; deleting?: boolean },
) {
  // The drain state is the control plane's (UpdateClusterState): poolsync's `enabled`.
  const overall = x.deletedAt
    ? ClusterState.DELETED
    : x.deleting
      ? ClusterState.DELETING
      : c.enabled
        ? ClusterState.ACTIVE
        : ClusterState.DRAINED;
  return create(ClusterSchema, {
    spec: { id: { organization: org, name: c.name }, state: State.ENABLED },
    status: {
      health:
        c.health === 'healthy'
          ? Status_Health.HEALTHY
          : c.health === 'unhealthy'
            ? Status_Health.UNHEALTHY
            : Status_Health.UNKNOWN,
      state: State.ENABLED,
      unhealthyReasons: c.unhealthy_reasons,
    },
    pool: { organization: org, name: c.pool },
    queues: x.queue ? [{ organization: org, name: c.name }] : [],
    drainStatus: { overallState: overall, generation: x.generation },
    deletedAt: x.deletedAt,
  });
}

/** Page after `token` (the last name of the previous page). */
export function page<T>(
  items: T[],
  nameOf: (t: T) => string,
  limit: number,
  token: string,
  max: number,
) {
  const size = Math.min(limit > 0 ? limit : 100, max);
  const start = token === '' ? 0 : items.findIndex((i) => nameOf(i) > token);
  const from = start < 0 ? items.length : start;
  const slice = items.slice(from, from + size);
  const more = from + size < items.length;
  return { items: slice, token: more ? nameOf(slice[slice.length - 1]!) : '' };
}

export const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : 1);

/** Union's refusals as its services answer them: a gRPC status and the message. */
export const invalidArgument = (message: string) => new ConnectError(message, Code.InvalidArgument);

export const failedPrecondition = (message: string) =>
  new ConnectError(message, Code.FailedPrecondition);

export const alreadyExists = (message: string) => new ConnectError(message, Code.AlreadyExists);
