/** Durations as people write them in flags and config files: `500ms`, `30s`, `1m`, `10m`, `1h`, `1h30m`. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Parses a duration into milliseconds; returns null when the text is not one. */
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

/**
 * Renders milliseconds compactly for people (`850ms`, `1.5s`, `42s`, `1m30s`, `2h15m`):
 * apply's progress, waits and timeouts.
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return rest === 0 ? `${m}m` : `${m}m${rest}s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
}
