/**
 * Queue deletes and undeletes through `cloudidl.queue.QueueService` (proto/cloudidl/queue/, from
 * the flyteplugins-union wheel). Union's rules (its client's docstrings, remote/_queue.py): a
 * queue is deleted only from DRAINED, with the `state_generation` it was read at (so a delayed
 * request never applies to a state the caller never saw); a deleted queue keeps its name
 * reserved (CreateQueue: ALREADY_EXISTS) and is listed only with the filter `EXISTS deleted_at`;
 * UndeleteQueue brings it back DRAINED with the spec it had.
 */
import type { Client } from '@connectrpc/connect';
import { address } from '../../model/common.js';
import type { LiveQueue } from '../../model/live.js';
import type { QueueService } from '../../gen/cloudidl/queue/queue_pb.js';
import { type Queue } from '../../gen/cloudidl/queue/queue_pb.js';
import { Filter_Function } from '../../gen/flyteidl2/common/list_pb.js';
import { ControlPlaneError } from '../errors.js';
import type { Call } from './calls.js';
import { queueFromPb, selfSelecting } from './mapping.js';
import { sweep } from './sweeps.js';

export class UnionQueueLifecycle {
  constructor(
    private readonly service: Client<typeof QueueService>,
    private readonly org: string,
    private readonly call: Call,
    private readonly pageSize: number,
  ) {}

  private async read(name: string): Promise<Queue> {
    const addr = address('Queue', name);
    const res = await this.call('getQueue', addr, () =>
      this.service.getQueue({ id: { organization: this.org, name } }),
    );
    if (!res.queue) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    return res.queue;
  }

  /** The soft-deleted queues (ListQueues with `EXISTS deleted_at`, as Union's client lists them). */
  async listDeleted(): Promise<LiveQueue[]> {
    const queues = await sweep(async (token) => {
      const res = await this.call('listQueues', null, () =>
        this.service.listQueues({
          organization: this.org,
          request: {
            limit: this.pageSize,
            token,
            filters: [{ function: Filter_Function.EXISTS, field: 'deleted_at' }],
          },
        }),
      );
      return { items: res.queues, token: res.token };
    });
    return queues.filter((q) => q.deletedAt).map((q) => queueFromPb(q, selfSelecting(q)));
  }

  async delete(name: string): Promise<void> {
    await this.call('deleteQueue', address('Queue', name), async (state) => {
      const current = await this.read(name);
      // A retry whose first attempt landed finds the queue deleted.
      if (state.retried && current.deletedAt) return;
      await this.service.deleteQueue({
        id: { organization: this.org, name },
        expectedStateGeneration: current.status?.stateGeneration ?? 0n,
      });
    });
  }

  async undelete(name: string): Promise<LiveQueue> {
    const addr = address('Queue', name);
    const q = await this.call('undeleteQueue', addr, async (state) => {
      if (state.retried) {
        const current = await this.read(name);
        if (!current.deletedAt) return current;
      }
      const res = await this.service.undeleteQueue({ id: { organization: this.org, name } });
      if (!res.queue) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
      return res.queue;
    });
    return queueFromPb(q, selfSelecting(q));
  }
}
