/**
 * Q7 through QueueService/WatchQueueMetrics: the first message of the stream for one queue,
 * then the stream is closed. Union leaves drained queues out of the stream: nothing is in
 * flight there.
 */
import type { Client } from '@connectrpc/connect';
import { address } from '../../model/common.js';
import type { LiveQueue, QueueMetrics } from '../../model/live.js';
import type { QueueService } from '../../gen/cloudidl/queue/queue_pb.js';
import { ControlPlaneError } from '../errors.js';

export async function firstQueueMetrics(
  queues: Client<typeof QueueService>,
  org: string,
  queue: LiveQueue,
): Promise<QueueMetrics> {
  const addr = address('Queue', queue.name);
  const abort = new AbortController();
  try {
    const stream = queues.watchQueueMetrics(
      { poolId: { organization: org, name: queue.pool }, queueNames: [queue.name] },
      { signal: abort.signal },
    );
    for await (const msg of stream) {
      const m = msg.metrics.find((x) => x.id?.name === queue.name);
      if (m)
        return {
          runs_in_flight: m.runsInFlight,
          actions_in_flight: m.actionsInFlight,
          depth: m.currentDepth,
        };
      if (queue.state === 'drained') return { runs_in_flight: 0, actions_in_flight: 0, depth: 0 };
      break;
    }
    throw new ControlPlaneError(
      'NOT_FOUND',
      `${addr}: WatchQueueMetrics of pool "${queue.pool}" sent no metrics for the queue`,
      addr,
    );
  } finally {
    abort.abort();
  }
}
