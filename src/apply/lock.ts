/**
 * One apply at a time per control plane from this machine: an exclusive lock file (see
 * util/lock-file.ts for how it is taken atomically and how a dead holder's lock is taken over).
 */
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { embeddedStatePath } from '../controlplane/open.js';
import { acquireLockFile, type HeldLockFile, type LockHolder } from '../util/lock-file.js';
import { refuseTrackedFiles } from '../util/tracked.js';

export type { LockHolder } from '../util/lock-file.js';

export type ApplyLock = HeldLockFile;

/** Another apply holds the lock; the message names it. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
  constructor(
    readonly path: string,
    readonly holder: LockHolder | null,
  ) {
    super(
      holder
        ? `another apply is running against this control plane: pid ${holder.pid} on ${holder.host} since ${holder.since} ` +
            `(lock ${path}). Wait for it to finish; if that process is gone, delete the lock file`
        : `the apply lock ${path} exists but cannot be read; if no apply is running, delete it`,
    );
  }
}

export const DEFAULT_STATE_DIR = '.poolsync';

/**
 * `file:PATH` → `<PATH>.apply.lock` beside the embedded state; any other URL →
 * `<stateDir>/locks/<sha256 of the URL>.lock` (the URL is hashed: it may be long or odd).
 */
export function lockPathFor(url: string, stateDir: string = DEFAULT_STATE_DIR): string {
  if (url.startsWith('file:')) return `${embeddedStatePath(url)}.apply.lock`;
  const normalized = url.trim().replace(/\/+$/, '');
  const digest = createHash('sha256').update(normalized).digest('hex');
  return join(resolve(stateDir), 'locks', `${digest}.lock`);
}

/**
 * The folder poolsync owns a file of its state in (safe-file.ts checks every folder below it):
 * the state dir for `<stateDir>/<sub>/<file>` (locks, last-applied records), else the file's
 * own folder (beside an embedded state).
 */
export function stateRootOf(path: string, sub: string): string {
  const folder = dirname(resolve(path));
  return basename(folder) === sub ? dirname(folder) : folder;
}

export async function acquireApplyLock(lockPath: string): Promise<ApplyLock> {
  const root = stateRootOf(lockPath, 'locks');
  await refuseTrackedFiles(root, [resolve(lockPath)], 'apply lock');
  return acquireLockFile(lockPath, {
    root,
    refuse: (r) => new LockHeldError(r.path, r.kind === 'unreadable' ? null : r.holder),
  });
}
