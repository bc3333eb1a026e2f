/**
 * Q3 on a control plane whose queues carry more than poolsync manages (Union: its caps and
 * scheduling, and fields the .proto does not declare, `LiveQueue.unknown_fields`): the backend's update is a
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
    `manages: spec ${one ? 'field' : 'fields'} ${listNumbers(fields)} (${fields.map(fieldName).join(', ')}), which poolsync ` +
    `does not manage, ${one ? 'is' : 'are'} written back unchanged`;
  d.change.note = d.change.note ? `${d.change.note}; ${why}` : why;
  return d;
}

/** Union's QueueSpec (proto/cloudidl/queue/queue.proto). */
const NAMES: Record<number, string> = {
  8: 'max_resources',
  9: 'scheduling',
  10: 'max_accelerators',
};

function fieldName(n: number): string {
  return NAMES[n] ?? `field ${n}, not in poolsync's definition`;
}

function listNumbers(n: readonly number[]): string {
  return n.length === 1 ? String(n[0]) : `${n.slice(0, -1).join(', ')} and ${n[n.length - 1]}`;
}
