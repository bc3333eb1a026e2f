/**
 * The last plan of a desired state, reused while nothing it was computed from has changed: a
 * long-running process (the daemon) plans the same validated commit against an unchanged
 * control plane on every drift check, and a plan of 10,000 objects is ~100 ms of CPU and tens
 * of MB of garbage each time.
 *
 * Exact by construction: the key is the desired state object itself (the loader returns the
 * same frozen result while no file, setting or commit changed: src/manifests/cache.ts), the
 * whole live state's canonical JSON (not its fingerprint, which leaves out health and other
 * things warnings read), the options, and the backend's data and `manualStep` function (which
 * marks the steps a person runs; a module function, the same for every instance of a backend).
 * Anything else misses and is planned again.
 */
import { createHash } from 'node:crypto';
import type { BackendInfo } from '../model/backend.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import { lastSame } from './same-objects.js';

interface Entry {
  live: string;
  options: string;
  backend: string;
  manualStep: unknown;
  plan: Plan;
}

export interface MemoKey {
  live: string;
  options: string;
  backend: string;
  manualStep: unknown;
}

/** The key of a plan of `live` with these options against this backend. */
export function planMemoKey(
  live: LiveState,
  options: unknown,
  backend: BackendInfo | undefined,
): MemoKey {
  const { manualStep, ...data } = backend ?? {};
  return {
    live: liveStateKey(live),
    options: JSON.stringify(options),
    backend: JSON.stringify(data),
    manualStep,
  };
}

const memo = new WeakMap<DesiredState, Entry>();
const stats = { hits: 0, misses: 0 };

/**
 * The digest of everything in `live`: equal states built the same way give equal keys. A state
 * of the same frozen objects as the last one has its key without hashing (same-objects.ts).
 */
export const liveStateKey: (live: LiveState) => string = lastSame((live) =>
  createHash('sha256').update(JSON.stringify(live)).digest('hex'),
);

export function rememberedPlan(desired: DesiredState, key: MemoKey): Plan | null {
  const e = memo.get(desired);
  const hit =
    e !== undefined &&
    e.live === key.live &&
    e.options === key.options &&
    e.backend === key.backend &&
    e.manualStep === key.manualStep;
  if (hit) stats.hits++;
  else stats.misses++;
  return hit ? e.plan : null;
}

export function rememberPlan(desired: DesiredState, key: MemoKey, plan: Plan): void {
  memo.set(desired, { ...key, plan });
}

/** Reuses and misses since the process started (tests, benchmarks). */
export function planMemoStats(): { hits: number; misses: number } {
  return { ...stats };
}
