/**
 * Lines to a stream, written in batches: one write per turn of the event loop instead of one
 * per line. Pipes and files take each write synchronously, so an apply of 10,000 steps made
 * about 29,000 write calls; a person at a terminal still sees each line as it happens.
 */
export interface BatchedLines {
  line(text: string): void;
  /** Writes what is buffered now (before writing to the stream directly, and at the end). */
  flush(): void;
}

export function batchedLines(stream: NodeJS.WritableStream): BatchedLines {
  let buffer: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (buffer.length === 0) return;
    const text = buffer.join('');
    buffer = [];
    stream.write(text);
  };
  return {
    line(text) {
      buffer.push(`${text}\n`);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
