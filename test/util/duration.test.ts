import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/util/duration.js';

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [999.6, '1.0s'],
    [1500, '1.5s'],
    [9960, '10s'],
    [42_000, '42s'],
    [59_600, '1m'],
    [90_000, '1m30s'],
    [119_600, '2m'],
    [3_599_600, '1h'],
    [8_100_000, '2h15m'],
  ])('%d ms → %s (no carry left unrounded)', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('parseDuration', () => {
  it('reads what formatDuration writes, and refuses a bare number', () => {
    for (const text of ['850ms', '1.5s', '42s', '1m30s', '2h15m']) {
      expect(formatDuration(parseDuration(text)!)).toBe(text);
    }
    expect(parseDuration('90')).toBeNull();
    expect(parseDuration('5 minutes')).toBeNull();
  });
});
