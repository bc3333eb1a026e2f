import { describe, expect, it } from 'vitest';
import { batches } from '../../src/util/batched-lines.js';
import { jsonParts } from '../../src/util/json-parts.js';

const big = Array.from({ length: 2500 }, (_, i) => ({ name: `q-${i}`, n: i, tags: [i % 3] }));
const values: unknown[] = [
  { format: 'poolsync-state', seq: 7, state: { pools: big, clusters: [], draining: ['a'] } },
  { a: undefined, b: () => 1, c: null, d: [undefined, 1, 'x\u2028"\\'], e: {} },
  [],
  big,
  'text',
  3.5,
  null,
];

describe('jsonParts', () => {
  it.each(values.map((v, i) => [i, v]))(
    'value %i: the parts are JSON.stringify exactly',
    (_i, v) => {
      for (const depth of [0, 1, 2, 3])
        expect([...jsonParts(v, depth)].join('')).toBe(JSON.stringify(v));
    },
  );

  it.each(values.map((v, i) => [i, v]))(
    'value %i, indented: the parts are JSON.stringify(value, null, space) exactly',
    (_i, v) => {
      for (const space of [1, 2, 4])
        for (const depth of [0, 1, 2, 3])
          expect([...jsonParts(v, depth, space)].join('')).toBe(JSON.stringify(v, null, space));
      // Started off the grid of `space`, nested lines keep that start.
      const nested = JSON.stringify({ v }, null, 2).slice(9, -2);
      expect([...jsonParts(v, 2, 2, ' ')].join('')).toBe(nested.replaceAll('\n  ', '\n '));
    },
  );

  it('splits long lists: no part holds more than one slice', () => {
    const parts = [...jsonParts({ state: { pools: big } }, 3)];
    expect(parts.length).toBeGreaterThan(3);
    expect(Math.max(...parts.map((p) => p.length))).toBeLessThan(JSON.stringify(big).length / 2);
  });

  it('batches keep the text and gather small parts', () => {
    const parts = [...jsonParts(big, 1)];
    const out = [...batches(parts, 4096)];
    expect(out.join('')).toBe(JSON.stringify(big));
    expect(out.length).toBeLessThan(parts.length + 1);
  });
});
