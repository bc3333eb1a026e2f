/**
 * The queue pass planned again for the queues that changed only. Queues are most of an
 * organisation (70% of its objects) and most of the planner's time; after a one-line commit
 * a long-running process (the daemon) plans 7,000 queues of which one changed.
 *
 * A queue's decision is a function of its typed input (src/plan/queue-frame.ts): the frame, which the
 * pass shares, and its own objects. The frame's key is the structural key of the whole frame
 * object (`frameKey`), so nothing the pass reads can be left out of it. When the key is the
 * same as in the last pass, a queue whose own objects are the very same frozen objects as then
 * (desired.ts, list-views.ts) gets the decision it got then. Anything else is planned as usual.
 * The decisions kept are frozen: they are shared by two plans.
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

let last: { frame: string; queues: Map<string, Kept> } | null = null;
const stats = { reused: 0, planned: 0 };

/**
 * The queue pass with memory (PlanOptions.queuePass): each name's decision (null: none), the
 * last pass's where nothing it depends on changed, else `plan(frame, own(name))`.
 */
export const reuseQueueDecisions: QueuePass = (frame, names, own, plan) => {
  const out = new Map<string, QueueDecision | null>();
  const owns = names.map(own);
  // Plain objects (another caller's) could change in place: their identity says nothing.
  const key = owns.some(frozenOwn) ? frameKey(frame) : null;
  const previous = key !== null && last?.frame === key ? last.queues : null;
  const queues = new Map<string, Kept>();
  for (const o of owns) {
    const kept = previous?.get(o.name);
    if (kept && sameOwn(kept.own, o) && frozenOwn(o)) {
      stats.reused++;
      queues.set(o.name, kept);
      out.set(o.name, kept.decision);
      continue;
    }
    const decision = plan(frame, o);
    if (key !== null) {
      stats.planned++;
      queues.set(o.name, { own: o, decision: deepFreeze(decision) });
    }
    out.set(o.name, decision);
  }
  if (key !== null) last = { frame: key, queues };
  return out;
};

function frozenOwn(o: QueueOwn): boolean {
  const frozen = (x: object | undefined) => x === undefined || Object.isFrozen(x);
  return frozen(o.desired) && frozen(o.live) && frozen(o.deleted);
}

function sameOwn(a: QueueOwn, b: QueueOwn): boolean {
  return a.desired === b.desired && a.live === b.live && a.deleted === b.deleted;
}

/**
 * The structural key of a value: JSON, with maps and sets as their entries in order and
 * `undefined` kept apart from null, so two frames have one key exactly when they are equal.
 */
export function frameKey(frame: QueueFrame): string {
  return JSON.stringify(frame, (_key, value: unknown) => {
    if (value instanceof Map) return { map: [...value] };
    if (value instanceof Set) return { set: [...value] };
    if (value === undefined) return { undefined: true };
    return value;
  });
}

/** Queues reused and planned since the process started (tests, benchmarks). */
export function queueMemoStats(): { reused: number; planned: number } {
  return { ...stats };
}
