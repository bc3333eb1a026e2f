/**
 * One apply at a time per control plane from this machine. The lock is a file created
 * atomically: its content is written to a private temp file first and then hard-linked to
 * the lock path, which fails with EEXIST like O_EXCL but never exposes a half-written lock.
 * A lock whose holder is a process of this host that no longer runs is taken over.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO 8601. */
  since: string;
}

export interface ApplyLock {
  readonly path: string;
  readonly holder: LockHolder;
  release(): Promise<void>;
}

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
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    return `${resolve(path)}.apply.lock`;
  }
  const normalized = url.trim().replace(/\/+$/, '');
  const digest = createHash('sha256').update(normalized).digest('hex');
  return join(resolve(stateDir), 'locks', `${digest}.lock`);
}

const MAX_ATTEMPTS = 5;

export async function acquireApplyLock(lockPath: string): Promise<ApplyLock> {
  const path = resolve(lockPath);
  await mkdir(dirname(path), { recursive: true });
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
  };
  const content = `${JSON.stringify(holder)}\n`;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await tryCreate(path, content)) return heldLock(path, holder, content);
    const existing = await readHolder(path);
    if (existing === 'missing') continue; // released between our attempt and the read
    if (existing === null || !isStale(existing.holder))
      throw new LockHeldError(path, existing?.holder ?? null);
    await takeOverStale(path, existing.raw);
  }
  const last = await readHolder(path);
  throw new LockHeldError(path, last === 'missing' || last === null ? null : last.holder);
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, content, { mode: 0o644 });
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

async function readHolder(
  path: string,
): Promise<{ holder: LockHolder; raw: string } | null | 'missing'> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  const holder = parseHolder(raw);
  return holder ? { holder, raw } : null;
}

function parseHolder(raw: string): LockHolder | null {
  try {
    const v = JSON.parse(raw) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.since === 'string') {
      return { pid: v.pid, host: v.host, since: v.since };
    }
  } catch {
    // fall through: unreadable
  }
  return null;
}

/** Only a holder on this host can be checked; a pid that does not exist means it died. */
function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Moves the stale lock aside (rename is atomic: of two processes taking over, one wins) and
 * checks it moved the lock it judged stale; if a live lock was created in between, it is
 * put back with link (which never overwrites).
 */
async function takeOverStale(path: string, staleRaw: string): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await readFile(aside, 'utf8').catch(() => null);
  if (moved !== null && moved !== staleRaw) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
}

function heldLock(path: string, holder: LockHolder, content: string): ApplyLock {
  let released = false;
  return {
    path,
    holder,
    async release() {
      if (released) return;
      released = true;
      // Never remove a lock that is no longer ours (taken over after we were judged dead).
      const now = await readFile(path, 'utf8').catch(() => null);
      if (now === content) await unlink(path).catch(() => {});
    },
  };
}
