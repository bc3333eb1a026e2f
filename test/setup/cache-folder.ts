/**
 * The CLI keeps the inventories of Union and flyteadmin control planes in the user's state
 * folder (src/apply/inventory.ts): tests that run the CLI get a temporary one instead (a folder
 * in it per test file: test/setup/fresh-modules.ts), removed at the end, so a test run writes no
 * inventory into the home folder, nor into a state folder the user's own XDG_STATE_HOME names.
 * Tests that check the default location set XDG_STATE_HOME themselves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const state = mkdtempSync(join(tmpdir(), 'poolsync-test-state-'));
  process.env.XDG_STATE_HOME = state;
  return () => {
    rmSync(state, { recursive: true, force: true });
  };
}
