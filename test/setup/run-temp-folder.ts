/**
 * A vitest globalSetup: the run gets its own temp folder, /tmp/ps-XXXXXX (short: PostgreSQL's
 * Unix-socket path, which lives under it, is limited to ~100 characters), set as TMPDIR for
 * every test process and what they start, and removed at the end with whatever a test left
 * there. It is world-writable and sticky like /tmp: tests start PostgreSQL and poolsync as
 * other users, who make their own folders in it. A run killed from outside (no teardown) still
 * has it removed, once its process is gone.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cancelWatcher, whenThisProcessEnds } from '../support/stops-with-this-process.js';

export default function setup(): () => void {
  const before = process.env.TMPDIR;
  const folder = mkdtempSync(join(tmpdir(), 'ps-'));
  chmodSync(folder, 0o1777);
  process.env.TMPDIR = folder;
  const watcher = whenThisProcessEnds('rm -rf -- "$0"', folder);
  return () => {
    cancelWatcher(watcher);
    rmSync(folder, { recursive: true, force: true, maxRetries: 3 });
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  };
}
