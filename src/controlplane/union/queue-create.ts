/** CreateQueue made safe to retry: a retry that finds its own first attempt's queue reads it. */
import type { Client } from '@connectrpc/connect';
import type { QueueSpec } from '../../model/common.js';
import { QueueState, type Queue, type QueueService } from '../../gen/cloudidl/queue/queue_pb.js';
import { queueSpecFromPb, queueSpecToPb } from './mapping.js';
import { isCode } from './transport.js';

/**
 * CreateQueue of `name` with `spec`, ACTIVE. On a retry (`retried`), AlreadyExists with the
 * very spec sent means the first attempt landed: the queue is read back instead of failing.
 */
export async function createQueueOnce(
  service: Client<typeof QueueService>,
  org: string,
  name: string,
  spec: QueueSpec,
  retried: boolean,
): Promise<{ queue?: Queue | undefined }> {
  const id = { organization: org, name };
  try {
    return await service.createQueue({ id, spec: queueSpecToPb(spec), state: QueueState.ACTIVE });
  } catch (err) {
    if (retried && isCode(err, 'AlreadyExists')) {
      const got = await service.getQueue({ id });
      if (sameSpec(queueSpecFromPb(got.queue?.spec), spec)) return got;
    }
    throw err;
  }
}

function sameSpec(a: QueueSpec, b: QueueSpec): boolean {
  return sorted(a) === sorted(b);
}

/** JSON with object keys sorted (caps maps included): equal specs give equal text. */
function sorted(v: unknown): string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${sorted(o[k])}`).join(',')}}`;
}
