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
