/**
 * The retry loop's deadline (retry.ts): it gives up when the next backoff would pass the call's
 * deadline, and says so with the time actually spent, not that the deadline ran out.
 */
import { describe, expect, it } from 'vitest';
import { retrying, type Failed } from '../../src/controlplane/retry.js';
import { unavailable } from '../../src/controlplane/errors.js';
import { Reach } from '../../src/util/reach.js';
import { CallDeadline, DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { formatDuration } from '../../src/util/duration.js';
import { VirtualClock } from '../support/virtual-clock.js';

describe('retrying against a call deadline', () => {
  it('stopping before a backoff that would pass the deadline says so, with the time spent', async () => {
    const clock = new VirtualClock();
    const start = clock.now();
    const limits = { ...DEFAULT_LIMITS, callTimeoutMs: 5_000 };
    const deadline = new CallDeadline(limits, () => clock.now(), 'PUT http://127.0.0.1:1/v1/x');
    let attempts = 0;
    const err = await retrying<never>(
      { maxRetries: 10, minDelayMs: 1_000, maxDelayMs: 4_000, reach: new Reach(), clock, deadline },
      async (): Promise<Failed> => {
        attempts++;
        await clock.sleep(100); // each attempt takes a while to fail
        return {
          ok: false,
          transient: true,
          error: (n) => unavailable(`simulated outage (${n} attempts)`),
        };
      },
    ).catch((e: unknown) => e as Error);
    deadline.done();
    const spent = clock.now() - start;
    expect(spent).toBeLessThan(5_000);
    const message = err.message;
    expect(message).toContain(
      `simulated outage (${attempts} attempts); stopped after ${formatDuration(spent)}: `,
    );
    expect(message).toMatch(
      /the next retry, in \d\.\ds, would pass the deadline of one call with its retries, 5\.0s \(--call-timeout, env POOLSYNC_CALL_TIMEOUT\); raise --call-timeout to wait longer$/,
    );
    expect(message).not.toContain('no complete answer within');
  });
});
