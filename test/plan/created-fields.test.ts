import { describe, expect, it } from 'vitest';
import type { QueueSpec } from '../../src/model/common.js';
import { SharedCreatedFields } from '../../src/plan/created-fields.js';
import { diffForms, queueForm } from '../../src/plan/forms.js';
import { computePlan } from '../../src/plan/index.js';
import { contract, desired, live } from './build.js';
import { change } from './helpers.js';

const spec: QueueSpec = {
  pool: 'p',
  clusters: ['c1'],
  run_concurrency: 5,
  action_concurrency: 10,
  depth: 100,
  priority: 'medium',
  fairness: 'round_robin',
};

describe('field diffs of creates', () => {
  it('share one frozen entry per field and scalar value; selectors stay their own', () => {
    const fields = new SharedCreatedFields();
    const a = diffForms(null, queueForm(spec));
    const b = diffForms(null, queueForm({ ...spec, clusters: ['c2'] }));
    fields.share(a);
    fields.share(b);
    expect(a.map((d) => d.path)).toEqual(Object.keys(queueForm(spec)));
    const byPath = (diff: typeof a, path: string) => diff.find((d) => d.path === path)!;
    expect(byPath(a, 'priority')).toBe(byPath(b, 'priority'));
    expect(Object.isFrozen(byPath(a, 'depth'))).toBe(true);
    expect(byPath(a, 'clusters')).not.toBe(byPath(b, 'clusters'));
    expect(byPath(b, 'clusters')).toEqual({
      path: 'clusters',
      before: null,
      after: ['c2'],
      forces_replacement: false,
    });
  });

  it('are shared within one plan, and the planner keeps no table between plans', () => {
    const repo = desired({
      pools: { p: contract('b') },
      queues: { q1: { pool: 'p', clusters: ['*'] }, q2: { pool: 'p', clusters: ['*'] } },
    });
    const field = (plan: ReturnType<typeof computePlan>, q: string, path: string) =>
      change(plan, `Queue/${q}`).diff.find((d) => d.path === path)!;
    const first = computePlan(repo, live({}));
    const second = computePlan(repo, live({}));
    expect(field(first, 'q1', 'priority')).toBe(field(first, 'q2', 'priority'));
    expect(field(first, 'q1', 'pool')).toBe(field(first, 'q2', 'pool'));
    expect(field(second, 'q1', 'priority')).toEqual(field(first, 'q1', 'priority'));
    expect(field(second, 'q1', 'priority')).not.toBe(field(first, 'q1', 'priority'));
  });

  it('a field added to an existing object that forces replacement is still marked', () => {
    const before = { contract: { uri: 's3://a' } };
    const after = { contract: { uri: 's3://a', registry: 'r' } };
    expect(diffForms(before, after, () => true)).toEqual([
      { path: 'contract.registry', before: null, after: 'r', forces_replacement: true },
    ]);
  });
});
