/** Planning Union v2 default-queue settings (DefaultQueue): changes, steps, order, prune, errors. */
import { whyText } from '../../src/render/common.js';
import { describe, expect, it } from 'vitest';
import type { DesiredDefaultQueue, DesiredState } from '../../src/model/desired.js';
import type { LiveDefaultQueue, LiveState } from '../../src/model/live.js';
import { assertTopological } from './helpers.js';
import { computePlan, planForBackend } from '../../src/plan/index.js';
import { desiredFingerprint, liveFingerprint } from '../../src/plan/fingerprint.js';
import { contract, desired, live } from './build.js';
import { desiredDefaultQueue } from '../support/builders.js';

const dq = (project: string, domain: string, queue: string) =>
  desiredDefaultQueue({ project, domain, queue });
const withDq = (d: DesiredState, list: DesiredDefaultQueue[]): DesiredState => ({
  ...d,
  default_queues: list,
});
const liveDq = (l: LiveState, list: LiveDefaultQueue[]): LiveState => ({
  ...l,
  default_queues: list,
});

describe('DefaultQueue changes', () => {
  it('creates a setting after the queue it names is created', () => {
    const plan = computePlan(
      withDq(
        desired({
          pools: { gpu: contract('gpu') },
          queues: { training: { pool: 'gpu' } },
        }),
        [dq('ml', 'prod', 'training'), dq('etl', 'dev', 'default')],
      ),
      liveDq(live(), []),
    );
    expect(plan.errors).toEqual([]);
    const changes = plan.changes.filter((c) => c.kind === 'DefaultQueue');
    expect(changes.map((c) => [c.address, c.action])).toEqual([
      ['DefaultQueue/etl/dev', 'create'],
      ['DefaultQueue/ml/prod', 'create'],
    ]);
    expect(changes[1]!.after).toEqual({ project: 'ml', domain: 'prod', queue: 'training' });
    assertTopological(plan.steps);
    const set = plan.steps.find((s) => s.target === 'DefaultQueue/ml/prod')!;
    expect(set).toMatchObject({
      op: 'set_default_queue',
      args: { project: 'ml', domain: 'prod', queue: 'training' },
      execution: 'api',
    });
    const create = plan.steps.find((s) => s.op === 'create_queue')!;
    expect(set.depends_on).toContain(create.id);
    // `default` exists: its setting depends on nothing.
    expect(plan.steps.find((s) => s.target === 'DefaultQueue/etl/dev')!.depends_on).toEqual([]);
    expect(plan.summary.create).toBe(4); // pool, queue, two settings
  });

  it('updates a setting whose queue changed; an unchanged one is a noop with no step', () => {
    const plan = computePlan(
      withDq(desired({ queues: { a: {}, b: {} } }), [dq('ml', 'prod', 'b'), dq('ml', 'dev', 'a')]),
      liveDq(live({ queues: { a: {}, b: {} } }), [
        { project: 'ml', domain: 'dev', queue: 'a' },
        { project: 'ml', domain: 'prod', queue: 'a' },
      ]),
    );
    const byAddr = new Map(plan.changes.map((c) => [c.address, c]));
    expect(byAddr.get('DefaultQueue/ml/prod')).toMatchObject({
      action: 'update',
      diff: [{ path: 'queue', before: 'a', after: 'b', forces_replacement: false }],
    });
    expect(byAddr.get('DefaultQueue/ml/dev')?.action).toBe('noop');
    expect(plan.steps.map((s) => `${s.op} ${s.target}`)).toEqual([
      'set_default_queue DefaultQueue/ml/prod',
    ]);
  });

  it('prune deletes settings not in the repository; without prune they are unmanaged', () => {
    const l = liveDq(live(), [{ project: 'old', domain: 'dev', queue: 'default' }]);
    const pruned = computePlan(withDq(desired({ prune: true }), []), l);
    expect(pruned.changes.find((c) => c.kind === 'DefaultQueue')).toMatchObject({
      action: 'delete',
      destructive: true,
    });
    expect(pruned.steps).toMatchObject([
      { op: 'delete_default_queue', args: { project: 'old', domain: 'dev' } },
    ]);
    const kept = computePlan(withDq(desired({ prune: false }), []), l);
    expect(kept.changes.find((c) => c.kind === 'DefaultQueue')?.action).toBe('unmanaged');
    expect(kept.steps).toEqual([]);
  });

  it('a setting whose queue will not exist is blocked (nothing sent)', () => {
    const plan = computePlan(
      withDq(desired({ queues: { q: { pool: 'missing' } } }), [dq('ml', 'prod', 'q')]),
      liveDq(live(), []),
    );
    const change = plan.changes.find((c) => c.kind === 'DefaultQueue')!;
    expect(change.action).toBe('blocked');
    expect(whyText(change)).toContain('queue "q" will not exist');
    expect(plan.steps.filter((s) => s.op === 'set_default_queue')).toEqual([]);
  });

  it('a setting on the co-named queue of a cluster being registered waits for the registration (C2)', () => {
    const plan = computePlan(
      withDq(desired({ clusters: { 'gpu-1': {} } }), [dq('ml', 'prod', 'gpu-1')]),
      liveDq(live(), []),
    );
    const reg = plan.steps.find((s) => s.op === 'register_cluster')!;
    const set = plan.steps.find((s) => s.op === 'set_default_queue')!;
    expect(set.depends_on).toContain(reg.id);
  });

  it('against a backend without the settings, DefaultQueue documents are BACKEND_KIND errors and nothing is planned for them', () => {
    const d = withDq(desired(), [dq('ml', 'prod', 'default')]);
    // What a backend manages is checked in one place (planForBackend, from the kinds its parts
    // manage); computePlan plans what it is given.
    const named = planForBackend(d, live(), {
      name: 'poolsync REST API',
      kinds: ['ClusterPool', 'Cluster', 'Queue', 'PoolAssignment'],
    });
    expect(named.errors).toMatchObject([
      {
        code: 'BACKEND_KIND',
        address: 'DefaultQueue/ml/prod',
        location: 'default-queues.yaml:1:1',
      },
    ]);
    expect(named.changes.some((c) => c.kind === 'DefaultQueue')).toBe(false);
    expect(named.steps.some((s) => s.op === 'set_default_queue')).toBe(false);
  });

  it('fingerprints of repositories and control planes without settings are unchanged by the kind', () => {
    const d = desired({ queues: { a: {} } });
    expect(desiredFingerprint(withDq(d, []), null)).toBe(desiredFingerprint(d, null));
    expect(desiredFingerprint(withDq(d, [dq('a', 'b', 'a')]), null)).not.toBe(
      desiredFingerprint(d, null),
    );
    const l = live();
    expect(liveFingerprint(liveDq(l, []))).toBe(liveFingerprint(l));
    expect(liveFingerprint(liveDq(l, [{ project: 'a', domain: 'b', queue: 'default' }]))).not.toBe(
      liveFingerprint(l),
    );
  });

  it('queue caps enter the desired fingerprint only when declared (a repository without them keeps its fingerprint)', () => {
    const plain = desiredFingerprint(desired({ queues: { a: {} } }), null);
    const caps = desiredFingerprint(
      desired({ queues: { a: { max_resources: { cpu: '8' } } } }),
      null,
    );
    const cleared = desiredFingerprint(desired({ queues: { a: { max_resources: {} } } }), null);
    expect(caps).not.toBe(plain);
    expect(cleared).not.toBe(plain);
    expect(cleared).not.toBe(caps);
  });
});
