/**
 * What a control plane reports is input too (issue 38, item 11): a flyteadmin label of 10 MB
 * made `export` overflow the stack (js-yaml), ~12 MB of Union names took `plan --output json`
 * past a 256 MB heap. No name, label, URI or reason a control plane holds for real needs more
 * than a few hundred bytes (Kubernetes names 253, label values 63, Flyte workflow names a
 * Python path), so a live state with a string over MAX_LIVE_STRING is refused when it is read,
 * before anything plans, renders or exports it, with where it is and what to do.
 */
import { ControlPlaneError } from './errors.js';

/** UTF-16 code units (bytes for ASCII) one string of a live state may hold. */
export const MAX_LIVE_STRING = 4096;

/** Shown of a refused value: enough to find it, not enough to flood a terminal. */
const SHOWN = 40;

/**
 * Throws when a string anywhere in `value` (a list of a live state, `what` its name) is longer
 * than MAX_LIVE_STRING. Frozen lists are the embedded state's own views, checked as it loads.
 */
export function checkLiveStrings(what: string, value: unknown): void {
  if (Object.isFrozen(value) && Array.isArray(value)) return;
  const path = find(value, what, 0);
  if (path === null) return;
  throw new ControlPlaneError(
    'INVALID_ARGUMENT',
    `it reported a value of ${path.length.toLocaleString('en-US')} characters at ${path.at}` +
      ` (${JSON.stringify(path.start)}…): more than ${MAX_LIVE_STRING} characters, which no name, label or setting needs;` +
      ` poolsync does not plan, render or export it. Fix or remove that object with the control plane's own tool`,
  );
}

interface Found {
  at: string;
  length: number;
  start: string;
}

/**
 * The first string over the bound in `value`, or null. The path to it (`queues[3].spec.x`) is
 * built only for the one found, on the way back up: a walk of a 10,000-object state built a
 * path string for every node it passed (~20 ms of a cold plan, and its garbage).
 */
function find(value: unknown, at: string, depth: number): Found | null {
  const hit = findIn(value, depth);
  return hit === null ? null : { ...hit, at: at + hit.at };
}

/** As find, `at` relative to `value` (`[3].spec.x`). */
function findIn(value: unknown, depth: number): Found | null {
  if (typeof value === 'string')
    return value.length > MAX_LIVE_STRING
      ? { at: '', length: value.length, start: value.slice(0, SHOWN) }
      : null;
  if (typeof value !== 'object' || value === null || depth > 16) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'number' || typeof item === 'boolean') continue;
      const hit = findIn(item, depth + 1);
      if (hit) return { ...hit, at: `[${i}]${hit.at}` };
    }
    return null;
  }
  for (const key in value) {
    if (key.length > MAX_LIVE_STRING)
      return { at: ` (a field name)`, length: key.length, start: key.slice(0, SHOWN) };
    const hit = findIn((value as Record<string, unknown>)[key], depth + 1);
    if (hit) return { ...hit, at: `.${key}${hit.at}` };
  }
  return null;
}
