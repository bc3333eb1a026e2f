/**
 * The union backend through the real client library (@connectrpc/connect-node) over real
 * sockets, against the embedded control plane serving Union's API, for both wire protocols.
 * What is asserted on the server side is read from the requests the server received.
 */
import type { Interceptor } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { readLiveState } from '../../../src/controlplane/types.js';
import {
  openUnion,
  rejection,
  setDefaultQueue,
  startUnionServer,
  type UnionServer,
} from './helpers.js';
import { liveQueue, poolContract, queueSpec } from '../../support/builders.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** Records each RPC's procedure and request message as the server decoded it. */
function recorder() {
  const calls: { procedure: string; message: unknown }[] = [];
  const interceptor: Interceptor = (next) => async (req) => {
    calls.push({ procedure: req.method.name, message: req.stream ? null : req.message });
    return next(req);
  };
  return {
    calls,
    interceptor,
    count: (m: string) => calls.filter((c) => c.procedure === m).length,
  };
}

describe.each(['connect', 'grpc'] as const)('union backend over %s', (protocol) => {
  it('reads pools, clusters and queues as Union reports them, in one sweep per kind', async () => {
    const rec = recorder();
    s = await startUnionServer({ interceptors: [rec.interceptor] });
    await s.embedded.createPool('gpu', poolContract('s3://gpu/meta'));
    await s.embedded.registerCluster({ name: 'g1', pool: 'gpu' });
    await s.embedded.registerCluster({ name: 'c1' });
    await s.embedded.createQueue({
      name: 'batch',
      pool: 'gpu',
      clusters: ['g1'],
      run_concurrency: 7,
      action_concurrency: 70,
      priority: 'max',
      fairness: 'shuffle_interleave',
      depth: 123,
    });
    const cp = await openUnion(s, protocol);
    const live = await readLiveState(cp);
    await cp.close();

    expect(live.capabilities).toEqual({
      drain: true,
      queue_delete: true,
      pool_update: true,
      cluster_move: true,
      queue_move: true,
      soft_delete: true,
      default_delete: true,
      unpin_first: true,
    });
    // ClusterPoolService/List: each pool with its contract.
    expect(
      live.pools.map((p) => [p.name, p.member_clusters, p.contract.object_store_ref.uri]),
    ).toEqual([
      ['default', ['c1'], 'file:///var/lib/union/default'],
      ['gpu', ['g1'], 's3://gpu/meta'],
    ]);
    expect(live.clusters.find((c) => c.name === 'g1')).toMatchObject({
      pool: 'gpu',
      enabled: true,
      bound_queues: ['batch', 'g1'],
    });
    expect(live.queues.find((q) => q.name === 'batch')).toEqual(
      liveQueue('batch', {
        pool: 'gpu',
        clusters: ['g1'],
        run_concurrency: 7,
        action_concurrency: 70,
        depth: 123,
        priority: 'max',
        fairness: 'shuffle_interleave',
        state: 'active',
      }),
    );
    expect(live.queues.find((q) => q.name === 'g1')?.cluster_managed).toBe(true);
    expect(live.assignments).toEqual([]);
    // listClusters and listQueues ran in parallel and shared the sweeps; one more ListQueues,
    // ListClusters and List (EXISTS deleted_at) read the soft-deleted queues, clusters and pools.
    expect(rec.count('ListQueues')).toBe(2);
    expect(rec.count('ListClusters')).toBe(2);
    expect(rec.count('List')).toBe(2);
  });

  it('reads every page (page size 2, 6 queues) and sends the org on each call', async () => {
    const rec = recorder();
    s = await startUnionServer({ interceptors: [rec.interceptor] });
    for (const n of ['a', 'b', 'c', 'd', 'e'])
      await s.embedded.createQueue({ name: n, run_concurrency: 1, action_concurrency: 1 });
    const cp = await openUnion(s, protocol, undefined, { pageSize: 2 });
    const names = (await cp.queues.listQueues()).map((q) => q.name);
    await cp.close();
    expect(names).toEqual(['a', 'b', 'c', 'd', 'default', 'e']);
    expect(rec.count('ListQueues')).toBe(3);
    for (const c of rec.calls.filter((x) => x.procedure === 'ListQueues'))
      expect((c.message as { organization: string }).organization).toBe('acme');
  });

  it('UpdateQueue sends the whole spec (Q3): changing one field never drops another', async () => {
    const rec = recorder();
    s = await startUnionServer({ interceptors: [rec.interceptor] });
    await s.embedded.registerCluster({ name: 'c1' });
    const cp = await openUnion(s, protocol);
    const spec = queueSpec({
      clusters: ['c1'],
      run_concurrency: 4,
      action_concurrency: 40,
      depth: 77,
      priority: 'min',
      fairness: 'shuffle_interleave',
    });
    await cp.queues.createQueue({ name: 'q', ...spec });
    const updated = await cp.queues.updateQueue('q', { ...spec, run_concurrency: 5 });
    await cp.close();
    expect(updated).toMatchObject({ ...spec, run_concurrency: 5 });
    expect(await s.embedded.getQueue('q')).toMatchObject({ ...spec, run_concurrency: 5 });
    const sent = rec.calls.find((c) => c.procedure === 'UpdateQueue')!.message as {
      spec: Record<string, unknown>;
    };
    expect(sent.spec).toMatchObject({
      runConcurrency: 5,
      actionConcurrency: 40,
      depth: 77,
      priority: 1, // PRIORITY_MIN
      fairness: 2, // FAIRNESS_ALGORITHM_SHUFFLE_INTERLEAVE
      clusters: ['c1'],
      clusterPoolName: 'default',
    });
  });

  it('queue metrics come from the first WatchQueueMetrics message (Q7)', async () => {
    s = await startUnionServer();
    await s.embedded.registerCluster({ name: 'c1' });
    await s.embedded.setQueueActivity('c1', { runs_in_flight: 3, actions_in_flight: 9 });
    const cp = await openUnion(s, protocol);
    expect(await cp.queues.queueMetrics('c1')).toEqual({
      runs_in_flight: 3,
      actions_in_flight: 9,
      depth: expect.any(Number),
    });
    const missing = await rejection(cp.queues.queueMetrics('nope'));
    await cp.close();
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toContain('Queue/nope');
    expect(missing.message).toContain('NOT_FOUND from cloudidl.queue.QueueService/GetQueue');
  });

  it('deletes a cluster through DeleteCluster; server errors keep their message and map their code', async () => {
    s = await startUnionServer();
    await s.embedded.registerCluster({ name: 'c1' });
    const cp = await openUnion(s, protocol);
    await cp.clusters.deleteCluster('c1');
    expect(await s.embedded.listClusters()).toEqual([]);
    const gone = await rejection(cp.clusters.getCluster('c1'));
    expect(gone.code).toBe('NOT_FOUND');
    const dup = await rejection(
      cp.queues.createQueue({ name: 'default', run_concurrency: 0, action_concurrency: 0 }),
    );
    expect(dup.code).toBe('ALREADY_EXISTS');
    // A queue a run.default_queue setting names drains like any other, but is never deleted
    // (remote/_queue.py:934-938, 1011-1012): FAILED_PRECONDITION with the server's reason.
    await s.embedded.createQueue({ name: 'batch', run_concurrency: 1, action_concurrency: 1 });
    setDefaultQueue(s, 'ml', 'production', 'batch');
    expect((await cp.capabilityCalls.drainQueue('batch')).state).toBe('drained');
    const del = await rejection(cp.capabilityCalls.deleteQueue('batch'));
    expect((await cp.capabilityCalls.drainQueue('default')).state).toBe('drained');
    await cp.close();
    expect(del.code).toBe('FAILED_PRECONDITION');
    expect(del.message).toContain('cannot be deleted');
    expect(del.message).toContain('DeleteQueue');
  });

  it('pools, clusters and queue deletes go through the API (flyteplugins-union definitions)', async () => {
    const rec = recorder();
    s = await startUnionServer({ interceptors: [rec.interceptor] });
    const cp = await openUnion(s, protocol);
    const contract = poolContract('s3://gpu/meta', {
      image_registry: { locator: 'reg.example.com/union' },
    });
    expect(await cp.pools.createPool('gpu', contract)).toMatchObject({ name: 'gpu', contract });
    expect(rec.count('Create')).toBe(1);
    await cp.capabilityCalls.updatePool('gpu', { ...contract, image_registry: null });
    expect((await cp.pools.getPool('gpu')).contract.image_registry).toBeNull();
    await cp.clusters.registerCluster({ name: 'g1', pool: 'gpu' });
    expect(rec.count('CreateCluster')).toBe(1);
    expect(await cp.clusters.getCluster('g1')).toMatchObject({ pool: 'gpu', enabled: true });
    // enabled is Union's drain state, changed with the generation just read.
    expect((await cp.clusters.updateCluster('g1', { enabled: false })).enabled).toBe(false);
    const state = rec.calls.find((c) => c.procedure === 'UpdateClusterState')!.message as {
      expectedGeneration: bigint;
    };
    expect(state.expectedGeneration).toBe(1n);
    expect((await cp.clusters.updateCluster('g1', { enabled: true })).enabled).toBe(true);
    expect((await cp.queues.getQueue('g1')).cluster_managed).toBe(true);
    await cp.capabilityCalls.drainQueue('g1');
    expect((await cp.capabilityCalls.moveCluster('g1', 'default')).pool).toBe('default');
    // A queue: drained, then deleted; its name stays reserved until undeleted.
    await cp.queues.createQueue({ name: 'batch', run_concurrency: 1, action_concurrency: 1 });
    await expect(cp.capabilityCalls.deleteQueue('batch')).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    await cp.capabilityCalls.drainQueue('batch');
    await cp.capabilityCalls.deleteQueue('batch');
    expect((await cp.queues.listQueues()).map((q) => q.name)).not.toContain('batch');
    expect((await cp.queues.listDeletedQueues()).map((q) => q.name)).toEqual(['batch']);
    const again = await rejection(
      cp.queues.createQueue({ name: 'batch', run_concurrency: 1, action_concurrency: 1 }),
    );
    expect(again.code).toBe('ALREADY_EXISTS');
    expect(await cp.queues.undeleteQueue('batch')).toMatchObject({
      name: 'batch',
      state: 'drained',
    });
    expect(await cp.queues.listDeletedQueues()).toEqual([]);
    const live = await readLiveState(cp);
    expect(live.pools.map((p) => p.name)).toEqual(['default', 'gpu']);
    expect(live.pools.every((p) => p.contract_known === undefined)).toBe(true);
    await cp.clusters.deleteCluster('g1');
    await cp.pools.deletePool('gpu');
    expect((await cp.pools.listPools()).map((p) => p.name)).toEqual(['default']);
    await cp.close();
  });
});
