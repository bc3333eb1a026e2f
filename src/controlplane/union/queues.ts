/**
 * Queues through `cloudidl.queue.QueueService` (proto/cloudidl/queue/).
 *
 * Q3: UpdateQueue replaces the whole spec, so it is a read-modify-write from the queue as last
 * read (withManagedFields). Union has no version on queues, so a change another writer makes
 * between the read and the write is lost (docs/union.md). With `queue_move`, a new pool in
 * `spec` moves a drained queue.
 *
 * Deletes follow Union's rules (remote/_queue.py): only from DRAINED, with the
 * `state_generation` last read (`fromLatest`), so a delayed request never applies to a state
 * the caller never saw; a deleted queue keeps its name (CreateQueue: ALREADY_EXISTS).
 */
import type { Client } from '@connectrpc/connect';
import { address, type QueueSpec } from '../../model/common.js';
import type { LiveQueue, QueueMetrics } from '../../model/live.js';
import type { CreateQueueRequest } from '../../model/requests.js';
import type { Cluster } from '../../gen/cloudidl/cluster/definition_pb.js';
import { type Queue, type QueueService, QueueState } from '../../gen/cloudidl/queue/queue_pb.js';
import { ControlPlaneError } from '../errors.js';
import type { QueueCalls } from '../types.js';
import {
  clusterName,
  createSpec,
  queueFromPb,
  queueSpecToPb,
  selfSelecting,
  withManagedFields,
} from './mapping.js';
import type { Call } from './transport.js';
import { SharedReads } from '../shared-reads.js';
import { expectUnchanged, fromLatest, Latest, sweep } from './sweeps.js';

const generation = (q: Queue): bigint => q.status?.stateGeneration ?? 0n;
const stateName = (q: Queue): string =>
  (QueueState[q.status?.state ?? QueueState.UNSPECIFIED] ?? 'UNKNOWN').toLowerCase();

export class UnionQueues implements QueueCalls {
  readonly latest = new Latest<Queue>((q) => q.id?.name ?? '');
  private readonly reads = new SharedReads();

  constructor(
    private readonly service: Client<typeof QueueService>,
    private readonly org: string,
    private readonly call: Call,
    private readonly pageSize: number,
    /** The clusters part's sweep: which queues are cluster-managed. */
    private readonly clusters: () => Promise<Cluster[]>,
  ) {}

  private sweep(deleted: boolean): Promise<Queue[]> {
    return sweep(this.call, 'listQueues', this.pageSize, deleted, async (request) => {
      const res = await this.service.listQueues({ organization: this.org, request });
      return { items: res.queues, token: res.token };
    });
  }

  /** From one sweep however many ask at once. */
  raw(): Promise<Queue[]> {
    return this.reads.get('queues', async () => this.latest.all(await this.sweep(false)));
  }

  async listQueues(): Promise<LiveQueue[]> {
    const [queues, clusters] = await Promise.all([this.raw(), this.clusters()]);
    const names = new Set(clusters.map(clusterName));
    return queues.map((q) => queueFromPb(q, names));
  }

  private async read(name: string): Promise<Queue> {
    const addr = address('Queue', name);
    const res = await this.call('getQueue', addr, () =>
      this.service.getQueue({ id: { organization: this.org, name } }),
    );
    if (!res.queue) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    return this.latest.one(res.queue);
  }

  private live(q: Queue | undefined, name: string): LiveQueue {
    const known = this.remember(q, name);
    return queueFromPb(known, selfSelecting(known));
  }

  /** An answer's queue, kept as the latest seen (updateQueue's read-modify-write starts from it). */
  private remember(q: Queue | undefined, name: string): Queue {
    const addr = address('Queue', name);
    if (!q) throw new ControlPlaneError('NOT_FOUND', `${addr}: not found`, addr);
    this.latest.one(q);
    return q;
  }

  async getQueue(name: string): Promise<LiveQueue> {
    return this.live(await this.read(name), name);
  }

  /**
   * Q7: the first message of WatchQueueMetrics for the queue. Union leaves drained queues out of
   * the stream: nothing is in flight there.
   */
  async queueMetrics(name: string): Promise<QueueMetrics> {
    const queue = await this.getQueue(name);
    const addr = address('Queue', name);
    return this.call('watchQueueMetrics', addr, async () => {
      const abort = new AbortController();
      try {
        const stream = this.service.watchQueueMetrics(
          { poolId: { organization: this.org, name: queue.pool }, queueNames: [name] },
          { signal: abort.signal },
        );
        for await (const msg of stream) {
          const m = msg.metrics.find((x) => x.id?.name === name);
          if (m)
            return {
              runs_in_flight: m.runsInFlight,
              actions_in_flight: m.actionsInFlight,
              depth: m.currentDepth,
            };
          if (queue.state === 'drained')
            return { runs_in_flight: 0, actions_in_flight: 0, depth: 0 };
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
    });
  }

  createdSpec(request: CreateQueueRequest): QueueSpec {
    return createSpec(request);
  }

  async createQueue(request: CreateQueueRequest): Promise<void> {
    const spec = createSpec(request);
    const id = { organization: this.org, name: request.name };
    // AlreadyExists, after a retry or not, is the step's to judge (src/apply/steps.ts existing).
    const res = await this.call('createQueue', address('Queue', request.name), () =>
      this.service.createQueue({ id, spec: queueSpecToPb(spec), state: QueueState.ACTIVE }),
    );
    this.remember(res.queue, request.name);
  }

  async updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue> {
    const current = this.latest.get(name) ?? (await this.read(name));
    const id = { organization: this.org, name };
    const res = await this.call('updateQueue', address('Queue', name), () =>
      this.service.updateQueue({ id, spec: withManagedFields(current.spec, spec) }),
    );
    return this.live(res.queue, name);
  }

  /**
   * UpdateQueueState with the state generation poolsync read (issue 73 item 6), as Union's client
   * sends it (remote/_queue.py:944-949, 970-975); a conflict is an error (fromLatest).
   */
  async setState(name: string, state: QueueState.DRAINING | QueueState.ACTIVE): Promise<LiveQueue> {
    const addr = address('Queue', name);
    const changed = { address: addr, generation, state: stateName };
    const read = () => this.read(name);
    const res = await fromLatest(
      this.latest,
      name,
      read,
      (known) =>
        this.call('updateQueueState', addr, async (attempt) => {
          if (attempt.retried) {
            // A retry whose first attempt landed finds the state asked for.
            const current = await read();
            if (current.status?.state === state) return { queue: current };
            expectUnchanged(changed, known, current);
          }
          return this.service.updateQueueState({
            id: { organization: this.org, name },
            state,
            expectedStateGeneration: generation(known),
          });
        }),
      changed,
    );
    return this.live(res.queue, name);
  }

  async listDeletedQueues(): Promise<LiveQueue[]> {
    const queues = await this.sweep(true);
    return queues.filter((q) => q.deletedAt).map((q) => queueFromPb(q, selfSelecting(q)));
  }

  async deleteQueue(name: string): Promise<void> {
    const read = () => this.read(name);
    const addr = address('Queue', name);
    const changed = { address: addr, generation, state: stateName };
    await fromLatest(
      this.latest,
      name,
      read,
      (known) =>
        this.call('deleteQueue', addr, async (state) => {
          if (state.retried) {
            // A retry whose first attempt landed finds the queue deleted (or deleting).
            const current = await read();
            if (current.deletedAt || current.status?.state === QueueState.DELETING) return;
            expectUnchanged(changed, known, current);
          }
          await this.service.deleteQueue({
            id: { organization: this.org, name },
            expectedStateGeneration: generation(known),
          });
        }),
      changed,
    );
    this.latest.forget(name);
  }

  async undeleteQueue(name: string): Promise<LiveQueue> {
    const res = await this.call('undeleteQueue', address('Queue', name), async (state) => {
      if (state.retried) {
        // A retry whose first attempt landed finds the queue live again.
        const current = await this.read(name);
        if (!current.deletedAt) return { queue: current };
      }
      return this.service.undeleteQueue({ id: { organization: this.org, name } });
    });
    return this.live(res.queue, name);
  }
}
