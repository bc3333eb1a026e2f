/**
 * The pacer (src/util/pacer.ts): a server's delay holds every call, the calls in flight halve
 * once per hold and grow back by one per round answered, and both are told. Virtual time.
 */
import { describe, expect, it } from 'vitest';
import { Pacer, paceLine, type PaceEvent } from '../../src/util/pacer.js';
import { VirtualClock } from '../support/virtual-clock.js';

/** A call that stays in flight until `release()`; `started` tells when it went out. */
function pending() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { done, release };
}

describe('Pacer', () => {
  it('holds every call until the delay the server asked for has passed', async () => {
    const clock = new VirtualClock();
    const pacer = new Pacer('Union', 8, clock);
    const t0 = clock.now();
    pacer.throttled(2_000, 'RESOURCE_EXHAUSTED');
    const sentAt: number[] = [];
    await Promise.all([1, 2, 3].map(() => pacer.run(async () => sentAt.push(clock.now()))));
    expect(sentAt.every((t) => t >= t0 + 2_000)).toBe(true);
  });

  it('halves the calls in flight once per hold, and grows back to the maximum', async () => {
    const clock = new VirtualClock();
    const events: PaceEvent[] = [];
    const pacer = new Pacer('flyteadmin', 8, clock, (e) => events.push(e));
    // A burst answered together: one halving.
    for (let i = 0; i < 8; i++) pacer.throttled(1_000, 'HTTP 429');
    expect(pacer.allowed).toBe(4);
    expect(events).toHaveLength(1);
    expect(paceLine(events[0]!)).toBe(
      'flyteadmin asked to slow down (HTTP 429): 4 of 8 calls at once, the next call in 1.0s',
    );
    // Four calls go, a fifth waits for a free one.
    const calls = Array.from({ length: 5 }, () => pending());
    let started = 0;
    const running = calls.map((c) =>
      pacer.run(async () => {
        started++;
        await c.done;
      }),
    );
    await new Promise((r) => setImmediate(r));
    while (started < 4) await new Promise((r) => setImmediate(r));
    expect(started).toBe(4);
    calls[0]!.release();
    await running[0];
    await new Promise((r) => setImmediate(r));
    expect(started).toBe(5);
    for (const c of calls) c.release();
    await Promise.all(running);
    // Additive increase: one more per round of answers, back to 8 with a last event.
    for (let i = 0; i < 40 && pacer.allowed < 8; i++) pacer.answered();
    expect(pacer.allowed).toBe(8);
    expect(events.at(-1)).toMatchObject({ throttled: false, limit: 8 });
    expect(paceLine(events.at(-1)!)).toBe(
      'flyteadmin no longer throttles: back to 8 calls at once',
    );
  });

  it('never goes below one call in flight', () => {
    const clock = new VirtualClock();
    const pacer = new Pacer('Union', 2, clock);
    pacer.throttled(10, 'RESOURCE_EXHAUSTED');
    void clock.sleep(20);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        pacer.throttled(10, 'RESOURCE_EXHAUSTED');
        expect(pacer.allowed).toBe(1);
        resolve();
      }),
    );
  });
});
