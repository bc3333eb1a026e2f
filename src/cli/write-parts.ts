import { once, type EventEmitter } from 'node:events';
import { open } from 'node:fs/promises';
import { batches } from '../util/batched-lines.js';
import type { Output } from './io.js';

/**
 * Writes the parts of a rendered plan (renderTextParts, renderJsonParts) to a stream in
 * batches, waiting for 'drain' when the stream asks for it, so a plan of 100,000 changes goes
 * out without its whole text in memory.
 */
export async function writeParts(out: Output, parts: Iterable<string>): Promise<void> {
  for (const batch of batches(parts)) {
    if (out.write(batch)) continue;
    // A reader that went away (EPIPE, main.ts) ends the output, not the command.
    const drained = await once(out as unknown as EventEmitter, 'drain').then(
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
