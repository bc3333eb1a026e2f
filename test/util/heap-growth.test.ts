import { describe, expect, it } from 'vitest';
import { growthGiven } from '../../src/util/heap-growth.js';

describe('heap growth cap', () => {
  it('leaves a --heap-growing-percent given to node itself alone', () => {
    expect(growthGiven(['--heap-growing-percent=20'], '')).toBe(true);
    expect(growthGiven([], '--max-old-space-size=512 --heap_growing_percent=10')).toBe(true);
    expect(growthGiven([], '--max-old-space-size=512')).toBe(false);
  });
});
