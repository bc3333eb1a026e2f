import { once } from 'node:events';
import { open } from 'node:fs/promises';

/** Parts are gathered up to this many characters per write: few writes, no whole text held. */
const BATCH_CHARS = 1 << 16;

/**
 * Writes the parts of a rendered plan (renderTextParts, renderJsonParts) to a stream in
 * batches, waiting for 'drain' when the stream asks for it, so a plan of 100,000 changes goes
 * out without its whole text in memory.
 */
export async function writeParts(
  stream: NodeJS.WritableStream,
  parts: Iterable<string>,
): Promise<void> {
  for (const batch of batches(parts)) {
    if (stream.write(batch)) continue;
    // A reader that went away (EPIPE, main.ts) ends the output, not the command.
    const drained = await once(stream, 'drain').then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') return false;
        throw err;
      },
    );
    if (!drained) return;
  }
}

/** The parts written to a file (created or truncated), batch by batch. */
export async function writePartsToFile(path: string, parts: Iterable<string>): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (const batch of batches(parts)) await file.write(batch);
  } finally {
    await file.close();
  }
}

function* batches(parts: Iterable<string>): Generator<string> {
  let pending: string[] = [];
  let size = 0;
  for (const part of parts) {
    pending.push(part);
    size += part.length;
    if (size >= BATCH_CHARS) {
      yield pending.join('');
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield pending.join('');
}
