/** Durations as people write them in flags and config files: `500ms`, `30s`, `1m`, `10m`, `1h`, `1h30m`. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * The longest wait a timer holds: Node fires a setTimeout of more than 2^31 - 1 ms (about 24.8
 * days) at once, so `--call-timeout 597h` failed every call at once (issue 78). Every duration
 * poolsync reads, from a flag, a variable or a config file, is at most this.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Milliseconds, or null: not a duration, or longer than MAX_DURATION_MS (durationRefusal). */
export function parseDuration(text: string): number | null {
  const ms = durationOf(text);
  return ms !== null && ms <= MAX_DURATION_MS ? ms : null;
}

/**
 * Why `text` is not a duration poolsync takes, for the message of whoever read it: `"597h" is
 * longer than a timer can wait; give at most 596h` or `"5 minutes" is not a duration; write it
 * like EXAMPLES`.
 */
export function durationRefusal(text: string, examples: string): string {
  const ms = durationOf(text);
  return ms !== null && ms > MAX_DURATION_MS
    ? `${JSON.stringify(text)} is longer than a timer can wait (2^31 - 1 ms, about 24.8 days); give at most ${Math.floor(MAX_DURATION_MS / 3_600_000)}h`
    : `${JSON.stringify(text)} is not a duration; write it like ${examples}`;
}

function durationOf(text: string): number | null {
  const input = text.trim();
  if (input === '') return null;
  if (/^\d+$/.test(input)) return null; // a bare number is ambiguous: ask for a unit
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const start = PART.lastIndex;
    const match = PART.exec(input);
    if (!match || match.index !== start) return null;
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  return Math.round(total);
}

/** Milliseconds for people: `850ms`, `1.5s`, `42s`, `1m30s`, `2h15m`. */
export function formatDuration(ms: number): string {
  // Round once, to the unit shown, so a carry never prints `1m60s` or `10.0s`.
  if (ms < 999.5) return `${Math.round(ms)}ms`;
  if (ms < 9950) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
}
