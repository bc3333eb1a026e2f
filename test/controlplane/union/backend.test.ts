/**
 * The union backend through the real client library (@connectrpc/connect-node) over real
 * sockets, against the embedded control plane serving Union's API, for both wire protocols.
 * What is asserted on the server side is read from the requests the server received.
 */
import type { Interceptor } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { readLiveState } from '../../../src/controlplane/types.js';
import type { QueueSpec } from '../../../src/model/common.js';
import type { Step } from '../../../src/model/plan.js';
import { apiKey, openUnion, rejection, startUnionServer, type UnionServer } from './helpers.js';

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
    await s.embedded.createPool('gpu', {
      object_store_ref: { uri: 's3://gpu/meta', endpoint: '' },
      secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
      image_registry: null,
    });
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
    });
    expect(live.pools.map((p) => [p.name, p.member_clusters, p.contract_known])).toEqual([
      ['default', ['c1'], false],
      ['gpu', ['g1'], false],
    ]);
    expect(live.clusters.find((c) => c.name === 'g1')).toMatchObject({
      pool: 'gpu',
      enabled: true,
      bound_queues: ['batch', 'g1'],
    });
    expect(live.queues.find((q) => q.name === 'batch')).toEqual({
      name: 'batch',
      pool: 'gpu',
      clusters: ['g1'],
      run_concurrency: 7,
      action_concurrency: 70,
      depth: 123,
      priority: 'max',
      fairness: 'shuffle_interleave',
      state: 'active',
      cluster_managed: false,
      available_clusters: [],
    });
    expect(live.queues.find((q) => q.name === 'g1')?.cluster_managed).toBe(true);
    expect(live.assignments).toEqual([]);
    // listPools, listClusters and listQueues ran in parallel and shared the sweeps.
    expect(rec.count('ListQueues')).toBe(1);
    expect(rec.count('ListClusters')).toBe(1);
  });

  it('reads every page (page size 2, 6 queues) and sends the org on each call', async () => {
    const rec = recorder();
    s = await startUnionServer({ interceptors: [rec.interceptor] });
    for (const n of ['a', 'b', 'c', 'd', 'e'])
      await s.embedded.createQueue({ name: n, run_concurrency: 1, action_concurrency: 1 });
    const cp = await openUnion(s, protocol, undefined, { pageSize: 2 });
    const names = (await cp.listQueues()).map((q) => q.name);
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
    const spec: QueueSpec = {
      pool: 'default',
      clusters: ['c1'],
      run_concurrency: 4,
      action_concurrency: 40,
      depth: 77,
      priority: 'min',
      fairness: 'shuffle_interleave',
    };
    await cp.createQueue({ name: 'q', ...spec });
    const updated = await cp.updateQueue('q', { ...spec, run_concurrency: 5 });
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
    expect(await cp.queueMetrics('c1')).toEqual({
      runs_in_flight: 3,
      actions_in_flight: 9,
      depth: expect.any(Number),
    });
    const missing = await rejection(cp.queueMetrics('nope'));
    await cp.close();
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toContain('Queue/nope');
    expect(missing.message).toContain('NOT_FOUND from cloudidl.queue.QueueService/GetQueue');
  });

  it('deletes a cluster through DeleteCluster; server errors keep their message and map their code', async () => {
    s = await startUnionServer();
    await s.embedded.registerCluster({ name: 'c1' });
    const cp = await openUnion(s, protocol);
    await cp.deleteCluster('c1');
    expect(await s.embedded.listClusters()).toEqual([]);
    const gone = await rejection(cp.getCluster('c1'));
    expect(gone.code).toBe('NOT_FOUND');
    const dup = await rejection(
      cp.createQueue({ name: 'default', run_concurrency: 0, action_concurrency: 0 }),
    );
    expect(dup.code).toBe('ALREADY_EXISTS');
    // The `default` queue is never drained: FAILED_PRECONDITION with the server's reason.
    const drain = await rejection(cp.drainQueue('default'));
    await cp.close();
    expect(drain.code).toBe('FAILED_PRECONDITION');
    expect(drain.message).toContain('cannot be drained');
    expect(drain.message).toContain('UpdateQueueState');
  });

  it('operations without a public RPC say so and name the flyte command; manualStep plans them', async () => {
    s = await startUnionServer();
    const cp = await openUnion(s, protocol);
    // Pinned to the org and endpoint of --control-plane, whatever a local flyte config says.
    const flyte = `flyte --endpoint dns:///${s.host} --org acme --insecure`;
    const contract = {
      object_store_ref: { uri: 's3://b/p', endpoint: '' },
      secret_store: { type: 'AWS_SECRETS_MANAGER' as const, locator: 'us-east-1' },
      image_registry: { locator: 'reg.example.com/union' },
    };
    const pool = await rejection(cp.createPool('prod', contract));
    expect(pool.code).toBe('FAILED_PRECONDITION');
    expect(pool.message).toContain('no public API');
    expect(pool.message).toContain(`${flyte} create cluster-pool prod --file prod-pool.yaml`);
    expect((await rejection(cp.registerCluster({ name: 'c9', pool: 'prod' }))).message).toContain(
      `${flyte} create cluster c9 --pool prod`,
    );
    expect((await rejection(cp.moveCluster('c9', 'gpu'))).message).toContain(
      `${flyte} update cluster c9 --pool gpu --yes`,
    );
    expect((await rejection(cp.deleteQueue('q'))).message).toContain(
      `${flyte} delete queue q --yes`,
    );
    expect((await rejection(cp.deletePool('prod'))).message).toContain(
      `${flyte} delete cluster-pool prod --yes`,
    );

    const step = (op: Step['op'], args: unknown): Step =>
      ({ op, args, id: 's1', target: 'x', depends_on: [] }) as unknown as Step;
    const m = cp.backend.manualStep!(step('create_pool', { name: 'prod', contract }))!;
    expect(m.command).toBe(`${flyte} create cluster-pool prod --file prod-pool.yaml`);
    // The key reaches the CLI through the environment, never the command line.
    expect(m.credentials).toBe('export FLYTE_API_KEY="$POOLSYNC_UNION_API_KEY"');
    expect(cp.manualCommandEnv()).toEqual({ FLYTE_API_KEY: apiKey(s.host) });
    for (const [enabled, flag] of [
      [true, '--activate'],
      [false, '--drain'],
    ] as const) {
      expect(cp.backend.manualStep!(step('update_cluster', { name: 'c9', enabled }))!.command).toBe(
        `${flyte} update cluster c9 ${flag} --yes`,
      );
    }
    expect(m.file).toEqual({
      name: 'prod-pool.yaml',
      content: [
        'name: prod',
        'config:',
        '  object_store_ref:',
        '    uri: s3://b/p',
        "    endpoint: ''",
        '  secret_store:',
        '    type: AWS_SECRETS_MANAGER',
        '    locator: us-east-1',
        '  image_registry:',
        '    locator: reg.example.com/union',
        '',
      ].join('\n'),
    });
    expect(
      cp.backend.manualStep!(step('register_cluster', { name: 'c9', pool: 'prod' }))!.command,
    ).toBe(`${flyte} create cluster c9 --pool prod`);
    for (const op of [
      'create_queue',
      'update_queue',
      'move_queue',
      'delete_cluster',
      'wait_idle',
    ] as const)
      expect(cp.backend.manualStep!(step(op, { name: 'q' }))).toBeNull();
    await cp.close();
  });
});
