/**
 * The queue pass planned again for the queues that changed only. Queues are most of an
 * organisation (70% of its objects) and most of the planner's time; after a one-line commit
 * a long-running process (the daemon) plans 7,000 queues of which one changed.
 *
 * A queue's decision is a function of its typed input (src/plan/queue-frame.ts): the frame, which the
 * pass shares, and its own objects. The whole frame object is compared with a copy of the last
 * pass's (`sameFrame`: structurally, maps and sets by their entries in order), so nothing the
 * pass reads can be left out. When it is the same as in the last pass, a queue whose own objects
 * are the very same frozen objects as then (desired.ts, list-views.ts) gets the decision it got
 * then. Anything else is planned as usual. The decisions kept are frozen: they are shared by two
 * plans.
 *
 * The comparison walks the frame without building anything: the daemon's frame holds every
 * cluster and the inventory's queue addresses (thousands of entries), and its JSON through a
 * replacer function cost more than the comparison of two equal frames. The copy (a
 * structuredClone) is made only when the frame changed: the frame shares sets with the
 * planner's context, which a later pass may add to.
 *
 * Only states of frozen objects take part: another caller's plain objects could have been
 * changed in place, so their identity says nothing.
 */
import { deepFreeze } from '../util/deep-freeze.js';
import type { QueueDecision } from '../plan/context.js';
import type { QueueFrame, QueueOwn } from '../plan/queue-frame.js';
import type { QueuePass } from '../plan/queue-pass.js';

interface Kept {
  own: QueueOwn;
  decision: QueueDecision | null;
}

type Last = { frame: QueueFrame; queues: Map<string, Kept> };
/** The last pass of each environment (a daemon plans its environments in turn). */
const lasts = new Map<string, Last>();
const stats = { reused: 0, planned: 0 };

/**
 * The queue pass with memory (PlanOptions.queuePass) for the environment `slot` ('' without
 * environments): each name's decision (null: none), the environment's last pass's where nothing
 * it depends on changed, else `plan(frame, own(name))`.
 */
export function reuseQueueDecisions(slot: string): QueuePass {
  return (frame, names, own, plan) => reusing(slot, frame, names, own, plan);
}

function reusing(slot: string, ...[frame, names, own, plan]: Parameters<QueuePass>) {
  const last = lasts.get(slot) ?? null;
  const out = new Map<string, QueueDecision | null>();
  const owns = names.map(own);
  // Plain objects (another caller's) could change in place: their identity says nothing.
  const remember = owns.some(frozenOwn);
  const kept = remember && last !== null && sameFrame(last.frame, frame) ? last : null;
  const previous = kept?.queues ?? null;
  const queues = new Map<string, Kept>();
  for (const o of owns) {
    const k = previous?.get(o.name);
    if (k && sameOwn(k.own, o) && frozenOwn(o)) {
      stats.reused++;
      queues.set(o.name, k);
      out.set(o.name, k.decision);
      continue;
    }
    const decision = plan(frame, o);
    if (remember) {
      stats.planned++;
      queues.set(o.name, { own: o, decision: deepFreeze(decision) });
    }
    out.set(o.name, decision);
  }
  if (remember) lasts.set(slot, { frame: kept?.frame ?? structuredClone(frame), queues });
  return out;
}

function frozenOwn(o: QueueOwn): boolean {
  const frozen = (x: object | undefined) => x === undefined || Object.isFrozen(x);
  return frozen(o.desired) && frozen(o.live) && frozen(o.deleted);
}

function sameOwn(a: QueueOwn, b: QueueOwn): boolean {
  return a.desired === b.desired && a.live === b.live && a.deleted === b.deleted;
}

/**
 * Whether two frames are equal: the same fields in the same order, maps and sets with equal
 * entries in the same order, `undefined` apart from null and from a missing field.
 */
export function sameFrame(a: QueueFrame, b: QueueFrame): boolean {
  return sameValue(a, b);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Map || a instanceof Set) {
    if (a.constructor !== b.constructor || a.size !== (b as typeof a).size) return false;
    const other = (b as Map<unknown, unknown> | Set<unknown>).entries();
    for (const [key, value] of a.entries()) {
      const [otherKey, otherValue] = other.next().value as [unknown, unknown];
      if (!sameValue(key, otherKey) || !sameValue(value, otherValue)) return false;
    }
    return true;
  }
  if (b instanceof Map || b instanceof Set || Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  const otherKeys = Object.keys(b);
  if (keys.length !== otherKeys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key !== otherKeys[i]) return false;
    const value = (a as Record<string, unknown>)[key];
    if (!sameValue(value, (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/** Queues reused and planned since the process started (tests, benchmarks). */
export function queueMemoStats(): { reused: number; planned: number } {
  return { ...stats };
}
