/**
 * Queue settings that the union backend's .proto does not declare, as Union's API stand-in
 * keeps them. Union's documentation describes queue fields beyond the 7 of the published
 * QueueSpec (`max_resources`, `max_accelerators`, `scheduling`: user guide, "cluster workload
 * management") and says the update API replaces the full queue spec, without publishing their
 * wire definition; proto/poolsync/standin/queue_extras.proto gives them invented numbers (8+).
 *
 * The stand-in behaves as Union is documented to: the extras of a queue are exactly the fields
 * beyond 7 that the last CreateQueue or UpdateQueue sent (none sent: none kept, so a client that
 * drops them on an update erases them), and every read returns them. They are kept in memory,
 * per queue name, while the server runs (the embedded store itself knows only the 7 fields).
 */
import { create, fromBinary, toBinary, type UnknownField } from '@bufbuild/protobuf';
import { QueueSpecSchema, type QueueSpec } from '../../gen/cloudidl/queue/queue_pb.js';
import {
  QueueSpecExtensionsSchema,
  type QueueSpecExtensions,
} from '../../gen/poolsync/standin/queue_extras_pb.js';

export class QueueExtras {
  private readonly byQueue = new Map<string, readonly UnknownField[]>();

  /** CreateQueue / UpdateQueue: what the spec carries beyond the 7 fields replaces the rest. */
  replace(name: string, spec: QueueSpec | undefined): void {
    const unknown = spec?.$unknown ?? [];
    if (unknown.length === 0) this.byQueue.delete(name);
    else
      this.byQueue.set(
        name,
        unknown.map((f) => ({ ...f, data: f.data.slice() })),
      );
  }

  /** Sets the queue's extras on a spec about to be sent (GetQueue, ListQueues, replies). */
  attach(name: string, spec: QueueSpec | undefined): void {
    const unknown = this.byQueue.get(name);
    if (spec && unknown) spec.$unknown = [...unknown];
  }

  forget(name: string): void {
    this.byQueue.delete(name);
  }

  /** The extras of a queue, decoded with the stand-in's definition (tests, inspection). */
  read(name: string): QueueSpecExtensions | null {
    const unknown = this.byQueue.get(name);
    return unknown ? decodeQueueExtras([...unknown]) : null;
  }
}

/** `extras` as the unknown fields a cloudidl.queue.QueueSpec decoded from Union's bytes has. */
export function encodeQueueExtras(extras: QueueSpecExtensions): UnknownField[] {
  const bytes = toBinary(QueueSpecExtensionsSchema, extras);
  return fromBinary(QueueSpecSchema, bytes).$unknown ?? [];
}

/** The fields beyond 7 of a QueueSpec, read with the stand-in's definition. */
export function decodeQueueExtras(unknown: UnknownField[]): QueueSpecExtensions {
  const carrier = create(QueueSpecSchema);
  carrier.$unknown = unknown;
  return fromBinary(QueueSpecExtensionsSchema, toBinary(QueueSpecSchema, carrier));
}
