/**
 * Capability-aware planning (domain.md, Capabilities; plan.md): for each change kind the
 * baseline blocks or works around, every capability set (all 16: each off and on, alone and
 * combined) plans what that set allows, in a safe order; the plan then runs against the
 * embedded control plane (which enforces the same capabilities) and planning again shows
 * nothing left to do.
 */
import { noteText, whyText } from '../../src/render/common.js';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { formatCapabilities } from '../../src/model/capabilities.js';
import type { Capabilities, PoolContract } from '../../src/model/common.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { Plan } from '../../src/model/plan.js';
import { computePlan } from '../../src/plan/index.js';
import { splitHeld } from '../../src/plan/hold.js';
import { contract, desired, type DesiredInput } from './build.js';
import { change, expectOrder, expectWellFormed, hasStep, step as stepOf } from './helpers.js';
import { runSteps } from './runner.js';
import { desiredDefaultQueue } from '../support/builders.js';

const ALL_SETS: Capabilities[] = Array.from({ length: 32 }, (_, bits) => ({
  drain: Boolean(bits & 1),
  queue_delete: Boolean(bits & 2),
  cluster_move: Boolean(bits & 4),
  pool_update: Boolean(bits & 8),
  queue_move: Boolean(bits & 16),
}));

const GPU = contract('gpu-v1');
const GPU_V2 = contract('gpu-v2');
const CPU = contract('cpu');

/** Live: pools gpu (c1, c2) and cpu (c3); queues batch [c1], spread [c1, c2], old [c2], mover [c2]. */
async function seed(cp: EmbeddedControlPlane, opts: { reportC2?: PoolContract } = {}) {
  await cp.createPool('gpu', GPU);
  await cp.createPool('cpu', CPU);
  await cp.registerCluster({ name: 'c1', pool: 'gpu' });
  await cp.registerCluster({ name: 'c2', pool: 'gpu' });
  await cp.registerCluster({ name: 'c3', pool: 'cpu' });
  const settings = { run_concurrency: 10, action_concurrency: 100 };
  await cp.createQueue({ name: 'batch', pool: 'gpu', clusters: ['c1'], ...settings });
  await cp.createQueue({ name: 'spread', pool: 'gpu', clusters: ['c1', 'c2'], ...settings });
  await cp.createQueue({ name: 'old', pool: 'gpu', clusters: ['c2'], ...settings });
  await cp.createQueue({ name: 'mover', pool: 'gpu', clusters: ['c2'], ...settings });
  if (opts.reportC2) {
    await cp.reportClusterStatus('c2', {
      object_store_uri: opts.reportC2.object_store_ref.uri,
      secret_store: { ...opts.reportC2.secret_store },
    });
  }
}

/** The repository matching the seed (queue settings as seeded, co-named queues implicit). */
function base(): DesiredInput {
  const q = { run_concurrency: 10, action_concurrency: 100 };
  return {
    prune: true,
    pools: { gpu: GPU, cpu: CPU },
    clusters: { c1: { pool: 'gpu' }, c2: { pool: 'gpu' }, c3: { pool: 'cpu' } },
    queues: {
      batch: { pool: 'gpu', clusters: ['c1'], ...q },
      spread: { pool: 'gpu', clusters: ['c1', 'c2'], ...q },
      old: { pool: 'gpu', clusters: ['c2'], ...q },
      mover: { pool: 'gpu', clusters: ['c2'], ...q },
    },
  };
}

interface Kind {
  name: string;
  repo: () => DesiredState;
  report?: PoolContract;
  expect: (plan: Plan, caps: Capabilities) => void;
}

const KINDS: Kind[] = [
  {
    name: 'cluster delete (prune): repoint, wait, delete; nothing drained (remote/_cluster.py:433, 450-451)',
    repo: () => {
      const b = base();
      delete b.clusters!.c1;
      b.queues!.batch = { ...b.queues!.batch, clusters: ['c2'] };
      b.queues!.spread = { ...b.queues!.spread, clusters: ['c2'] };
      return desired(b);
    },
    expect: (plan, caps) => {
      expect(change(plan, 'Cluster/c1').action).toBe('delete');
      // Whatever the capabilities: the queues that routed only to c1 are watched, never
      // drained (a delete waits for nothing, and a drained queue rejects every run).
      expectOrder(
        plan,
        'update_queue Queue/batch',
        'wait_idle Cluster/c1',
        'delete_cluster Cluster/c1',
      );
      expect(plan.steps.find((s) => s.op === 'wait_idle')?.args).toEqual({
        queues: ['batch', 'c1'],
        cluster: 'c1',
        why: { batch: 'only_leaving', c1: 'only_leaving' },
      });
      expect(plan.steps.filter((s) => ['drain_queue', 'activate_queue'].includes(s.op))).toEqual(
        [],
      );
      // Union today (queue_delete): the co-named queue goes with its cluster, a side effect of
      // the cluster's delete, never a delete_queue step (a `flyte delete queue` on Union).
      expect(hasStep(plan, 'delete_queue Queue/c1')).toBe(false);
      if (caps.queue_delete) {
        expect(change(plan, 'Queue/c1').action).toBe('delete');
        expect(change(plan, 'Queue/c1').caused_by).toBe('Cluster/c1');
      } else {
        expect(change(plan, 'Queue/c1').action).not.toBe('delete');
      }
    },
  },
  {
    name: 'queue removed from the repository (prune): drain, wait, delete',
    repo: () => {
      const b = base();
      delete b.queues!.old;
      return desired(b);
    },
    expect: (plan, caps) => {
      const c = change(plan, 'Queue/old');
      if (caps.drain && caps.queue_delete) {
        expect(c.action).toBe('delete');
        expect(c.destructive).toBe(true);
        expect(noteText(c)).toMatch(/DRAINED/);
        expectOrder(
          plan,
          'drain_queue Queue/old',
          'wait_drained Queue/old',
          'delete_queue Queue/old',
        );
      } else {
        expect(c.action).toBe('blocked');
        expect(whyText(c)).toMatch(caps.queue_delete ? /drain off/ : /Q6/);
        expect(plan.steps.filter((s) => s.target === 'Queue/old')).toEqual([]);
      }
    },
  },
  {
    name: 'queue pool change: drain and move (queue_move), or drain, delete, create in the new pool',
    repo: () => {
      const b = base();
      b.queues!.mover = { ...b.queues!.mover, pool: 'cpu', clusters: ['c3'] };
      return desired(b);
    },
    expect: (plan, caps) => {
      const c = change(plan, 'Queue/mover');
      if (caps.queue_move && caps.drain) {
        expect(c.action).toBe('update');
        expect(c.diff.find((d) => d.path === 'pool')).toEqual({
          path: 'pool',
          before: 'gpu',
          after: 'cpu',
          forces_replacement: false,
        });
        expect(noteText(c)).toMatch(/moved in place .*queue_move.*re-activated/);
        expect(hasStep(plan, 'delete_queue Queue/mover')).toBe(false);
        expectOrder(
          plan,
          'drain_queue Queue/mover',
          'wait_drained Queue/mover',
          'move_queue Queue/mover',
          'activate_queue Queue/mover',
        );
        // Drained by the move and active before: a stopping apply still re-activates it.
        expect(stepOf(plan, 'activate_queue Queue/mover').completes_change).toBe(true);
        expect(stepOf(plan, 'move_queue Queue/mover').completes_change).toBeUndefined();
      } else if (caps.queue_move) {
        expect(c.action).toBe('blocked');
        expect(whyText(c)).toMatch(/queue_move.*drain off/);
      } else if (caps.drain && caps.queue_delete) {
        expect(c.action).toBe('replace');
        expect(c.diff.find((d) => d.path === 'pool')?.forces_replacement).toBe(true);
        expectOrder(
          plan,
          'drain_queue Queue/mover',
          'wait_drained Queue/mover',
          'delete_queue Queue/mover',
          'create_queue Queue/mover',
        );
      } else {
        expect(c.action).toBe('blocked');
        expect(whyText(c)).toMatch(/Q3/);
        if (caps.drain || caps.queue_delete) expect(whyText(c)).toMatch(/lacks/);
      }
    },
  },
  {
    name: 'cluster pool change: move in place, or delete and re-register (C7)',
    repo: () => {
      const b = base();
      b.clusters!.c2 = { pool: 'cpu' };
      // The queues that selected c2 in gpu cannot keep it (Q1).
      b.queues!.spread = { ...b.queues!.spread, clusters: ['c1'] };
      b.queues!.old = { ...b.queues!.old, clusters: [] };
      b.queues!.mover = { ...b.queues!.mover, clusters: [] };
      return desired(b);
    },
    expect: (plan, caps) => {
      const c = change(plan, 'Cluster/c2');
      const orphanWarning = plan.warnings.some((w) => w.code === 'CONAMED_QUEUE_ORPHANED');
      if (caps.cluster_move) {
        expect(c.action).toBe('update');
        expect(c.diff).toEqual([
          { path: 'pool', before: 'gpu', after: 'cpu', forces_replacement: false },
        ]);
        expect(noteText(c)).toMatch(/no C7 trap/);
        expect(orphanWarning).toBe(false);
        expect(hasStep(plan, 'delete_cluster Cluster/c2')).toBe(false);
        expect(change(plan, 'Queue/c2').after).toMatchObject({ pool: 'cpu', clusters: ['c2'] });
        if (caps.drain) {
          expectOrder(
            plan,
            'drain_queue Queue/c2',
            'wait_drained Cluster/c2',
            'move_cluster Cluster/c2',
            'activate_queue Queue/c2',
          );
          expect(stepOf(plan, 'activate_queue Queue/c2').completes_change).toBe(true);
          // Only the co-named queue, which moves with it (remote/_cluster.py:328-331).
          const drained = plan.steps.filter((s) => s.op === 'drain_queue').map((s) => s.target);
          expect(drained).toEqual(['Queue/c2']);
        } else {
          expectOrder(plan, 'wait_idle Cluster/c2', 'move_cluster Cluster/c2');
        }
      } else {
        expect(c.action).toBe('replace');
        expectOrder(plan, 'delete_cluster Cluster/c2', 'register_cluster Cluster/c2');
        // With queue_delete the old co-named queue goes with the delete and the registration
        // creates a new one: no orphan (Union today); without, C7's trap.
        expect(orphanWarning).toBe(!caps.queue_delete);
        if (caps.queue_delete) {
          expect(change(plan, 'Queue/c2').action).toBe('replace');
          expect(change(plan, 'Queue/c2').after).toMatchObject({ pool: 'cpu', clusters: ['c2'] });
        }
      }
    },
  },
  {
    name: 'pool contract change (no cluster has reported): update in place, or blocked (P4, P5)',
    repo: () => desired({ ...base(), pools: { gpu: GPU_V2, cpu: CPU } }),
    expect: (plan, caps) => {
      const c = change(plan, 'ClusterPool/gpu');
      if (caps.pool_update) {
        expect(c.action).toBe('update');
        expect(c.diff.every((d) => !d.forces_replacement)).toBe(true);
        expect(hasStep(plan, 'update_pool ClusterPool/gpu')).toBe(true);
      } else {
        expect(c.action).toBe('blocked');
        expect(whyText(c)).toMatch(/P4/);
        expect(whyText(c)).toMatch(
          caps.queue_delete ? /deletes queues \(queue_delete, Q6\)/ : /never be deleted \(Q6\)/,
        );
      }
    },
  },
  {
    name: 'pool contract change a member cluster does not match (C4): blocked with its name',
    report: GPU,
    repo: () => desired({ ...base(), pools: { gpu: GPU_V2, cpu: CPU } }),
    expect: (plan, caps) => {
      const c = change(plan, 'ClusterPool/gpu');
      expect(c.action).toBe('blocked');
      expect(whyText(c)).toMatch(caps.pool_update ? /Cluster\/c2 \(object_store_uri/ : /P4/);
    },
  },
];

describe.each(KINDS)('$name', (kind) => {
  it.each(ALL_SETS.map((caps) => [formatCapabilities(caps), caps] as const))(
    'capabilities %s',
    async (_label, caps) => {
      const cp = await EmbeddedControlPlane.open({ path: null, capabilities: caps });
      try {
        await seed(cp, kind.report ? { reportC2: kind.report } : {});
        const repo = kind.repo();
        const plan = computePlan(repo, await readLiveState(cp));
        expectWellFormed(plan);
        expect(plan.errors).toEqual([]);
        expect(plan.capabilities).toEqual(caps);
        kind.expect(plan, caps);
        // Capability steps appear only with their capability on.
        const ops = new Set(plan.steps.map((s) => s.op));
        if (!caps.drain)
          for (const op of ['drain_queue', 'wait_drained', 'activate_queue'])
            expect(ops.has(op as never), op).toBe(false);
        if (!caps.queue_delete) expect(ops.has('delete_queue')).toBe(false);
        if (!caps.cluster_move) expect(ops.has('move_cluster')).toBe(false);
        if (!caps.pool_update) expect(ops.has('update_pool')).toBe(false);
        if (!caps.queue_move) expect(ops.has('move_queue')).toBe(false);

        await runSteps(plan, cp);
        const again = computePlan(repo, await readLiveState(cp));
        expect(
          again.changes
            .filter((c) => !['noop', 'blocked', 'unmanaged'].includes(c.action))
            .map((c) => `${c.action} ${c.address}`),
        ).toEqual([]);
        expect(again.steps).toEqual([]);
        // Nothing is left drained that still routes somewhere.
        for (const q of (await readLiveState(cp)).queues) {
          if (q.state && q.state !== 'active' && q.clusters.length > 0)
            throw new Error(`Queue/${q.name} left ${q.state}`);
        }
      } finally {
        await cp.close();
      }
    },
  );
});

describe("the daemon's safe policy (splitHeld)", () => {
  it.each(ALL_SETS.map((caps) => [formatCapabilities(caps), caps] as const))(
    'holds a cluster move exactly when it drains; capabilities %s',
    async (_label, caps) => {
      const cp = await EmbeddedControlPlane.open({ path: null, capabilities: caps });
      try {
        await seed(cp);
        const plan = computePlan(KINDS[3]!.repo(), await readLiveState(cp));
        const split = splitHeld(plan);
        const held = split.held.map((c) => `${c.action} ${c.address}`);
        // No drain step is ever applied before a person approves.
        expect(split.now.steps.filter((s) => s.op === 'drain_queue')).toEqual([]);
        if (caps.cluster_move) {
          expect(held.includes('update Cluster/c2')).toBe(caps.drain);
        } else {
          expect(held).toContain('replace Cluster/c2');
        }
      } finally {
        await cp.close();
      }
    },
  );
});

describe('default-queue settings (Union run.default_queue)', () => {
  it('a queue named by a setting is never deleted, but moved like any other, and not drained for a cluster delete (remote/_queue.py:934-938, 1011-1012)', async () => {
    const caps = {
      drain: true,
      queue_delete: true,
      cluster_move: true,
      pool_update: true,
      queue_move: true,
    };
    const cp = await EmbeddedControlPlane.open({ path: null, capabilities: caps });
    try {
      await seed(cp);
      const b = base();
      delete b.queues!.old;
      b.queues!.mover = { ...b.queues!.mover, pool: 'cpu', clusters: ['c3'] };
      delete b.clusters!.c1;
      b.queues!.spread = { ...b.queues!.spread, clusters: ['c2'] };
      const live = await readLiveState(cp);
      live.default_queues = [
        { project: 'ml', domain: 'production', queue: 'old' },
        { project: 'ml', domain: 'staging', queue: 'mover' },
        { project: 'etl', domain: 'production', queue: 'batch' },
      ];
      // The settings stay (declared): only then do they name their queues once applied.
      const d = desired(b);
      d.default_queues = live.default_queues.map((q) => desiredDefaultQueue(q));
      const plan = computePlan(d, live);
      expect(change(plan, 'Queue/old').action).toBe('blocked');
      expect(whyText(change(plan, 'Queue/old'))).toMatch(
        /ml\/production \(declared in this repository\)/,
      );
      expect(whyText(change(plan, 'Queue/old'))).toMatch(/Union refuses to delete/);
      expect(hasStep(plan, 'drain_queue Queue/old')).toBe(false);
      // A move needs only a drain: a queue a setting names moves like any other.
      expect(change(plan, 'Queue/mover').action).toBe('update');
      expect(hasStep(plan, 'move_queue Queue/mover')).toBe(true);
      // batch routes only to c1, which is deleted: watched (a delete needs no drain), never
      // drained: a drained queue rejects the runs its setting sends it (remote/_queue.py:934-937).
      expect(hasStep(plan, 'drain_queue Queue/batch')).toBe(false);
      expect(hasStep(plan, 'wait_idle Cluster/c1')).toBe(true);
    } finally {
      await cp.close();
    }
  });
});
