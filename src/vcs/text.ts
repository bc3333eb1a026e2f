/** Text measuring for provider limits, which count characters (code points), not bytes. */

/** Number of code points (a surrogate pair counts once), without allocating. */
export function codePointLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** The first `max` code points of `text` (never splitting a surrogate pair). */
export function takeCodePoints(text: string, max: number): string {
  if (max <= 0) return '';
  let count = 0;
  let i = 0;
  while (i < text.length && count < max) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
    count++;
  }
  return text.slice(0, i);
}

/** Shortens to at most `max` code points, marking the cut with an ellipsis. */
export function clip(text: string, max: number): string {
  if (codePointLength(text) <= max) return text;
  return `${takeCodePoints(text, max - 1)}…`;
}

/** A Markdown code fence longer than any run of backticks inside `content`. */
export function fence(content: string, info = ''): string {
  let longest = 0;
  for (const m of content.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const f = '`'.repeat(Math.max(3, longest + 1));
  return `${f}${info}\n${content}\n${f}`;
}
