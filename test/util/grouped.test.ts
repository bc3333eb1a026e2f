import { describe, expect, it } from 'vitest';
import { grouped } from '../../src/util/grouped.js';

describe('grouped', () => {
  it('groups values by group, in the order given, with empty groups between', () => {
    const pairs: [number, number][] = [
      [2, 7],
      [0, 5],
      [2, 1],
      [0, 9],
      [2, 7],
    ];
    const { start, values } = grouped(4, (add) => pairs.forEach(([g, v]) => add(g, v)));
    const of = (g: number) => [...values.subarray(start[g], start[g + 1])];
    expect([of(0), of(1), of(2), of(3)]).toEqual([[5, 9], [], [7, 1, 7], []]);
    expect(start[4]).toBe(5);
  });

  it('holds nothing for no pairs', () => {
    const { start, values } = grouped(3, () => {});
    expect([...start]).toEqual([0, 0, 0, 0]);
    expect(values.length).toBe(0);
  });
});
