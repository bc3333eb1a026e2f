/**
 * The daemon's live fingerprint (src/incremental/live-fingerprint.ts): the planner's own, hashed
 * once while a state holds the same frozen objects, and again when any object is another one.
 */
import { describe, expect, it } from 'vitest';
import type { LiveState } from '../../src/model/live.js';
import { rememberedLiveFingerprint } from '../../src/incremental/live-fingerprint.js';
import { planReusing } from '../../src/incremental/plan-reuse.js';
import { liveFingerprint } from '../../src/plan/fingerprint.js';
import { computePlan } from '../../src/plan/index.js';
import { contract, desired, live } from '../plan/build.js';

/** A state whose list elements are frozen, as the embedded control plane's list views are. */
function frozen(state: LiveState): LiveState {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state))
    out[k] = Array.isArray(v) ? v.map((e: object) => Object.freeze({ ...e })) : v;
  return out as unknown as LiveState;
}

const base = () =>
  live({
    pools: { gpu: contract('gpu') },
    clusters: { c1: { pool: 'gpu' } },
    queues: { q1: { pool: 'gpu' } },
  });

describe('the remembered live fingerprint', () => {
  it('is the planner’s fingerprint, computed once for the same frozen objects', () => {
    const state = frozen(base());
    const calls: LiveState[] = [];
    const counted = (l: LiveState) => (calls.push(l), liveFingerprint(l));
    const plan = computePlan(desired(), state, { liveFingerprint: counted });
    expect(calls).toEqual([state]);
    expect(plan.live_fingerprint).toBe(liveFingerprint(state));

    expect(rememberedLiveFingerprint(state)).toBe(liveFingerprint(state));
    // Hashed once: a frozen queue whose field reads differently each time shows a second hash.
    let flip = false;
    const q = state.queues[0]!;
    const flipping = Object.freeze(
      Object.defineProperty({ ...q }, 'cluster_managed', {
        get: () => (flip = !flip),
        enumerable: true,
      }),
    );
    const read = { ...state, queues: [flipping, ...state.queues.slice(1)] };
    const first = rememberedLiveFingerprint(read);
    // A new read of an unchanged state: new lists, the same frozen objects.
    const again = { ...read, queues: [...read.queues] };
    expect(rememberedLiveFingerprint(again)).toBe(first);
    expect(liveFingerprint(again)).not.toBe(first);
  });

  it('hashes again when one object is another, and for objects that can still change', () => {
    const state = frozen(base());
    const before = rememberedLiveFingerprint(state);
    const q = state.queues[0]!;
    const changed = {
      ...state,
      queues: [Object.freeze({ ...q, cluster_managed: !q.cluster_managed })],
    };
    expect(rememberedLiveFingerprint(changed)).toBe(liveFingerprint(changed));
    expect(rememberedLiveFingerprint(changed)).not.toBe(before);
    // Unfrozen objects may have changed in place since: never reused.
    const open = base();
    expect(rememberedLiveFingerprint(open)).toBe(liveFingerprint(open));
    (open.queues[0] as { cluster_managed: boolean }).cluster_managed =
      !open.queues[0]!.cluster_managed;
    expect(rememberedLiveFingerprint(open)).toBe(liveFingerprint(open));
  });

  it('the daemon’s plans carry the same fingerprint as a cold plan', () => {
    const d = desired({ pools: { gpu: contract('gpu') }, queues: { q2: { pool: 'gpu' } } });
    const state = frozen(base());
    expect(planReusing(d, state).live_fingerprint).toBe(computePlan(d, state).live_fingerprint);
  });
});
