/** The stand-in's objects as Union's messages (src/gen/, from the flyteplugins-union wheel). */
import { create } from '@bufbuild/protobuf';
import type { LiveCluster, LiveQueue } from '../../model/live.js';
import { ClusterSchema, ClusterState, State } from '../../gen/cloudidl/cluster/definition_pb.js';
import { QueueSchema, QueueState } from '../../gen/cloudidl/queue/queue_pb.js';
import { Code, ConnectError } from '@connectrpc/connect';
import { HEALTH_TO_PB, managedToPb, QUEUE_STATE_TO_PB } from '../../controlplane/union/mapping.js';
import { firstAfter } from '../../util/sorted.js';

export interface QueueStatusExtras {
  generation: bigint;
  deletedAt?: { seconds: bigint; nanos: number } | undefined;
  /** DeleteQueue asked while it was draining: listed DELETING until its work is done. */
  deleting?: boolean;
}

export function queueToPb(q: LiveQueue, org: string, x: QueueStatusExtras) {
  return create(QueueSchema, {
    id: { organization: org, name: q.name },
    spec: managedToPb(q),
    status: {
      state: x.deletedAt
        ? QueueState.DELETED
        : x.deleting
          ? QueueState.DELETING
          : QUEUE_STATE_TO_PB[q.state ?? 'active'],
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
      health: HEALTH_TO_PB[c.health],
      state: State.ENABLED,
      unhealthyReasons: c.unhealthy_reasons,
    },
    pool: { organization: org, name: c.pool },
    queues: x.queue ? [{ organization: org, name: c.name }] : [],
    drainStatus: { overallState: overall, generation: x.generation },
    deletedAt: x.deletedAt,
  });
}

/**
 * The page a List request's `limit` asks for after `token` (the last name of the page before),
 * of `items` sorted by name: found by bisection, so a page costs its size, not the list's.
 */
export function page<T>(
  items: readonly T[],
  nameOf: (t: T) => string,
  { limit = 0, token = '' }: { limit?: number; token?: string } = {},
  max: number,
) {
  const size = Math.min(limit > 0 ? limit : 100, max);
  const from = token === '' ? 0 : firstAfter(items, nameOf, token);
  const slice = items.slice(from, from + size);
  const more = from + size < items.length;
  return { items: slice, token: more ? nameOf(slice[slice.length - 1]!) : '' };
}

/** Whether `items` (sorted by name) holds one named `name`. */
export function hasNamed(items: readonly { name: string }[], name: string): boolean {
  const i = firstAfter(items, (o) => o.name, name) - 1;
  return i >= 0 && items[i]!.name === name;
}

/** Union's refusals as its services answer them: a gRPC status and the message. */
export const invalidArgument = (message: string) => new ConnectError(message, Code.InvalidArgument);

export const failedPrecondition = (message: string) =>
  new ConnectError(message, Code.FailedPrecondition);

export const alreadyExists = (message: string) => new ConnectError(message, Code.AlreadyExists);

/** What the stand-in does not model (not a rule of Union's: its answer there is not known). */
export const unmodelled = (what: string) =>
  new ConnectError(`the stand-in does not model ${what}`, Code.Unimplemented);
