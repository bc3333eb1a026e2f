import { describe, expect, it } from 'vitest';
import { diffForms, queueForm } from '../../src/plan/forms.js';
import { queueSpec } from '../support/builders.js';

const spec = queueSpec({
  pool: 'p',
  clusters: ['c1'],
  run_concurrency: 5,
  action_concurrency: 10,
  depth: 100,
});

describe('field diffs of creates', () => {
  it('list every field from nothing to its value', () => {
    const b = diffForms(null, queueForm({ ...spec, clusters: ['c2'] }));
    expect(b.map((d) => d.path)).toEqual(Object.keys(queueForm(spec)));
    expect(b.find((d) => d.path === 'clusters')).toEqual({
      path: 'clusters',
      before: null,
      after: ['c2'],
      forces_replacement: false,
    });
  });

  it('a field added to an existing object that forces replacement is still marked', () => {
    const before = { contract: { uri: 's3://a' } };
    const after = { contract: { uri: 's3://a', registry: 'r' } };
    expect(diffForms(before, after, () => true)).toEqual([
      { path: 'contract.registry', before: null, after: 'r', forces_replacement: true },
    ]);
  });
});
