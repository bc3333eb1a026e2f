/**
 * The last plan of a desired state, reused while nothing it was computed from has changed: a
 * long-running process (the daemon) plans the same validated commit against an unchanged
 * control plane on every drift check, and a plan of 10,000 objects is ~100 ms of CPU and tens
 * of MB of garbage each time. Only the daemon plans through this (PipelineOptions.plans,
 * src/ops/plan-run.ts); the planner itself (src/plan/) keeps no state between calls.
 *
 * Exact by construction: the key is the desired state object itself (the loader returns the
 * same frozen result while no file, setting or commit changed: analysis-cache.ts), the
 * whole live state (the same frozen objects, or else equal JSON: not its fingerprint, which
 * leaves out health and other things warnings read), every option of `PlanShapeOptions`
 * (`SHAPE` names each one, and the compiler refuses a field it does not name), and the
 * backend's data and `manualStep` function (which marks the steps a person runs; a module
 * function, the same for every instance of a backend). Anything else misses and is planned
 * again. A new desired state (a new commit) costs nothing here: no key is computed for a state
 * there is no plan of.
 */
import { createHash } from 'node:crypto';
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import { allFrozen, lastSame, sameObjects } from './same-objects.js';
import { planAgainst, type PlanShapeOptions } from '../plan/plan-against.js';

interface Entry {
  /** The live state planned against. */
  live: LiveState;
  /**
   * Its key, computed when the plan is remembered unless the state is made of frozen objects
   * (which cannot change since): then only when another state has to be compared with it.
   */
  liveKey: string | null;
  options: string;
  backend: string;
  manualStep: unknown;
  plan: Plan;
}

/** What a plan was made with besides the desired state. */
interface MemoKey {
  live: LiveState;
  options: string;
  backend: string;
  manualStep: unknown;
}

/**
 * Whether each option of a plan shapes it (then it is in the key) — one entry per field of
 * PlanShapeOptions, so a new option cannot be left out of the key.
 */
const SHAPE = {
  commit: true,
  replace: true,
  acceptCascade: true,
  targets: true,
  // Its data and its manualStep function are keyed apart (planMemoKey).
  backend: false,
} as const satisfies Record<keyof PlanShapeOptions, boolean>;

/** The key of a plan of `live` with these options. */
function planMemoKey(live: LiveState, opts: PlanShapeOptions): MemoKey {
  const { manualStep, ...data } = opts.backend ?? {};
  const shaping: unknown[] = [];
  for (const [name, shapes] of Object.entries(SHAPE))
    if (shapes) shaping.push(opts[name as keyof PlanShapeOptions] ?? null);
  return {
    live,
    options: JSON.stringify(shaping),
    backend: JSON.stringify(data),
    manualStep,
  };
}

/**
 * One daemon unit's plans (made in src/daemon/unit.ts, handed to its plan stage):
 * planAgainst (src/plan/plan-against.ts), reusing the last plan of a desired state when the
 * live state and the options are the same.
 */
export class PlanReuse {
  /** Reuses and misses (tests, benchmarks). */
  readonly stats = { hits: 0, misses: 0 };
  private readonly memo = new WeakMap<DesiredState, Entry>();
  /** The JSON of each frozen object of a live state, made once (the objects of an unchanged state are shared). */
  private readonly objectJson = new WeakMap<object, string>();

  /**
   * The digest of everything in `live`: equal states built the same way give equal keys. A state
   * of the same frozen objects as a recent one has its key without hashing (same-objects.ts);
   * otherwise each frozen object's JSON is made once and only the digest is taken again.
   */
  readonly liveStateKey: (live: LiveState) => string = lastSame((live) => {
    // JSON never holds a raw newline: one between values keeps the text unambiguous.
    const parts: string[] = [];
    for (const [key, value] of Object.entries(live)) {
      parts.push(JSON.stringify(key));
      if (!Array.isArray(value)) {
        parts.push(JSON.stringify(value));
        continue;
      }
      parts.push(String(value.length));
      for (const item of value as unknown[]) {
        const frozen = typeof item === 'object' && item !== null && Object.isFrozen(item);
        let json = frozen ? this.objectJson.get(item) : undefined;
        if (json === undefined) {
          json = JSON.stringify(item);
          if (frozen) this.objectJson.set(item, json);
        }
        parts.push(json);
      }
    }
    return createHash('sha256').update(parts.join('\n')).digest('hex');
  });

  plan(desired: DesiredState, live: LiveState, opts: PlanShapeOptions = {}): Plan {
    const key = planMemoKey(live, opts);
    const reused = this.remembered(desired, key);
    if (reused) return reused;
    const plan = planAgainst(desired, live, opts);
    this.memo.set(desired, {
      ...key,
      liveKey: allFrozen(key.live) ? null : this.liveStateKey(key.live),
      plan,
    });
    return plan;
  }

  private remembered(desired: DesiredState, key: MemoKey): Plan | null {
    const e = this.memo.get(desired);
    // A new desired state (a new commit) has no plan to reuse: its live key is never computed.
    const hit =
      e !== undefined &&
      e.options === key.options &&
      e.backend === key.backend &&
      e.manualStep === key.manualStep &&
      (sameObjects(e.live, key.live) ||
        (e.liveKey ?? this.liveStateKey(e.live)) === this.liveStateKey(key.live));
    if (hit) this.stats.hits++;
    else this.stats.misses++;
    return hit ? e.plan : null;
  }
}
