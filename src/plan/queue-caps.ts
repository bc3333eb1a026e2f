/**
 * Union's queue caps and scheduling (QueueCaps, model/common.ts) in the planner. A Queue
 * document that omits one of them does not manage it: the queue keeps the value it has
 * (`inheritCaps`), so the plan neither shows nor sends a change of it, and the backend's
 * read-modify-write sends it back as read. Declared, it is compared as a whole: a map by its
 * entries (absent and `{}` are both "no caps"), scheduling by value (unset is not strict_fifo:
 * Union's client shows it as "unspecified").
 */
import { QUEUE_CAP_FIELDS, type QueueCaps, type QueueSpec } from '../model/common.js';

/** `target` with the caps it does not declare taken from `live` (null: nothing to take). */
export function inheritCaps<T extends QueueSpec>(target: T, live: QueueCaps | null): T {
  if (!live) return target;
  let out: T | null = null;
  for (const f of QUEUE_CAP_FIELDS) {
    if (target[f] !== undefined || live[f] === undefined) continue;
    out ??= { ...target };
    (out as QueueCaps)[f] = live[f] as never;
  }
  return out ?? target;
}

function sameMap(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined) {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => b !== undefined && Object.hasOwn(b, k) && b[k] === a![k]);
}

export function sameCaps(a: QueueCaps, b: QueueCaps): boolean {
  return (
    a.scheduling === b.scheduling &&
    sameMap(a.max_resources, b.max_resources) &&
    sameMap(a.max_accelerators, b.max_accelerators)
  );
}

/** The caps a spec declares, in a fixed order, for forms and fingerprints (absent: left out). */
export function capsForm(s: QueueCaps): QueueCaps {
  const out: QueueCaps = {};
  if (s.max_resources !== undefined) out.max_resources = sortedCopy(s.max_resources);
  if (s.max_accelerators !== undefined) out.max_accelerators = sortedCopy(s.max_accelerators);
  if (s.scheduling !== undefined) out.scheduling = s.scheduling;
  return out;
}

function sortedCopy<V>(m: Partial<Record<string, V>>): Record<string, V> {
  return Object.fromEntries(
    Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ) as Record<string, V>;
}

/** Whether a spec declares any cap (a backend without them refuses it: plan/backend.ts). */
export function declaresCaps(s: QueueCaps): boolean {
  return QUEUE_CAP_FIELDS.some((f) => s[f] !== undefined);
}
