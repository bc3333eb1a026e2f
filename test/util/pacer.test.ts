/**
 * The pacer (src/util/pacer.ts): a refusal now and then changes nothing (the refused call waits
 * its own delay in the retry loop); sustained refusals halve the calls in flight once per round,
 * which grow back by one per round answered; at one call in flight still refused, new calls wait
 * the server's delay; bulk calls go after every other call waiting and leave a reserve free
 * (issue 79 item 3). Virtual time.
 */
import { describe, expect, it } from 'vitest';
import {
  Pacer,
  paceLine,
  reserveOf,
  type Answer,
  type Lane,
  type PaceEvent,
} from '../../src/util/pacer.js';
import { VirtualClock } from '../support/virtual-clock.js';

const ok: Answer = { refused: false };
const refused = (delayMs = 1_000): Answer => ({ refused: true, delayMs, said: 'HTTP 429' });

/** One call through `pacer` answered `a` at once; when it was sent. */
function call(pacer: Pacer, clock: VirtualClock, a: Answer): Promise<number> {
  return pacer.run(
    async () => clock.now(),
    () => a,
  );
}

/** `n` calls through `pacer` out together (as many as it allows), each answered `a`. */
async function together(pacer: Pacer, n: number, a: Answer): Promise<void> {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  const out = Array.from({ length: n }, () =>
    pacer.run(
      () => done,
      () => a,
    ),
  );
  await new Promise((r) => setImmediate(r));
  release();
  await Promise.all(out);
}

/** A call that stays in flight until `release()`. */
function pending() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { done, release };
}

describe('Pacer', () => {
  it('keeps its pace through refusals now and then: no call held, none fewer in flight', async () => {
    const clock = new VirtualClock();
    const events: PaceEvent[] = [];
    const pacer = new Pacer('Union', 8, clock, (e) => events.push(e));
    const t0 = clock.now();
    // One refusal in 20 answers, for 400 answers: 8 of the last 48 is never reached.
    for (let i = 0; i < 400; i++) await call(pacer, clock, i % 20 === 0 ? refused(30_000) : ok);
    expect(pacer.allowed).toBe(8);
    expect(events).toEqual([]);
    expect(clock.now()).toBe(t0);
  });

  it('halves the calls in flight once per round of sustained refusals, and grows back', async () => {
    const clock = new VirtualClock();
    const events: PaceEvent[] = [];
    const pacer = new Pacer('flyteadmin', 8, clock, (e) => events.push(e));
    // Eight calls out together, all refused: 8 of the window at the 8th answer.
    const calls = Array.from({ length: 8 }, () => pending());
    const out = calls.map((c) =>
      pacer.run(
        () => c.done,
        () => refused(),
      ),
    );
    for (const c of calls) c.release();
    await Promise.all(out);
    expect(pacer.allowed).toBe(4);
    expect(events).toHaveLength(1);
    expect(paceLine(events[0]!)).toBe(
      'flyteadmin asked to slow down (HTTP 429): 4 of 8 calls at once, each refused call retried after 1.0s',
    );
    // Four calls go, a fifth waits for a free one.
    const next = Array.from({ length: 5 }, () => pending());
    let started = 0;
    const running = next.map((c) =>
      pacer.run(
        async () => {
          started++;
          await c.done;
        },
        () => ok,
      ),
    );
    while (started < 4) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(started).toBe(4);
    next[0]!.release();
    await running[0];
    while (started < 5) await new Promise((r) => setImmediate(r));
    for (const c of next) c.release();
    await Promise.all(running);
    // Additive increase: one more per round of answers, back to 8 with a last event.
    for (let i = 0; i < 40 && pacer.allowed < 8; i++) await call(pacer, clock, ok);
    expect(pacer.allowed).toBe(8);
    expect(events.at(-1)).toMatchObject({ throttled: false, limit: 8 });
    expect(paceLine(events.at(-1)!)).toBe(
      'flyteadmin no longer throttles: back to 8 calls at once',
    );
  });

  it('judges answers to calls sent before a decrease by it: one halving per round', async () => {
    const clock = new VirtualClock();
    const pacer = new Pacer('Union', 32, clock);
    // 32 calls out at once, all refused: halved at the 8th answer; the other 24 were sent before.
    const calls = Array.from({ length: 32 }, () => pending());
    const out = calls.map((c) =>
      pacer.run(
        () => c.done,
        () => refused(),
      ),
    );
    for (const c of calls) c.release();
    await Promise.all(out);
    expect(pacer.allowed).toBe(16);
  });

  it('at one call in flight and still refused, holds new calls for the delay too', async () => {
    const clock = new VirtualClock();
    const events: PaceEvent[] = [];
    const pacer = new Pacer('Union', 2, clock, (e) => events.push(e));
    for (let i = 0; i < 4; i++) await together(pacer, 2, refused(5_000));
    expect(pacer.allowed).toBe(1);
    expect(events.at(-1)).toMatchObject({ limit: 1, max: 2, held: false });
    const t0 = clock.now();
    for (let i = 0; i < 8; i++) await call(pacer, clock, refused(5_000));
    expect(pacer.allowed).toBe(1);
    expect(events.at(-1)).toMatchObject({ limit: 1, held: true, waitMs: 5_000 });
    expect(paceLine(events.at(-1)!)).toBe(
      'Union asked to slow down (HTTP 429): 1 of 2 calls at once, the next call in 5.0s',
    );
    expect(await call(pacer, clock, ok)).toBeGreaterThanOrEqual(t0 + 5_000);
  });

  it('counts failures that are not refusals toward neither', async () => {
    const clock = new VirtualClock();
    const pacer = new Pacer('Union', 4, clock);
    await together(pacer, 4, refused());
    await together(pacer, 3, refused());
    for (let i = 0; i < 50; i++) await together(pacer, 4, null);
    expect(pacer.allowed).toBe(4);
    await together(pacer, 1, refused());
    expect(pacer.allowed).toBe(2);
  });

  it('halves the calls that were in flight, not its most: 8 steps of 256 allowed go to 4', async () => {
    const clock = new VirtualClock();
    const events: PaceEvent[] = [];
    const pacer = new Pacer('Union', 256, clock, (e) => events.push(e));
    await together(pacer, 8, refused());
    expect(pacer.allowed).toBe(4);
    expect(events).toMatchObject([{ throttled: true, limit: 4, max: 8 }]);
    // Back to the 8 wanted: every call allowed again, and told so.
    for (let i = 0; i < 10 && events.length < 2; i++) await together(pacer, 8, ok);
    expect(events[1]).toMatchObject({ throttled: false, max: 8 });
    expect(pacer.allowed).toBe(256);
  });

  it('sends a first-lane call before any bulk call waiting, and keeps bulk calls a reserve short (issue 79 item 3)', async () => {
    const pacer = new Pacer('Union', 16, new VirtualClock());
    const sent: string[] = [];
    const inFlight = new Map<string, () => void>();
    const call = (name: string, lane: Lane) =>
      pacer.run(
        () => {
          sent.push(name);
          return new Promise<void>((r) => inFlight.set(name, r));
        },
        () => ok,
        lane,
      );
    const answer = async (name: string) => {
      inFlight.get(name)!();
      inFlight.delete(name);
      await new Promise((r) => setImmediate(r));
    };
    // 20 settings reads: 14 go, 2 of the 16 slots are kept for the critical path.
    expect(reserveOf(16)).toBe(2);
    const bulk = Array.from({ length: 20 }, (_, i) => call(`s${i}`, 'bulk'));
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual(Array.from({ length: 14 }, (_, i) => `s${i}`));
    // Two list pages go at once, into the reserve; a third waits for a slot.
    const pages = ['queues-2', 'clusters-2', 'queues-3'].map((name) => call(name, 'first'));
    await new Promise((r) => setImmediate(r));
    expect(sent.slice(14)).toEqual(['queues-2', 'clusters-2']);
    // A settings read answered: its slot goes to the waiting page, not to the 6 settings before it.
    await answer('s0');
    expect(sent.slice(16)).toEqual(['queues-3']);
    // Pages answered: bulk calls are back to 14 in flight (one more: s0's slot went to the
    // page), the reserve free again.
    for (const page of ['queues-2', 'clusters-2', 'queues-3']) await answer(page);
    expect(sent.slice(17)).toEqual(['s14']);
    expect(inFlight.size).toBe(14);
    await answer('s1');
    expect(sent.slice(18)).toEqual(['s15']);
    expect(inFlight.size).toBe(14);
    while (inFlight.size > 0) for (const name of [...inFlight.keys()]) await answer(name);
    await Promise.all([...bulk, ...pages]);
    expect(sent).toHaveLength(23);
  });

  it('reserves nothing below 8 calls: one call allowed still runs bulk calls one by one', async () => {
    expect([1, 7, 8, 64, 256].map(reserveOf)).toEqual([0, 0, 1, 8, 8]);
    const pacer = new Pacer('Union', 1, new VirtualClock());
    const sent: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        pacer.run(
          async () => sent.push(i),
          () => ok,
          'bulk',
        ),
      ),
    );
    expect(sent).toEqual([0, 1, 2, 3, 4]);
  });
});
