/**
 * The planner on Union's queue rules (docs/union.md): caps and scheduling compared only where a
 * Queue document declares them (queue-caps.ts); `default` deleted only when poolsync.yaml lists it
 * under `absent` and the control plane allows it (capability default_delete), blocked with the
 * reason otherwise; a soft-deleted `default` is not recreated by a registration (C3) but undeleted
 * when declared again.
 */
import { changeDocument } from '../../src/render/json.js';
import { describe, expect, it } from 'vitest';
import { computePlan } from '../../src/plan/index.js';
import { targetPlan } from '../../src/plan/target.js';
import type { Capabilities } from '../../src/model/common.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import { desired, live } from './build.js';
import { UNION_CAPABILITIES } from '../../src/controlplane/union/union.js';

const UNION: Capabilities = UNION_CAPABILITIES;

function withCaps(l: LiveState, caps: Capabilities): LiveState {
  return { ...l, capabilities: caps };
}

function absentDefault(d: DesiredState): DesiredState {
  return { ...d, config: { ...d.config, absent: ['Queue/default'] } };
}

const change = (plan: ReturnType<typeof computePlan>, address: string) =>
  plan.changes.find((c) => c.address === address);

describe('queue caps in the plan', () => {
  const l = live({
    queues: {
      gpu: { max_resources: { cpu: '64' }, scheduling: 'greedy_capacity' },
    },
  });

  it('caps a document does not declare are kept: no change, and no step', () => {
    const plan = computePlan(desired({ queues: { gpu: {} } }), l);
    expect(change(plan, 'Queue/gpu')?.action).toBe('noop');
    expect(plan.steps).toEqual([]);
  });

  it('a declared cap that differs is an update that sends it; the undeclared ones go along as they are', () => {
    const plan = computePlan(
      desired({ queues: { gpu: { max_resources: { cpu: '32' }, max_accelerators: {} } } }),
      l,
    );
    expect(change(plan, 'Queue/gpu')).toMatchObject({
      action: 'update',
      diff: [{ path: 'max_resources.cpu', before: '64', after: '32' }],
    });
    expect(plan.steps.map((s) => [s.op, s.args])).toEqual([
      [
        'update_queue',
        expect.objectContaining({
          max_resources: { cpu: '32' },
          max_accelerators: {},
          scheduling: 'greedy_capacity',
        }),
      ],
    ]);
  });

  it('an unset scheduling is not strict_fifo: declaring it is a change', () => {
    const plan = computePlan(
      desired({ queues: { q: { scheduling: 'strict_fifo' } } }),
      live({ queues: { q: {} } }),
    );
    expect(change(plan, 'Queue/q')?.diff).toEqual([
      expect.objectContaining({ path: 'scheduling', after: 'strict_fifo' }),
    ]);
  });
});

describe('`absent: [Queue/default]`', () => {
  it('without it, `default` is never drained, deleted or updated, prune or not', () => {
    const l = withCaps(live({ queues: { default: { depth: 5 } } }), UNION);
    for (const prune of [false, true]) {
      const plan = computePlan(desired({ prune }), l);
      expect(change(plan, 'Queue/default')?.action ?? 'noop').toBe('noop');
      expect(plan.steps).toEqual([]);
    }
  });

  it('with default_delete, it plans drain → wait → delete of `default`', () => {
    const plan = computePlan(absentDefault(desired()), withCaps(live(), UNION));
    expect(change(plan, 'Queue/default')?.action).toBe('delete');
    expect(plan.steps.map((s) => s.op)).toEqual(['drain_queue', 'wait_drained', 'delete_queue']);
  });

  it('without default_delete (the embedded control plane, Q5), it is blocked, saying why', () => {
    const plan = computePlan(
      absentDefault(desired()),
      withCaps(live(), { ...UNION, default_delete: false }),
    );
    expect(changeDocument(change(plan, 'Queue/default')!)).toMatchObject({
      action: 'blocked',
      reason: expect.stringMatching(/listed absent .* "default" queue is always active \(Q5\)/),
    });
    expect(plan.steps).toEqual([]);
  });

  it('while a run.default_queue setting names it, it is blocked with that reason', () => {
    const l = withCaps(live(), UNION);
    l.default_queues = [{ project: 'ml', domain: 'production', queue: 'default' }];
    const plan = computePlan(absentDefault(desired()), l);
    expect(changeDocument(change(plan, 'Queue/default')!)).toMatchObject({
      action: 'blocked',
      reason: expect.stringMatching(
        /default queue of ml\/production \(run\.default_queue setting\)/,
      ),
    });
  });

  it.each([
    [{ queue: 'default' }, 'the organisation'],
    [{ domain: 'production', queue: 'default' }, 'domain production'],
  ])('a setting of a broader scope (%o) blocks it too, naming the scope', (scoped, scope) => {
    const l = withCaps(live(), UNION);
    l.default_queue_scopes = [scoped];
    const plan = computePlan(absentDefault(desired()), l);
    expect(changeDocument(change(plan, 'Queue/default')!)).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining(`default queue of ${scope} (run.default_queue setting)`),
    });
    expect(plan.steps).toEqual([]);
  });

  it('a pruned queue a setting of any scope names is blocked, every scope that still names it once applied in the reason', () => {
    const l = withCaps(live({ queues: { old: {}, other: {} } }), UNION);
    l.default_queue_scopes = [{ queue: 'old' }, { domain: 'staging', queue: 'old' }];
    l.default_queues = [{ project: 'ml', domain: 'production', queue: 'old' }];
    const d = desired({ queues: { other: {} } });
    const plan = computePlan({ ...d, config: { ...d.config, prune: true } }, l);
    expect(changeDocument(change(plan, 'Queue/old')!)).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining(
        'default queue of the organisation, domain staging (run.default_queue setting)',
      ),
    });
    // ml/production's setting is pruned by this plan: it no longer counts once applied.
    expect(change(plan, 'DefaultQueue/ml/production')?.action).toBe('delete');
    expect(plan.steps.filter((s) => JSON.stringify(s.args).includes('"old"'))).toEqual([]);
    // Without the settings, the same plan deletes it.
    const free = computePlan(
      { ...d, config: { ...d.config, prune: true } },
      { ...l, default_queue_scopes: [], default_queues: [] },
    );
    expect(change(free, 'Queue/old')?.action).toBe('delete');
  });

  it('a soft-deleted `default` stays deleted: no C3 recreation, nothing planned', () => {
    const base = live({ noDefaultQueue: true });
    const gone = live().queues.find((q) => q.name === 'default')!;
    const l = withCaps({ ...base, deleted_queues: [gone] }, UNION);
    const registers = absentDefault(desired({ clusters: { c1: {} } }));
    const plan = computePlan(registers, l);
    expect(change(plan, 'Queue/default')).toBeUndefined();
    expect(plan.steps.map((s) => s.op)).toEqual(['register_cluster']);
    // Declared again (absent dropped): undeleted, not created.
    const back = computePlan(
      desired({ queues: { default: { run_concurrency: 0, action_concurrency: 0 } } }),
      l,
    );
    expect(back.steps.map((s) => s.op)).toEqual([
      'undelete_queue',
      'update_queue',
      'activate_queue',
    ]);
  });

  it('without soft deletes, a registration brings `default` back (C3): it is drained and deleted after every registration', () => {
    const caps = { ...UNION, soft_delete: false };
    const registers = absentDefault(desired({ clusters: { c1: {}, c2: {} } }));
    const order = (plan: ReturnType<typeof computePlan>) => {
      const byId = new Map(plan.steps.map((s) => [s.id, s]));
      const drain = plan.steps.find((s) => s.op === 'drain_queue' && s.target === 'Queue/default')!;
      return drain.depends_on.map((id) => `${byId.get(id)!.op} ${byId.get(id)!.target}`).sort();
    };
    const afterRegistrations = ['register_cluster Cluster/c1', 'register_cluster Cluster/c2'];
    // Live: deleted after the registrations, which would otherwise bring it back at P > 1.
    const live1 = computePlan(registers, withCaps(live(), caps));
    expect(change(live1, 'Queue/default')?.action).toBe('delete');
    expect(order(live1)).toEqual(afterRegistrations);
    // Missing: the first registration recreates it, so the same plan deletes it again.
    const missing = computePlan(registers, withCaps(live({ noDefaultQueue: true }), caps));
    expect(changeDocument(change(missing, 'Queue/default')!)).toMatchObject({
      action: 'delete',
      caused_by: 'Cluster/c1',
      cause: { code: 'RECREATED_BY_REGISTRATION', params: { by: 'Cluster/c1' } },
      note: expect.stringContaining('listed absent in poolsync.yaml: then drained'),
    });
    // --target Cluster/c1 keeps it whole: the registration alone would leave it unshown.
    const only = targetPlan(missing, ['Cluster/c1'], []);
    expect(change(only, 'Queue/default')?.action).toBe('delete');
    expect(only.steps.filter((s) => s.target === 'Queue/default')).toHaveLength(3);
    expect(order(missing)).toEqual(afterRegistrations);
    // Not deletable (a setting names it): recreated and left, as before.
    const named = withCaps(live({ noDefaultQueue: true }), caps);
    named.default_queues = [{ project: 'ml', domain: 'production', queue: 'default' }];
    expect(change(computePlan(registers, named), 'Queue/default')?.action).toBe('create');
  });
});

describe("a cluster's co-named queue follows its drain (Union: remote/_cluster.py)", () => {
  const drainedWithCluster = (enabled: boolean) => {
    const l = withCaps(live({ clusters: { c1: { enabled } } }), UNION);
    l.queues = l.queues.map((q) => (q.name === 'c1' ? { ...q, state: 'drained' as const } : q));
    return l;
  };

  it('a disabled cluster leaves its drained co-named queue drained: nothing planned', () => {
    const plan = computePlan(
      desired({ clusters: { c1: { enabled: false } } }),
      drainedWithCluster(false),
    );
    expect(plan.steps).toEqual([]);
  });

  it('enabling the cluster activates it too: no step of its own (Union refuses one while the cluster is drained, remote/_queue.py:965-966)', () => {
    const plan = computePlan(desired({ clusters: { c1: {} } }), drainedWithCluster(false));
    expect(plan.steps.map((s) => s.op).sort()).toEqual(['update_cluster']);
  });
});
