/**
 * Temporary folders that remove themselves: each is registered here and removed after its test
 * file by test/setup/remove-temp-folders.ts (a vitest setup file, so every test file gets the
 * hook). No vitest import: helpers that child processes load (outside vitest) use it too, where
 * registering does nothing harmful.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

/** A new folder under the temp folder (the run's, test/setup/run-temp-folder.ts), removed after the file. */
export function tempFolder(prefix: string): string {
  return registerTempFolder(mkdtempSync(join(tmpdir(), prefix)));
}

/** `path` is removed after the test file (for folders made with mkdtemp elsewhere). */
export function registerTempFolder(path: string): string {
  made.add(path);
  return path;
}

/** Removes every registered folder (test/setup/remove-temp-folders.ts, after each file). */
export function removeTempFolders(): void {
  for (const path of made) rmSync(path, { recursive: true, force: true, maxRetries: 3 });
  made.clear();
}
