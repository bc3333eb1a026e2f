/**
 * Lines to a stream, one write per turn of the event loop instead of one per line (pipes and
 * files take each write synchronously: an apply of 10,000 steps made ~29,000 write calls); a
 * person at a terminal still sees each line as it happens. `gather(ms)`, for a stream nobody
 * watches live, gathers the lines of that long: at 128 calls in flight an apply turns the event
 * loop thousands of times a second, and one write per turn was ~5% of its CPU (--cpu-prof).
 * At most WRITTEN_AT characters are held: 50 ms of a 100,000-step apply's lines outlived young
 * collections (copied, promoted, then joined from old space), ~0.1 s of its CPU (issue 79).
 */
export interface BatchedLines {
  line(text: string): void;
  /** Writes what is buffered now (before writing to the stream directly, and at the end). */
  flush(): void;
  /** From now on, gather lines for this long (0: one write per turn of the event loop). */
  gather(intervalMs: number): void;
}

/** Lines held up to this many characters (one write of `batches`' size). */
const WRITTEN_AT = 1 << 16;

export function batchedLines(stream: { write(text: string): unknown }): BatchedLines {
  let buffer: string[] = [];
  let held = 0;
  let intervalMs = 0;
  let scheduled: { cancel: () => void } | null = null;
  const flush = () => {
    scheduled?.cancel();
    scheduled = null;
    if (buffer.length === 0) return;
    // Joined by newlines (the last after the empty end), not each line with its own: a string
    // fewer a line, ~6 MB at 100,000 steps.
    buffer.push('');
    const text = buffer.join('\n');
    buffer = [];
    held = 0;
    stream.write(text);
  };
  return {
    line(text) {
      buffer.push(text);
      held += text.length + 1;
      if (held >= WRITTEN_AT) flush();
      else scheduled ??= schedule(flush, intervalMs);
    },
    flush,
    gather(ms) {
      intervalMs = ms;
    },
  };
}

function schedule(run: () => void, intervalMs: number): { cancel: () => void } {
  if (intervalMs > 0) {
    const timer = setTimeout(run, intervalMs);
    return { cancel: () => clearTimeout(timer) };
  }
  const immediate = setImmediate(run);
  return { cancel: () => clearImmediate(immediate) };
}

/** Parts gathered into strings of at least `size`: few writes, no whole text held. */
export function* batches(parts: Iterable<string>, size = 1 << 16): Generator<string> {
  let pending: string[] = [];
  let length = 0;
  for (const part of parts) {
    pending.push(part);
    length += part.length;
    if (length >= size) {
      yield pending.join('');
      pending = [];
      length = 0;
    }
  }
  if (length > 0) yield pending.join('');
}
