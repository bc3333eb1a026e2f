/**
 * Q3 on a control plane whose queues carry more than poolsync manages (Union: fields its
 * .proto does not declare, `LiveQueue.unknown_fields`): the backend's update is a
 * read-modify-write, and the plan says which fields it leaves alone.
 */
import type { QueueDecision } from './context.js';

/** Adds to an update of such a queue the note naming the fields written back unchanged. */
export function noteUnmanagedFields(d: QueueDecision): QueueDecision {
  const fields = d.live?.unknown_fields ?? [];
  if (!d.call || d.call.op === 'create_queue' || fields.length === 0) return d;
  const one = fields.length === 1;
  const why =
    `the update replaces the whole queue spec, so poolsync reads the queue first and sets only the 7 fields it ` +
    `manages: spec ${one ? 'field' : 'fields'} ${listNumbers(fields)}, which poolsync's queue definition does not ` +
    `declare (Union documents max_resources, max_accelerators and scheduling without a public wire definition), ` +
    `${one ? 'is' : 'are'} written back unchanged`;
  d.change.note = d.change.note ? `${d.change.note}; ${why}` : why;
  return d;
}

function listNumbers(n: readonly number[]): string {
  return n.length === 1 ? String(n[0]) : `${n.slice(0, -1).join(', ')} and ${n[n.length - 1]}`;
}
