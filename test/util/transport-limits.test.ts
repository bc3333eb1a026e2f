/**
 * The transport limits as flags and variables give them (src/util/transport-limits.ts): a zero
 * is refused as no limit (it was "0s is not a duration", as if the unit were wrong), named
 * where it came from; a value is read in its unit.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_LIMITS,
  noticeSilence,
  transportLimits,
  type WaitEvent,
} from '../../src/util/transport-limits.js';

describe('transportLimits', () => {
  it('a zero is no limit, said so for each flag and variable', () => {
    for (const [name, flag, zero] of [
      ['connect', '--connect-timeout', '0s'],
      ['read', '--read-timeout', '0m'],
      ['call', '--call-timeout', '0s'],
      ['size', '--max-response-size', '0MiB'],
    ] as const)
      expect(() => transportLimits({ [name]: zero }, {})).toThrow(
        `${flag}: "${zero}" is no limit: give more than zero`,
      );
    expect(() => transportLimits({}, { POOLSYNC_CALL_TIMEOUT: '0s' })).toThrow(
      'environment variable POOLSYNC_CALL_TIMEOUT: "0s" is no limit: give more than zero',
    );
  });

  it('reads each value in its unit, and refuses what is none', () => {
    expect(transportLimits({ call: '2m', size: '1MiB' }, {})).toMatchObject({
      callTimeoutMs: 120_000,
      maxResponseBytes: 1024 * 1024,
    });
    expect(() => transportLimits({ size: 'abc' }, {})).toThrow(
      '--max-response-size: "abc" is not a size; write it like 32MiB or 100MB',
    );
    expect(() => transportLimits({ read: 'soon' }, {})).toThrow(
      '--read-timeout: "soon" is not a duration; write it like 5s, 30s or 2m',
    );
  });
});

describe('noticeSilence', () => {
  it('tells of a silent server, not of one slow call among answered ones', () => {
    vi.useFakeTimers();
    try {
      const told: WaitEvent[] = [];
      const listener = (e: WaitEvent) => void told.push(e);
      const slow = noticeSilence(DEFAULT_LIMITS, 'http://cp', listener);
      const other = noticeSilence(DEFAULT_LIMITS, 'http://cp', listener);
      vi.advanceTimersByTime(4_000);
      other(); // the server answered another call 4 s in
      vi.advanceTimersByTime(1_500); // the slow call has waited 5.5 s; the server spoke 1.5 s ago
      expect(told).toEqual([]);
      vi.advanceTimersByTime(4_000); // 5.5 s since any answer: silent
      expect(told).toEqual([{ url: 'http://cp', silentMs: 5_000, giveUpMs: 60_000 }]);
      slow();
    } finally {
      vi.useRealTimers();
    }
  });
});
