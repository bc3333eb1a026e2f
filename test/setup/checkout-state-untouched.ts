/**
 * A vitest globalSetup: at the end of the run, nothing in the checkout's own `.poolsync/` (the
 * CLI's default state folder, where `npm start` keeps the user's state) nor in the user's state
 * folder (`~/.local/state/poolsync`, where the CLI keeps Union's and flyteadmin's inventories)
 * was written since the run's start: no file, no folder made or emptied. A test that runs the
 * CLI keeps its state in its own temp folder (`--state-dir`, or runCli/startCli's working folder,
 * test/support/cli.ts; the run's XDG_STATE_HOME, test/setup/cache-folder.ts); one that wrote
 * into the user's folders is named here and fails the run. It runs before cache-folder.ts
 * points XDG_STATE_HOME elsewhere, so it watches the user's own.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { userStateDir } from '../../src/util/user-cache.js';
import { REPO_ROOT } from '../support/cli.js';

const STATE = join(REPO_ROOT, '.poolsync');

/** `folder` and everything under it, with the time each was last written (a folder: its entries). */
function entriesUnder(folder: string): { path: string; mtimeMs: number }[] {
  try {
    const here = { path: folder, mtimeMs: statSync(folder).mtimeMs };
    const entries = readdirSync(folder, { withFileTypes: true });
    return [
      here,
      ...entries.flatMap((e) =>
        e.isDirectory()
          ? entriesUnder(join(folder, e.name))
          : [{ path: join(folder, e.name), mtimeMs: statSync(join(folder, e.name)).mtimeMs }],
      ),
    ];
  } catch {
    return []; // none, or gone while read
  }
}

export default function setup(): () => void {
  const start = Date.now();
  const user = userStateDir('', process.env);
  return () => {
    const written = [STATE, ...(user ? [user] : [])]
      .flatMap((folder) => entriesUnder(folder))
      .filter((f) => f.mtimeMs >= start);
    if (written.length === 0) return;
    const names = written.map((f) =>
      f.path.startsWith(REPO_ROOT) ? relative(REPO_ROOT, f.path) : f.path,
    );
    // Vitest reports an error thrown here but still exits 0: the exit code is set instead.
    process.exitCode = 1;
    process.stderr.write(
      `\nFAIL tests wrote into the checkout's or the user's state folder (give each CLI run its temp folder as cwd or --state-dir, and the run's XDG_STATE_HOME): ${names.join(', ')}\n`,
    );
  };
}
