/**
 * The transport limits as flags and variables give them (src/util/transport-limits.ts): a zero
 * is refused as no limit (it was "0s is not a duration", as if the unit were wrong), named
 * where it came from; a value is read in its unit.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  heardBy,
  noticeSilence,
  transportLimits,
  type WaitEvent,
} from '../../src/util/transport-limits.js';
import { ManualClock } from '../support/virtual-clock.js';

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
  // Checked a turn after the clock wakes it (setImmediate follows I/O).
  const turns = async () => {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('tells of a silent server, not of one slow call among answered ones', async () => {
    const clock = new ManualClock();
    const told: WaitEvent[] = [];
    const listener = (e: WaitEvent) => void told.push(e);
    const slow = noticeSilence(DEFAULT_LIMITS, 'http://cp', listener, clock);
    const other = noticeSilence(DEFAULT_LIMITS, 'http://cp', listener, clock);
    clock.advance(4_000);
    other(); // the server answered another call 4 s in
    clock.advance(1_500); // the slow call has waited 5.5 s; the server spoke 1.5 s ago
    await turns();
    expect(told).toEqual([]);
    clock.advance(4_000); // 5.5 s since any answer: silent
    await turns();
    expect(told).toEqual([{ url: 'http://cp', silentMs: 5_000, giveUpMs: 60_000, limit: 'call' }]);
    slow();
    expect(clock.sleeping).toBe(0);
  });

  it('names the limit that ends the wait first: the read timeout of a call not retried', async () => {
    const clock = new ManualClock();
    const told: WaitEvent[] = [];
    const done = noticeSilence(DEFAULT_LIMITS, 'http://cp', (e) => void told.push(e), clock, 0);
    clock.advance(5_000);
    await turns();
    expect(told).toEqual([{ url: 'http://cp', silentMs: 5_000, giveUpMs: 10_000, limit: 'read' }]);
    done();
  });

  it('a call whose attempts find nothing listening is told so, not as silence', async () => {
    const clock = new ManualClock();
    const told: WaitEvent[] = [];
    const heard = noticeSilence(DEFAULT_LIMITS, 'http://cp', (e) => void told.push(e), clock, 8);
    heard.unreached('ECONNREFUSED', 3, 9);
    clock.advance(5_000);
    await turns();
    expect(told).toEqual([
      {
        url: 'http://cp',
        silentMs: 5_000,
        giveUpMs: 60_000,
        limit: 'call',
        unreached: { code: 'ECONNREFUSED', attempt: 3, attempts: 9 },
      },
    ]);
    heard();
  });

  it('a call whose token request answered a failure it retries is told what it answered, not "no answer"', async () => {
    const clock = new ManualClock();
    const told: WaitEvent[] = [];
    const listener = (e: WaitEvent) => void told.push(e);
    const heard = noticeSilence(DEFAULT_LIMITS, 'flyteadmin token request', listener, clock, 8);
    heardBy(listener, clock, 'HTTP 502');
    clock.advance(5_000);
    await turns();
    expect(told).toEqual([
      {
        url: 'flyteadmin token request',
        silentMs: 5_000,
        giveUpMs: 60_000,
        limit: 'call',
        answered: 'HTTP 502',
      },
    ]);
    heard();
  });

  it('a timer woken late (the process could not run) counts the silence again from then', async () => {
    const clock = new ManualClock();
    const told: WaitEvent[] = [];
    const done = noticeSilence(DEFAULT_LIMITS, 'http://cp', (e) => void told.push(e), clock);
    clock.advance(7_000); // blocked 2 s past the notice: the request may only now have gone out
    await turns();
    expect(told).toEqual([]);
    clock.advance(5_000); // 5 s of silence while the process ran
    await turns();
    expect(told).toEqual([{ url: 'http://cp', silentMs: 5_000, giveUpMs: 60_000, limit: 'call' }]);
    done();
  });
});
