/**
 * Lists of strings kept in ascending order (by UTF-16 code units, as `.sort()` and `<` order
 * them), so that an inventory of 100,000 addresses is sorted once and then merged and searched,
 * not copied into sets and sorted again at each step (issue 79 item 5).
 */

/** Whether `keys` is strictly ascending (sorted, no key twice). */
export function isAscending(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (!(keys[i - 1]! < keys[i]!)) return false;
  return true;
}

/** `list` itself when strictly ascending, else its distinct items sorted (a copy). */
export function ascending(list: readonly string[]): readonly string[] {
  return isAscending(list) ? list : [...new Set(list)].sort();
}

/**
 * Membership in a strictly ascending list without a set of it: asked in ascending order (as a
 * merge walks), each answer gallops forward from the last one, so a walk of n keys costs O(n)
 * comparisons; asked out of order, it is a binary search.
 */
export function sortedHas(sorted: readonly string[]): (key: string) => boolean {
  let from = 0;
  return (key) => {
    if (from > 0 && !(sorted[from - 1]! < key)) from = 0;
    // Gallop: the first power-of-two step at or past `key` bounds the binary search.
    let step = 1;
    let hi = from;
    while (hi < sorted.length && sorted[hi]! < key) {
      from = hi + 1;
      hi = from + step - 1;
      step *= 2;
    }
    let lo = from;
    hi = Math.min(hi, sorted.length);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    from = lo;
    return lo < sorted.length && sorted[lo] === key;
  };
}

/**
 * The distinct items of `a` and `b`, ascending: merged when both are strictly ascending (the
 * planner's keys of declared and live objects nearly always are), else sorted.
 */
export function sortedUnion(a: readonly string[], b: readonly string[]): string[] {
  if (!isAscending(a) || !isAscending(b)) return [...new Set([...a, ...b])].sort();
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    // The lesser, or the one item both hold, once.
    if (!(y < x)) i++;
    if (!(x < y)) j++;
    out.push(x < y ? x : y);
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** The index of the first of `items` (sorted by key) whose key is after `key`: by bisection. */
export function firstAfter<T>(items: readonly T[], keyOf: (t: T) => string, key: string): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyOf(items[mid]!) > key) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
