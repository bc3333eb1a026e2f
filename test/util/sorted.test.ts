/**
 * Sorted string lists (src/util/sorted.ts, issue 79 item 5): membership by galloping search
 * answers as a set does, asked in order or not; `ascending` sorts only what is out of order;
 * `sortedUnion` merges what is in order and sorts what is not, to the same list.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ascending, isAscending, sortedHas, sortedUnion } from '../../src/util/sorted.js';

const words = fc.array(
  fc.string({ maxLength: 4, unit: fc.constantFrom('a', 'b', '/', 'Q', 'é') }),
  {
    maxLength: 60,
  },
);

describe('sorted lists', () => {
  it('sortedHas answers as a set, for keys asked in order, out of order and repeated', () => {
    fc.assert(
      fc.property(words, words, (list, asked) => {
        const sorted = [...new Set(list)].sort();
        const set = new Set(sorted);
        const has = sortedHas(sorted);
        // In order (a merge's walk), then as given, then the same keys again.
        for (const key of [...asked].sort()) expect(has(key), key).toBe(set.has(key));
        for (const key of [...asked, ...sorted, ...asked]) expect(has(key), key).toBe(set.has(key));
      }),
    );
  });

  it('ascending keeps a strictly ascending list as it is, and sorts and de-duplicates any other', () => {
    fc.assert(
      fc.property(words, (list) => {
        const out = ascending(list);
        expect(out).toEqual([...new Set(list)].sort());
        expect(isAscending(out)).toBe(true);
        if (isAscending(list)) expect(out).toBe(list);
      }),
    );
    expect(isAscending(['a', 'a'])).toBe(false);
    expect(isAscending(['Queue/b', 'Queue/a'])).toBe(false);
    // UTF-16 code units, as .sort() orders: '/' before 'P', so Cluster/ before ClusterPool/.
    expect(isAscending(['Cluster/z', 'ClusterPool/a'])).toBe(true);
  });

  it('sortedUnion is the sorted distinct items of both lists, ascending or not', () => {
    fc.assert(
      fc.property(words, words, fc.boolean(), (a, b, sort) => {
        // Half the cases strictly ascending (merged), the others as generated (sorted).
        const [x, y] = sort ? [ascending(a), ascending(b)] : [a, b];
        expect(sortedUnion(x, y)).toEqual([...new Set([...a, ...b])].sort());
      }),
    );
    expect(sortedUnion(['a', 'c'], ['b', 'c', 'd'])).toEqual(['a', 'b', 'c', 'd']);
    expect(sortedUnion([], ['Cluster/z', 'ClusterPool/a'])).toEqual(['Cluster/z', 'ClusterPool/a']);
  });
});
