/**
 * `text.slice(start, end)` as a string that does not point into `text`: a substring of a file's
 * text is a view of the whole text in V8, kept alive with it, and every hash or comparison of it
 * goes through the view (the 10,000-object plan spends ~25% more in Map lookups of such names).
 * V8 flattens a one-character head joined to the rest on first use; short strings (< 13
 * characters) are copies already. The head is joined to a slice of `text`, not of a first
 * slice: one view fewer per string (~6 MB of a 100,000-object load).
 */
export function flatSlice(text: string, start: number, end: number): string {
  return end - start < 13 ? text.slice(start, end) : text[start]! + text.slice(start + 1, end);
}
