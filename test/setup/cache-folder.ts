/**
 * The CLI keeps its manifest cache in the user's cache folder (src/incremental/load-cached.ts,
 * manifestCacheDir): tests that run the CLI get a temporary one instead, removed at the end,
 * so a test run writes nothing into the home folder. Tests that check the default location set
 * XDG_CACHE_HOME themselves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const folder = mkdtempSync(join(tmpdir(), 'poolsync-test-cache-'));
  process.env.POOLSYNC_CACHE_DIR ??= folder;
  return () => rmSync(folder, { recursive: true, force: true });
}
