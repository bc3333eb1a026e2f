/**
 * Union throttling: a stand-in that answers RESOURCE_EXHAUSTED with a delay
 * (google.rpc.RetryInfo) to the first UpdateQueue of some queues. Refusing every queue's first
 * call, the apply obeys it (no queue's call comes again before the delay it was given), lowers
 * its calls in flight while throttled and says so, and completes. Refusing one queue's, that
 * call alone waits: every other update lands meanwhile, the pace unchanged. Injected clocks
 * (test/support/virtual-clock.ts): the 2 s delays cost none.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { afterEach, expect, it } from 'vitest';
import { executePlan } from '../../../src/apply/executor.js';
import { openControlPlane } from '../../../src/controlplane/open.js';
import type { ControlPlane } from '../../../src/controlplane/types.js';
import { RetryInfoSchema } from '../../../src/gen/google/rpc/error_details_pb.js';
import { planRepository } from '../../../src/ops/plan-run.js';
import type { PaceEvent } from '../../../src/util/pacer.js';
import { tempDir, writeRepo } from '../../support/repo.js';
import type { Clock } from '../../../src/util/clock.js';
import { until } from '../../support/until.js';
import { ManualClock, VirtualClock } from '../../support/virtual-clock.js';
import { apiKey, startUnionServer, type UnionServer } from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const DELAY_MS = 2_000;
const QUEUES = 24;

/**
 * Throttles the first UpdateQueue of each queue `refuses` (all by default); counts a call of
 * that queue before its delay.
 */
function throttling(clock: Clock, refuses: (queue: string) => boolean = () => true) {
  const heldUntil = new Map<string, number>();
  const seen = { throttled: 0, early: 0, inFlight: 0, mostInFlightAfter: 0 };
  const interceptor: Interceptor = (next) => async (req) => {
    if (req.method.name !== 'UpdateQueue') return next(req);
    const name = (req.message as { id?: { name?: string } }).id?.name ?? '';
    const hold = heldUntil.get(name);
    if (hold !== undefined && clock.now() < hold) seen.early++;
    if (refuses(name) && (hold === undefined || clock.now() < hold)) {
      seen.throttled++;
      heldUntil.set(name, clock.now() + DELAY_MS);
      throw new ConnectError('rate limited', Code.ResourceExhausted, undefined, [
        { desc: RetryInfoSchema, value: { retryDelay: { seconds: BigInt(DELAY_MS / 1000) } } },
      ]);
    }
    seen.inFlight++;
    seen.mostInFlightAfter = Math.max(seen.mostInFlightAfter, seen.inFlight);
    try {
      return await next(req);
    } finally {
      seen.inFlight--;
    }
  };
  return { interceptor, seen };
}

/** QUEUES queues on the stand-in (`t` in front), a repository retuning each, and a plan of it. */
async function planned(t: ReturnType<typeof throttling>, clock: Clock, events: PaceEvent[]) {
  s = await startUnionServer({ interceptors: [t.interceptor] });
  const queues: Record<string, { pool: string; clusters: string[]; run_concurrency: number }> = {};
  for (let i = 0; i < QUEUES; i++) {
    await s.embedded.createQueue({ name: `q${i}`, run_concurrency: 1, action_concurrency: 100 });
    queues[`q${i}`] = { pool: 'default', clusters: ['*'], run_concurrency: 7 };
  }
  const repo = await writeRepo(join(await tempDir('poolsync-throttle-'), 'repo'), {
    prune: false,
    queues,
  });
  await writeFile(join(repo, 'poolsync.yaml'), 'apiVersion: poolsync/v1\nkind: RepoConfig\n');
  process.env.POOLSYNC_UNION_API_KEY = apiKey(s.host);
  let cp: ControlPlane;
  try {
    cp = await openControlPlane(s.url('connect'), {
      http: {
        connections: 8,
        onPace: (e) => events.push(e),
        clock,
        maxRetries: 6,
        minRetryDelayMs: 5,
        maxRetryDelayMs: 20,
      },
    });
  } finally {
    delete process.env.POOLSYNC_UNION_API_KEY;
  }
  const made = await planRepository(repo, cp);
  if (!made.ok) throw new Error('invalid');
  expect(made.plan.steps.filter((st) => st.op === 'update_queue')).toHaveLength(QUEUES);
  return { cp, plan: made.plan };
}

it('obeys RESOURCE_EXHAUSTED with a delay: no call before it, fewer calls at once, and the apply completes', async () => {
  const clock = new VirtualClock();
  const t = throttling(clock);
  const events: PaceEvent[] = [];
  const { cp, plan } = await planned(t, clock, events);
  const started = clock.now();
  const result = await executePlan(plan, cp, { parallelism: 8 });
  await cp.close();

  expect(result.ok).toBe(true);
  expect(t.seen.throttled).toBe(QUEUES);
  expect(t.seen.early).toBe(0);
  expect(clock.now() - started).toBeGreaterThanOrEqual(DELAY_MS);
  for (const q of await s!.embedded.listQueues())
    if (q.name !== 'default') expect(q.run_concurrency).toBe(7);
  // Told: throttled to fewer calls at once, each refused call waiting Union's delay.
  expect(events[0]).toMatchObject({ server: 'Union', throttled: true, max: 8, waitMs: DELAY_MS });
  expect(events[0]!.limit).toBeLessThan(8);
  expect(t.seen.mostInFlightAfter).toBeLessThanOrEqual(8);
});

it('one refused call waits its delay alone: the other updates land meanwhile, the pace unchanged', async () => {
  const clock = new ManualClock();
  const t = throttling(clock, (name) => name === 'q0');
  const events: PaceEvent[] = [];
  const { cp, plan } = await planned(t, clock, events);
  const applying = executePlan(plan, cp, { parallelism: 8 });
  // Time stands still: q0 sleeps its 2 s while every other queue is updated.
  const updated = async () =>
    (await s!.embedded.listQueues()).filter((q) => q.run_concurrency === 7).length;
  await until('the other queues updated', async () => (await updated()) === QUEUES - 1);
  expect(clock.sleeping).toBe(1);
  clock.advance(DELAY_MS);
  const result = await applying;
  await cp.close();

  expect(result.ok).toBe(true);
  expect(await updated()).toBe(QUEUES);
  expect(t.seen).toMatchObject({ throttled: 1, early: 0 });
  expect(events).toEqual([]);
});
