/**
 * A queue changed beside poolsync, as a user's own tool would: read the queue, then write its
 * whole spec (an update replaces all of it, Q3) with some fields changed.
 */
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { QueueCalls } from '../../src/controlplane/types.js';
import { pick, QUEUE_SPEC_FIELDS, type QueueSpec } from '../../src/model/common.js';

export async function retuneQueue(
  cp: Pick<QueueCalls, 'getQueue' | 'updateQueue'>,
  name: string,
  fields: Partial<QueueSpec>,
): Promise<void> {
  await cp.updateQueue(name, { ...pick(await cp.getQueue(name), QUEUE_SPEC_FIELDS), ...fields });
}

/** retuneQueue by another writer of the embedded state at PATH, opened and closed around it. */
export async function retuneQueueAt(
  path: string,
  name: string,
  fields: Partial<QueueSpec>,
): Promise<void> {
  const writer = await EmbeddedControlPlane.open({ path });
  try {
    await retuneQueue(writer, name, fields);
  } finally {
    await writer.close();
  }
}
