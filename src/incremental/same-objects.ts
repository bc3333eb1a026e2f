/**
 * A value computed from a state, reused while the state holds the very same objects. Readers
 * that share unchanged objects (the embedded control plane's frozen list views, list-views.ts)
 * hand a long-running process the same objects on every read of an unchanged state; comparing
 * them by identity costs a pointer per object, where hashing their JSON cost tens of ms and
 * tens of MB of garbage per run (incremental/plan-reuse.ts, the fingerprints of fingerprint.ts).
 *
 * Only frozen objects count as the same: an object that can be changed in place could have
 * been since the value was computed.
 */

/** True when `b` has `a`'s lists with identical, frozen elements, and equal other fields. */
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
      for (let i = 0; i < x.length; i++) {
        const e: unknown = x[i];
        if (e !== y[i] || (typeof e === 'object' && e !== null && !Object.isFrozen(e)))
          return false;
      }
    } else if (!(key in rb) || JSON.stringify(x) !== JSON.stringify(y)) return false;
  }
  return true;
}

/** True when every list of `state` holds frozen objects only (they cannot change any more). */
export function allFrozen(state: object): boolean {
  for (const value of Object.values(state)) {
    if (!Array.isArray(value)) continue;
    for (const e of value as unknown[])
      if (typeof e === 'object' && e !== null && !Object.isFrozen(e)) return false;
  }
  return true;
}

/**
 * `compute(state)`, or an earlier result when `state` holds the same objects as one of the last
 * `slots` states (a daemon reads one state per environment in turn; a state of other objects
 * fails the comparison at its first element).
 */
export function lastSame<S extends object, V>(
  compute: (state: S) => V,
  slots = 16,
): (state: S) => V {
  const recent: { state: S; value: V }[] = [];
  return (state) => {
    const hit = recent.findIndex((r) => sameObjects(r.state, state));
    if (hit >= 0) {
      const [r] = recent.splice(hit, 1);
      recent.unshift(r!);
      return r!.value;
    }
    const value = compute(state);
    recent.unshift({ state, value });
    if (recent.length > slots) recent.pop();
    return value;
  };
}
