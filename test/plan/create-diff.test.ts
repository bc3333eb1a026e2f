/**
 * A create keeps no field diff (issue 63): `diff` is read from its `after` (plan/forms.ts
 * DIFF_OF_AFTER). Every reader, the JSON included, sees what a kept list held, in its place.
 */
import { describe, expect, it } from 'vitest';
import {
  QUEUE_DEFAULTS,
  QUEUE_SPEC_FIELDS,
  queueSpecWithDefaults,
} from '../../src/model/common.js';
import {
  changeWith,
  diffForms,
  makeChange,
  placedSpec,
  queueArgs,
  queueForm,
  sharedQueueForm,
  withNote,
} from '../../src/plan/forms.js';

const after = { pool: 'p', clusters: ['c1'], contract: { uri: 's3://a', registry: 'r' } };

describe('the field diff of a create', () => {
  const created = makeChange('Queue', 'q', 'create', null, after, null, { caused_by: 'Cluster/q' });
  const listed = makeChange('Queue', 'q', 'create', null, after, diffForms(null, after), {
    caused_by: 'Cluster/q',
  });

  it('is the diff from nothing, in the member order and JSON of a kept list', () => {
    expect(created.diff).toEqual(diffForms(null, after));
    expect(Object.keys(created)).toEqual(Object.keys(listed));
    expect(JSON.stringify(created)).toBe(JSON.stringify(listed));
    expect(Object.getOwnPropertyDescriptor(created, 'diff')?.get).toBeTypeOf('function');
  });

  it('is diffForms(null, after) for leaves that are null, undefined, empty maps and lists', () => {
    const edges = { a: null, b: undefined, c: {}, d: { e: null, f: [], g: { h: 0 } }, i: '' };
    const c = makeChange('Queue', 'q', 'create', null, edges, null);
    expect(c.diff).toEqual(diffForms(null, edges));
    expect(c.diff.map((d) => d.path)).toEqual(['b', 'd.f', 'd.g.h', 'i']);
  });

  it('stays read from `after` through changeWith and withNote, the JSON unchanged', () => {
    const cause = { code: 'X', params: {} };
    const note = { code: 'N', params: {} };
    for (const [ours, theirs] of [
      [changeWith(created, { cause }), changeWith(listed, { cause })],
      [withNote(created, note), withNote(listed, note)],
      [changeWith(created, { action: 'blocked' }), changeWith(listed, { action: 'blocked' })],
    ] as const) {
      expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
      expect(Object.getOwnPropertyDescriptor(ours, 'diff')?.get).toBeTypeOf('function');
    }
  });

  it('is kept as it was when a new change sets its forms or its diff', () => {
    const moved = { ...after, pool: 'other' };
    const c = changeWith(created, { after: moved });
    expect(c.diff).toEqual(diffForms(null, after));
    expect(JSON.stringify(c)).toBe(JSON.stringify(changeWith(listed, { after: moved })));
    expect(changeWith(created, { diff: [] }).diff).toEqual([]);
  });
});

describe('a created queue shares its declared spec', () => {
  const spec = queueSpecWithDefaults({ pool: 'p', clusters: ['c1'], run_concurrency: 3 });

  it('as its form when it is one (no caps), else a copy in the form’s field order', () => {
    expect(sharedQueueForm(spec)).toBe(spec);
    const capped = { ...spec, scheduling: 'strict_fifo' as const };
    expect(sharedQueueForm(capped)).not.toBe(capped);
    expect(sharedQueueForm(capped)).toEqual(queueForm(capped));
    const { clusters, ...rest } = spec;
    const reordered = { clusters, ...rest };
    expect(Object.keys(sharedQueueForm(reordered))).toEqual([...QUEUE_SPEC_FIELDS]);
  });

  it('placed by its owner with its settings, in the form’s field order', () => {
    const placed = placedSpec('p', ['q'], QUEUE_DEFAULTS);
    expect(Object.keys(placed)).toEqual([...QUEUE_SPEC_FIELDS]);
    expect(placed).toEqual({ pool: 'p', clusters: ['q'], ...QUEUE_DEFAULTS });
    expect(sharedQueueForm(placed)).toBe(placed);
  });

  it('in a call whose arguments are its name and its fields in their order', () => {
    expect(Object.keys(queueArgs('q', spec))).toEqual(['name', ...QUEUE_SPEC_FIELDS]);
    expect(queueArgs('q', spec)).toEqual({ name: 'q', ...spec });
    const capped = { ...spec, max_resources: { cpu: '1' } };
    expect(JSON.stringify(queueArgs('q', capped))).toBe(JSON.stringify({ name: 'q', ...capped }));
  });
});
