/**
 * What Union's API stand-in keeps beside the embedded store, in memory while it runs, to answer
 * as Union's client expects (flyteplugins-union 0.19.1, remote/_queue.py, _cluster.py,
 * _cluster_pool.py): the state generations of queues and clusters (state-changing requests
 * carry the one the caller read: a stale one is refused), when each object was deleted, and the
 * soft-deleted clusters and pools (soft-deleted queues are the embedded store's, capability
 * `soft_delete`). A deleted cluster or pool keeps its name reserved until undeleted.
 */
import type { PoolContract } from '../../model/common.js';
import type { LiveCluster } from '../../model/live.js';
import type { Filter } from '../../gen/flyteidl2/common/list_pb.js';
import type { Filter as CloudFilter } from '../../gen/cloudidl/common/list_pb.js';
import { failedPrecondition, unmodelled } from './pb-views.js';
import { clone, create, type UnknownField } from '@bufbuild/protobuf';
import { type QueueSpec, QueueSpecSchema } from '../../gen/cloudidl/queue/queue_pb.js';
import { unmanagedFields } from '../../controlplane/union/mapping.js';

export class Lifecycle {
  private readonly generations = new Map<string, bigint>();
  private readonly deletedAt = new Map<string, Date>();
  readonly deletedClusters = new Map<string, LiveCluster>();
  readonly deletedPools = new Map<string, PoolContract>();
  /**
   * Clusters DeleteCluster left DELETING (an active one: Union disconnects its workers and
   * reschedules its runs first, remote/_cluster.py `delete`), with when the stand-in finishes
   * that: at the first cluster or pool call once `deletingMs` have passed.
   */
  readonly deletingClusters = new Map<string, { cluster: LiveCluster; until: number }>();
  /**
   * Queues DeleteQueue left DELETING: asked while DRAINING, "it stays listed, and the system
   * moves it to ``deleted`` once its remaining state is cleaned up" (remote/_queue.py:990-996);
   * the stand-in finishes that at the first queue call once the queue's work is done.
   */
  readonly deletingQueues = new Set<string>();
  /**
   * Clusters apps are assigned to (Union's app deployments, which poolsync neither reads nor
   * writes): Union refuses to drain them (remote/_cluster.py:361). Tests assign one here.
   */
  readonly appsAssigned = new Set<string>();

  /** `deletingMs`: how long an active cluster stays DELETING (0: until the next call). */
  constructor(readonly deletingMs = 0) {}

  /** The state generation of `kind/name`: 1 from creation, +1 per state change. */
  generation(key: string): bigint {
    return this.generations.get(key) ?? 1n;
  }

  bump(key: string): void {
    this.generations.set(key, this.generation(key) + 1n);
  }

  /**
   * Refuses a request that carries a generation other than the current one: "a delayed request
   * cannot apply to a state the caller never saw" (remote/_queue.py:637-638). A field left out
   * is 0 on the wire (proto3 `uint64`, not `optional`): not "none sent" but the generation
   * "queues created before the counter existed read ... until their first transition"
   * (remote/_queue.py:639-640), which no object here has (each starts at 1). So a request
   * without the generation its sender read is refused; Union's client always sends the one it
   * read, on every drain, activate and delete of a queue or a cluster.
   */
  expect(key: string, expected: bigint): void {
    if (expected !== this.generation(key))
      throw failedPrecondition(
        `${key} changed state since it was read (generation ${expected}, now ${this.generation(key)}): read it again`,
      );
  }

  markDeleted(key: string): void {
    this.deletedAt.set(key, new Date());
    this.bump(key);
  }

  undeleted(key: string): void {
    this.deletedAt.delete(key);
    this.bump(key);
  }

  /** When `key` was deleted (a timestamp message), or undefined while it is live. */
  deletedTimestamp(key: string): { seconds: bigint; nanos: number } | undefined {
    const at = this.deletedAt.get(key);
    return at ? { seconds: BigInt(Math.floor(at.getTime() / 1000)), nanos: 0 } : undefined;
  }
}

/**
 * Whether a list asks for the deleted objects: the filter Union's client sends for
 * `--deleted` (`EXISTS deleted_at`); any other filter but `EQUAL state` is refused, so a
 * client relying on one is caught.
 */
export function listsDeleted(filters: readonly (Filter | CloudFilter)[]) {
  let deleted = false;
  let state: string | null = null;
  for (const f of filters) {
    if (f.field === 'deleted_at' && f.function === 15) deleted = true;
    else if (f.field === 'state' && f.function === 0) state = f.values[0] ?? null;
    else throw unmodelled(`a filter on ${f.field} (function ${f.function})`);
  }
  return { deleted, state };
}

/**
 * The queue fields beyond the 7 poolsync manages, as Union's API stand-in keeps them: the caps
 * and scheduling of Union's QueueSpec (`max_resources` = 8, `scheduling` = 9,
 * `max_accelerators` = 10: proto/cloudidl/queue/queue.proto, from the flyteplugins-union wheel)
 * and any field a newer client sends that the stand-in's .proto does not declare (kept as
 * protobuf unknown fields). As on Union, a queue's extras are exactly what the last CreateQueue
 * or UpdateQueue sent (UpdateQueue replaces the whole spec); kept in memory per queue name (the
 * embedded store knows only the 7 fields).
 */
export type QueueSpecExtras = Pick<QueueSpec, 'maxResources' | 'scheduling' | 'maxAccelerators'> & {
  unknown: readonly UnknownField[];
};

/** The extras of `spec`, or null when it has none. */
export function extrasOf(spec: QueueSpec | undefined): QueueSpecExtras | null {
  if (unmanagedFields(spec).length === 0) return null;
  const { maxResources, scheduling, maxAccelerators, $unknown } = clone(QueueSpecSchema, spec!);
  const unknown = ($unknown ?? []).map((f) => ({ ...f, data: f.data.slice() }));
  return { maxResources, scheduling, maxAccelerators, unknown };
}

export class QueueExtras {
  private readonly byQueue = new Map<string, QueueSpecExtras>();

  /** CreateQueue / UpdateQueue: what the spec carries beyond the 7 fields replaces the rest. */
  replace(name: string, spec: QueueSpec | undefined): void {
    const extras = extrasOf(spec);
    if (extras) this.byQueue.set(name, extras);
    else this.byQueue.delete(name);
  }

  /** Sets the queue's extras on a spec about to be sent (GetQueue, ListQueues, replies). */
  attach(name: string, spec: QueueSpec | undefined): void {
    const e = this.byQueue.get(name);
    if (!spec || !e) return;
    const c = clone(QueueSpecSchema, create(QueueSpecSchema, e));
    spec.maxResources = c.maxResources;
    spec.scheduling = c.scheduling;
    spec.maxAccelerators = c.maxAccelerators;
    if (e.unknown.length > 0) spec.$unknown = [...e.unknown];
  }

  read(name: string): QueueSpecExtras | null {
    return this.byQueue.get(name) ?? null;
  }
}
