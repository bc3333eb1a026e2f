/**
 * Retries (transport.ts withRetry): backoff on UNAVAILABLE, RESOURCE_EXHAUSTED and
 * DEADLINE_EXCEEDED only, over real sockets; a create whose answer was lost is not reported as
 * a conflict by its step (src/apply/steps.ts existing, which judges every ALREADY_EXISTS).
 */
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlPlaneError } from '../../../src/controlplane/errors.js';
import { openUnion, startUnionServer, type UnionServer } from './helpers.js';
import type { PoolContract } from '../../../src/model/common.js';
import { poolContract } from '../../support/builders.js';
import { runCallStep } from '../../../src/apply/steps.js';
import { queueSpecWithDefaults } from '../../../src/model/common.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** Fails the first `n` calls of `method` with `code`, before (or after) carrying them out. */
function flaky(method: string, n: number, code: Code, after = false) {
  let seen = 0;
  const interceptor: Interceptor = (next) => async (req) => {
    if (req.method.name !== method) return next(req);
    seen++;
    if (seen > n) return next(req);
    if (after) await next(req);
    throw new ConnectError(`simulated ${Code[code]}`, code);
  };
  return { interceptor, seen: () => seen };
}

describe.each(['connect', 'grpc'] as const)('retries over %s', (protocol) => {
  for (const code of [Code.Unavailable, Code.ResourceExhausted, Code.DeadlineExceeded]) {
    it(`retries ${Code[code]} with backoff and succeeds`, async () => {
      const f = flaky('ListQueues', 2, code);
      s = await startUnionServer({ interceptors: [f.interceptor] });
      const cp = await openUnion(s, protocol);
      expect((await cp.queues.listQueues()).map((q) => q.name)).toEqual(['default']);
      await cp.close();
      expect(f.seen()).toBe(3);
    });
  }

  it('does not retry a refusal (INVALID_ARGUMENT); retries a 5xx (INTERNAL) on a List or Get (issue 46, item 9)', async () => {
    const bad = flaky('GetQueue', 5, Code.InvalidArgument);
    const internal = flaky('ListClusters', 2, Code.Internal);
    const unknown = flaky('GetCluster', 1, Code.Unknown);
    s = await startUnionServer({
      interceptors: [bad.interceptor, internal.interceptor, unknown.interceptor],
    });
    await s.embedded.registerCluster({ name: 'c1' });
    const cp = await openUnion(s, protocol);
    await expect(cp.queues.getQueue('default')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await cp.clusters.listClusters()).map((c) => c.name)).toEqual(['c1']);
    expect((await cp.clusters.getCluster('c1')).name).toBe('c1');
    await cp.close();
    expect(bad.seen()).toBe(1);
    expect(internal.seen()).toBe(3);
    expect(unknown.seen()).toBe(2);
  });

  it('gives up after the retry budget with UNAVAILABLE and the server message', async () => {
    const f = flaky('ListQueues', 100, Code.Unavailable);
    s = await startUnionServer({ interceptors: [f.interceptor] });
    const cp = await openUnion(s, protocol);
    const err = await cp.queues.listQueues().catch((e: unknown) => e as ControlPlaneError);
    await cp.close();
    expect(err).toMatchObject({ code: 'UNAVAILABLE' });
    expect((err as Error).message).toContain('simulated Unavailable');
    expect(f.seen()).toBe(5); // 1 + maxRetries 4
  });

  it('a create carried out but answered UNAVAILABLE is retried; its step finds it as it made it: done, not a conflict', async () => {
    const f = flaky('CreateQueue', 1, Code.Unavailable, true);
    s = await startUnionServer({ interceptors: [f.interceptor] });
    const cp = await openUnion(s, protocol);
    // Its scheduling undeclared: Union's create sets strict_fifo (mapping.ts createSpec).
    const args = queueSpecWithDefaults({ run_concurrency: 2, action_concurrency: 3 });
    const step = { id: 's1', target: 'Queue/q', depends_on: [] };
    const outcome = await runCallStep(cp, {
      ...step,
      op: 'create_queue',
      args: { name: 'q', ...args },
    });
    const q = await cp.queues.getQueue('q');
    await cp.close();
    expect(outcome).toEqual({ note: 'already exists' });
    expect(q).toMatchObject({ name: 'q', run_concurrency: 2, action_concurrency: 3 });
    expect(f.seen()).toBe(2);
  });

  it('so is a pool create, its contract given in any key order', async () => {
    const f = flaky('Create', 1, Code.Unavailable, true);
    s = await startUnionServer({ interceptors: [f.interceptor] });
    const cp = await openUnion(s, protocol);
    // Each record's keys in the reverse of the schema's order.
    const reversed = (v: unknown): unknown =>
      typeof v === 'object' && v !== null
        ? Object.fromEntries(
            Object.entries(v)
              .map(([k, x]) => [k, reversed(x)])
              .reverse(),
          )
        : v;
    const contract = reversed(
      poolContract('s3://gpu/meta', { image_registry: { locator: 'reg.example.com/union' } }),
    ) as PoolContract;
    const step = { id: 's1', target: 'ClusterPool/gpu', depends_on: [] };
    const outcome = await runCallStep(cp, {
      ...step,
      op: 'create_pool',
      args: { name: 'gpu', contract },
    });
    const pool = await cp.pools.getPool('gpu');
    await cp.close();
    expect(outcome).toEqual({ note: 'already exists' });
    expect(pool).toMatchObject({ name: 'gpu', contract });
    expect(f.seen()).toBe(2);
  });
});
