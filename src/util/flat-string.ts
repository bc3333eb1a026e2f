/**
 * A copy of `s` that does not point into a larger string: a substring of a file's text is a
 * view of the whole text in V8, kept alive with it, and every hash or comparison of it goes
 * through the view (the 10,000-object plan spends ~25% more in Map lookups of such names).
 * V8 flattens a one-character head joined to the rest on first use; short strings (< 13
 * characters) are copies already.
 */
export function flatString(s: string): string {
  return s.length < 13 ? s : s[0]! + s.slice(1);
}
