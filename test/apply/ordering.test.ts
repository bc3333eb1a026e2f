/**
 * Ordering of a real plan (computePlan) executed against the embedded control plane, which
 * enforces domain.md: the recording wrapper keeps every call with its start and end time.
 */
import { describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import type { ApplyEvent } from '../../src/apply/types.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState, type ControlPlane } from '../../src/controlplane/types.js';
import { loadRepository } from '../../src/manifests/index.js';
import { computePlan } from '../../src/plan/index.js';
import type { Plan } from '../../src/model/plan.js';
import { recording, type CallRecord } from './helpers/recording.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';

async function planFor(dir: string, cp: ControlPlane): Promise<Plan> {
  const loaded = await loadRepository(dir);
  if (!loaded.valid) throw new Error(`fixture repo invalid: ${JSON.stringify(loaded.errors)}`);
  return computePlan(loaded.desired, await readLiveState(cp));
}

const V1: RepoSpec = {
  pools: ['legacy', 'prod', 'tmp'],
  clusters: { 'old-1': 'legacy', 'old-2': 'legacy', mover: 'legacy', 'prod-1': 'prod' },
  queues: {
    batch: { pool: 'legacy', clusters: ['old-1', 'old-2'] },
    solo: { pool: 'legacy', clusters: ['old-1'] },
    web: { pool: 'prod', clusters: ['prod-1'] },
  },
  assignments: { 'proj/dev': 'tmp', 'proj/prod': 'prod' },
};

/** Retire old-1, move `mover` to prod (replace, C7), add a gpu pool, drop pool tmp and its assignment. */
const V2: RepoSpec = {
  pools: ['legacy', 'prod', 'gpu'],
  clusters: { 'old-2': 'legacy', mover: 'prod', 'prod-1': 'prod', 'gpu-1': 'gpu', 'gpu-2': 'gpu' },
  queues: {
    batch: { pool: 'legacy', clusters: ['old-2'] },
    solo: { pool: 'legacy', clusters: ['old-2'] },
    web: { pool: 'prod', clusters: ['prod-1', 'mover'] },
    gq: { pool: 'gpu', clusters: ['gpu-1', 'gpu-2'] },
  },
  assignments: { 'proj/prod': 'prod', 'proj/gpu': 'gpu' },
};

const calls = (all: CallRecord[], method: string, subject?: string) =>
  all.filter(
    (c) => c.method === method && c.ok && (subject === undefined || c.subject === subject),
  );
const poolOf = (c: CallRecord): string | undefined => {
  const a = c.args[0] as { pool?: string } | string;
  if (typeof a === 'string') return (c.args[1] as { pool?: string } | undefined)?.pool;
  return a.pool;
};

describe('apply order against the embedded control plane (plan.md Steps and order)', () => {
  it('pools first; repoint + wait_idle before every cluster delete (C8, C9); replaced cluster deleted before re-registered (C7); assignment removed before its pool (A3)', async () => {
    const dir = await tempDir();
    const embedded = await EmbeddedControlPlane.open({ path: null });
    const cp = recording(embedded, { latencyMs: 10 });

    await writeRepo(dir, V1);
    const first = await executePlan(await planFor(dir, cp), cp, { parallelism: 8 });
    expect(first.ok).toBe(true);

    // Work in flight on the clusters about to go, until the wait has seen it: the work
    // finishes when the executor first reports it busy, not after a time that a loaded
    // machine could spend planning (then the wait would find nothing to wait for).
    await embedded.setQueueActivity('old-1', { runs_in_flight: 2, actions_in_flight: 5 });
    await embedded.setQueueActivity('mover', { runs_in_flight: 1, actions_in_flight: 1 });
    const busy = new Set(['old-1', 'mover']);
    const finishing: Promise<void>[] = [];

    await writeRepo(dir, V2);
    const plan = await planFor(dir, cp);
    expect(plan.errors).toEqual([]);
    cp.calls.length = 0;
    const events: ApplyEvent[] = [];
    const result = await executePlan(plan, cp, {
      parallelism: 8,
      pollIntervalMs: { initial: 20, max: 50 },
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'wait_progress' && busy.delete(e.queue))
          finishing.push(
            embedded.setQueueActivity(e.queue, { runs_in_flight: 0, actions_in_flight: 0 }),
          );
      },
    });
    await Promise.all(finishing);
    expect(busy, 'every cluster delete waited for its work').toEqual(new Set());
    expect(result.steps.filter((s) => s.status !== 'done')).toEqual([]);
    const log = cp.calls;

    // 1. Pools are created before anything that lives in them.
    for (const created of calls(log, 'createPool')) {
      const users = log.filter(
        (c) =>
          ['registerCluster', 'createQueue', 'updateQueue', 'setAssignment'].includes(c.method) &&
          poolOf(c) === created.subject,
      );
      expect(users.length).toBeGreaterThan(0);
      for (const u of users)
        expect(
          u.start,
          `${u.method} ${u.subject} after pool ${created.subject}`,
        ).toBeGreaterThanOrEqual(created.end);
    }
    // 3. Queues after every cluster of their new selector.
    for (const q of [...calls(log, 'createQueue'), ...calls(log, 'updateQueue')]) {
      const spec = (q.method === 'createQueue' ? q.args[0] : q.args[1]) as { clusters: string[] };
      for (const name of spec.clusters) {
        for (const reg of calls(log, 'registerCluster', name))
          expect(q.start).toBeGreaterThanOrEqual(reg.end);
      }
    }
    // 4. Before each cluster delete: the updates taking it out of selectors, then the wait.
    const deletes = calls(log, 'deleteCluster');
    expect(deletes.map((d) => d.subject).sort()).toEqual(['mover', 'old-1']);
    for (const del of deletes) {
      // The queues whose V1 selector named the cluster.
      const repoints = calls(log, 'updateQueue').filter((u) =>
        V1.queues![u.subject]?.clusters.includes(del.subject),
      );
      for (const u of repoints)
        expect(
          del.start,
          `repoint ${u.subject} before deleting ${del.subject}`,
        ).toBeGreaterThanOrEqual(u.end);
      const polls = calls(log, 'queueMetrics', del.subject);
      expect(polls.length, `wait_idle polled ${del.subject}`).toBeGreaterThan(0);
      expect(del.start).toBeGreaterThanOrEqual(polls.at(-1)!.end);
    }
    expect(calls(log, 'updateQueue', 'solo')).toHaveLength(1);
    expect(calls(log, 'updateQueue', 'batch')).toHaveLength(1);
    const waited = events
      .filter((e) => e.type === 'wait_progress')
      .map((e) => (e.type === 'wait_progress' ? e.queue : ''));
    expect(new Set(waited)).toContain('old-1');
    // 2. The replaced cluster is deleted before it is registered again.
    const [delMover] = calls(log, 'deleteCluster', 'mover');
    const [regMover] = calls(log, 'registerCluster', 'mover');
    expect(regMover!.start).toBeGreaterThanOrEqual(delMover!.end);
    expect(poolOf(regMover!)).toBe('prod');
    // 5. Assignments naming a pool are removed before it is deleted.
    const [delTmp] = calls(log, 'deletePool', 'tmp');
    const [delAssign] = calls(log, 'deleteAssignment', 'proj/dev');
    expect(delTmp!.start).toBeGreaterThanOrEqual(delAssign!.end);
    expect(result.counts).toMatchObject({ replace: 1 });
    expect(result.counts.delete).toBeGreaterThanOrEqual(3);

    // Converged: a new plan has nothing to do.
    const again = await planFor(dir, cp);
    expect(again.steps).toEqual([]);
    expect((await cp.getCluster('mover')).pool).toBe('prod');
    await embedded.close();
  });
});
