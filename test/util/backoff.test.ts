import { describe, expect, it } from 'vitest';
import { backoffDelay, retryAfterMs } from '../../src/util/backoff.js';

describe('retry waits', () => {
  it('backoffDelay: half to all of the doubling ceiling, the ceiling capped before the jitter', () => {
    expect(backoffDelay(1, 500, 30_000, () => 0)).toBe(250);
    expect(backoffDelay(4, 500, 30_000, () => 1)).toBe(4000);
    // 500 * 2^9 = 256 s, capped at 30 s: the wait keeps its jitter (15..30 s).
    expect(backoffDelay(10, 500, 30_000, () => 0)).toBe(15_000);
    expect(backoffDelay(10, 500, 30_000, () => 0.5)).toBe(22_500);
  });

  it('retryAfterMs: seconds or an HTTP date; absent, blank or garbage is null', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs(['0.5'], now)).toBe(500);
    expect(retryAfterMs('Wed, 01 Jan 2025 00:00:07 GMT', now)).toBe(7000);
    expect(retryAfterMs('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
    expect(retryAfterMs(undefined, now)).toBeNull();
    expect(retryAfterMs('  ', now)).toBeNull();
    expect(retryAfterMs('soon', now)).toBeNull();
  });
});
