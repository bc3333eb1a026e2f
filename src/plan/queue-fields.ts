/**
 * Q3 on a control plane whose queues carry more than poolsync manages (Union: caps and
 * scheduling a Queue document does not declare, and fields the .proto does not declare,
 * `LiveQueue.unknown_fields`): the backend's update is a read-modify-write, and the plan says
 * which fields it leaves alone.
 */
import type { QueueCaps } from '../model/common.js';
import type { QueueDecision } from './context.js';
import type { QueueOwn } from './queue-frame.js';
import { withNote } from './change.js';
import { reasonOf, reasonText } from './reasons.js';

/** Union's QueueSpec (proto/cloudidl/queue/queue.proto): the caps poolsync manages when declared. */
const NAMES: Record<number, keyof QueueCaps> = {
  8: 'max_resources',
  9: 'scheduling',
  10: 'max_accelerators',
};

/** Adds to an update of such a queue the note naming the fields written back unchanged. */
export function noteUnmanagedFields(own: QueueOwn, d: QueueDecision): QueueDecision {
  const declared = own.desired?.spec;
  const fields = (d.live?.unknown_fields ?? []).filter((n) => {
    const cap = NAMES[n];
    return cap === undefined || declared?.[cap] === undefined;
  });
  if (!d.call || d.call.op === 'create_queue' || fields.length === 0) return d;
  const why = reasonText(
    reasonOf('QUEUE_FIELDS_WRITTEN_BACK', {
      numbers: fields,
      names: fields.map((n) => NAMES[n] ?? ''),
    }),
  )!;
  return { ...d, change: withNote(d.change, why) };
}
