/**
 * The queue fields beyond the 7 poolsync manages, as Union's API stand-in keeps them: the caps
 * and scheduling of Union's QueueSpec (`max_resources` = 8, `scheduling` = 9,
 * `max_accelerators` = 10: proto/cloudidl/queue/queue.proto, from the flyteplugins-union wheel)
 * and any field a newer client sends that the stand-in's .proto does not declare (kept as
 * protobuf unknown fields).
 *
 * The stand-in behaves as Union does: the extras of a queue are exactly what the last
 * CreateQueue or UpdateQueue sent (none sent: none kept, so a client that drops them on an update
 * erases them: UpdateQueue replaces the whole spec), and every read returns them. They are kept in
 * memory, per queue name, while the server runs (the embedded store knows only the 7 fields).
 */
import { clone, create, type UnknownField } from '@bufbuild/protobuf';
import { QueueSpecSchema, type QueueSpec } from '../../gen/cloudidl/queue/queue_pb.js';

/** The fields of a QueueSpec that are not poolsync's 7. */
export type QueueSpecExtras = Pick<QueueSpec, 'maxResources' | 'scheduling' | 'maxAccelerators'> & {
  unknown: readonly UnknownField[];
};

/** The extras of `spec`, or null when it has none. */
export function extrasOf(spec: QueueSpec | undefined): QueueSpecExtras | null {
  if (!spec) return null;
  const c = clone(QueueSpecSchema, spec);
  const unknown = (c.$unknown ?? []).map((f) => ({ ...f, data: f.data.slice() }));
  const none =
    c.maxResources.length === 0 &&
    c.scheduling === 0 &&
    c.maxAccelerators.length === 0 &&
    unknown.length === 0;
  return none
    ? null
    : {
        maxResources: c.maxResources,
        scheduling: c.scheduling,
        maxAccelerators: c.maxAccelerators,
        unknown,
      };
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

  forget(name: string): void {
    this.byQueue.delete(name);
  }

  /** Moves a queue's extras to another key (a soft-deleted queue keeps them). */
  rename(from: string, to: string): void {
    const e = this.byQueue.get(from);
    this.byQueue.delete(from);
    if (e) this.byQueue.set(to, e);
  }

  /** The extras of a queue (tests, inspection), or null. */
  read(name: string): QueueSpecExtras | null {
    return this.byQueue.get(name) ?? null;
  }
}
