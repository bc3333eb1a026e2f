/**
 * The CLI keeps its manifest cache in the user's cache folder (src/incremental/plan-memory.ts,
 * manifestCacheDir) and the inventories of Union and flyteadmin control planes in the user's
 * state folder (src/apply/inventory.ts): tests that run the CLI get temporary ones instead,
 * removed at the end, so a test run writes nothing into the home folder. Tests that check the
 * default locations set XDG_CACHE_HOME or XDG_STATE_HOME themselves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const folder = mkdtempSync(join(tmpdir(), 'poolsync-test-cache-'));
  process.env.POOLSYNC_CACHE_DIR ??= folder;
  const state = mkdtempSync(join(tmpdir(), 'poolsync-test-state-'));
  process.env.XDG_STATE_HOME ??= state;
  return () => {
    rmSync(folder, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  };
}
