/** Durations as people write them in flags and config files: `500ms`, `30s`, `1m`, `10m`, `1h`, `1h30m`. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

export function parseDuration(text: string): number | null {
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
