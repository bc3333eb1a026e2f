/**
 * The daemon's last plan of a desired state, reused while nothing it was made from changed: it
 * plans the same commit at every drift check, ~100 ms of CPU and tens of MB of garbage at 10,000
 * objects. Exact by construction: the key is the desired state object itself (the loader returns
 * the same frozen result: analysis-cache.ts), the whole live state (the same frozen objects, or
 * equal JSON: not its fingerprint, which leaves out what warnings read), every option, and the
 * backend's data and `manualStep`. A new commit costs no key.
 */
import { createHash } from 'node:crypto';
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import { planAgainst, type PlanOptions } from '../plan/index.js';
import {
  allFrozen,
  changeable,
  keyOf,
  PlanSlicer,
  sameKey,
  type PlanKey,
  type SliceOptions,
} from './plan-slice.js';

interface MemoKey extends PlanKey {
  live: LiveState;
  commit: string | null | undefined;
}

interface Entry extends MemoKey {
  /** The live state's key; of frozen objects (unchangeable), only once another is compared. */
  liveKey: string | null;
  plan: Plan;
}

/** Every option (a new one included by construction), the backend's data and `manualStep` apart. */
function planMemoKey(live: LiveState, opts: PlanOptions): MemoKey {
  return { live, commit: opts.commit, ...keyOf(opts) };
}

/**
 * True when `b` has `a`'s lists with identical, frozen elements, and equal other fields. The
 * embedded control plane's frozen list views hand the daemon the same objects on every read of
 * an unchanged state: a pointer per object, where hashing their JSON cost tens of ms and MB per
 * run. Only frozen objects count: one changeable in place could have changed since.
 */
export function sameObjects(a: object, b: object): boolean {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  for (const key of keys) {
    const x = ra[key];
    const y = rb[key];
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i] || changeable(x[i])) return false;
    } else if (!(key in rb) || JSON.stringify(x) !== JSON.stringify(y)) return false;
  }
  return true;
}

/** A daemon unit's planAgainst (src/plan/index.ts), reusing a desired state's last plan. */
export class PlanReuse {
  readonly stats = { hits: 0, misses: 0 };
  /** A desired state not planned yet is planned from the last plan where it can be (plan-slice.ts). */
  readonly slicer: PlanSlicer | null;
  private readonly memo = new WeakMap<DesiredState, Entry>();
  /** The JSON of each frozen object of a live state, made once (the objects of an unchanged state are shared). */
  private readonly objectJson = new WeakMap<object, string>();

  /** Most recently used first. */
  private readonly recentKeys: { live: LiveState; key: string }[] = [];

  /**
   * The digest of everything in `live`. A state of the same frozen objects as one of the last 16
   * has its key without hashing (a daemon reads one state per environment in turn; another
   * state fails the comparison at its first element); else each frozen object's JSON is made
   * once and only the digest is taken again.
   */
  private liveStateKey(live: LiveState): string {
    const recent = this.recentKeys;
    const hit = recent.findIndex((r) => sameObjects(r.live, live));
    if (hit >= 0) {
      const [r] = recent.splice(hit, 1);
      recent.unshift(r!);
      return r!.key;
    }
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
    const key = createHash('sha256').update(parts.join('\n')).digest('hex');
    // A state with a changeable object never passes sameObjects: kept, it only held memory (a
    // control plane read over HTTP is a new one at every drift check; at 10,000 objects the
    // heap after a full collection was 150 MB with them, 94 MB without: issue 79).
    if (!allFrozen(live)) return key;
    recent.unshift({ live, key });
    if (recent.length > 16) recent.pop();
    return key;
  }

  /** `slices`: false (cache `plan-slice` off) plans every miss whole. */
  constructor(opts: { slices?: boolean | SliceOptions } = {}) {
    const { slices = true } = opts;
    this.slicer = slices === false ? null : new PlanSlicer(slices === true ? {} : slices);
  }

  plan(desired: DesiredState, live: LiveState, opts: PlanOptions = {}): Plan {
    const key = planMemoKey(live, opts);
    const reused = this.remembered(desired, key);
    if (reused) {
      this.slicer?.remember(desired, live, opts, reused);
      return reused;
    }
    const plan = this.slicer
      ? this.slicer.plan(desired, live, opts)
      : planAgainst(desired, live, opts);
    this.memo.set(desired, {
      ...key,
      // A state the slicer kept was checked frozen there (not 10,000 objects again).
      liveKey:
        this.slicer?.holds(key.live) || allFrozen(key.live) ? null : this.liveStateKey(key.live),
      plan,
    });
    return plan;
  }

  private remembered(desired: DesiredState, key: MemoKey): Plan | null {
    const e = this.memo.get(desired);
    const hit =
      e !== undefined &&
      e.commit === key.commit &&
      sameKey(e, key) &&
      (sameObjects(e.live, key.live) ||
        (e.liveKey ?? this.liveStateKey(e.live)) === this.liveStateKey(key.live));
    if (!hit) {
      this.stats.misses++;
      return null;
    }
    this.stats.hits++;
    // An equal read now stands for the one the plan was made from: the daemon holds the newer
    // read anyway, and the older copy goes (~8 MB at 10,000 objects over HTTP, issue 79).
    e.live = key.live;
    return e.plan;
  }
}
