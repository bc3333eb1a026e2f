import { describe, expect, it } from 'vitest';
import { capHeapGrowth } from '../../src/util/heap-growth.js';

describe('heap growth cap', () => {
  it('leaves a --heap-growing-percent given to node itself alone', () => {
    expect(capHeapGrowth(['--heap-growing-percent=20'], '')).toBe(false);
    expect(capHeapGrowth([], '--max-old-space-size=512 --heap_growing_percent=10')).toBe(false);
    expect(capHeapGrowth([], '--max-old-space-size=512')).toBe(true);
  });
});
