/**
 * Exclusive lock files (one holder per path across processes on this host), used by the
 * apply lock and by the embedded control plane's single-writer lock.
 *
 * The lock is created atomically: its content is written to a private temp file first and
 * then hard-linked to the lock path, which fails with EEXIST like O_EXCL but never exposes a
 * half-written lock. A lock whose holder is a process of this host that no longer runs is
 * taken over, serialised so that of several processes doing so at once only one wins.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO 8601. */
  since: string;
  /** Linux: the kernel's boot id, so a lock from before a reboot is known to be dead. */
  boot_id?: string;
  /** Linux: the holder's start time (clock ticks since boot), so a reused pid is not taken for the holder. */
  start_ticks?: string;
}

export interface HeldLockFile {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock, unless it is no longer ours (taken over after we were judged dead). */
  release(): Promise<void>;
}

/** Why a lock could not be taken; the caller turns it into its own message. */
export type LockRefusal =
  /** This process already holds (or is acquiring) the lock. */
  | { kind: 'this-process'; path: string; holder: LockHolder }
  /** A live process, or one on another host that cannot be checked, holds it. */
  | { kind: 'held'; path: string; holder: LockHolder }
  /** The lock file exists but its content is not a holder record. */
  | { kind: 'unreadable'; path: string };

export interface LockFileOptions {
  /** Builds the error thrown when the lock cannot be taken. */
  refuse(refusal: LockRefusal): Error;
  /** File mode of the lock (default 0o644). */
  mode?: number;
  /**
   * Take over a lock whose content is unreadable once its file is this old (default: never,
   * an unreadable lock is refused). Younger ones are waited for.
   */
  unreadableStaleAfterMs?: number;
}

const MAX_ATTEMPTS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Paths this process is acquiring or holds: a second attempt from the same process is refused at once. */
const inProcess = new Map<string, LockHolder>();
/** Contents of the locks this process holds: a lock naming our pid with other content is a previous incarnation's. */
const ownContents = new Set<string>();

export async function acquireLockFile(
  lockPath: string,
  opts: LockFileOptions,
): Promise<HeldLockFile> {
  const path = resolve(lockPath);
  const mine = inProcess.get(path);
  if (mine) throw opts.refuse({ kind: 'this-process', path, holder: mine });
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
  };
  inProcess.set(path, holder);
  try {
    await mkdir(dirname(path), { recursive: true });
    const boot = await bootId();
    const ticks = await startTicks(process.pid);
    if (boot !== null) holder.boot_id = boot;
    if (ticks !== null) holder.start_ticks = ticks;
    const content = `${JSON.stringify(holder)}\n`;
    const mode = opts.mode ?? 0o644;

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (await tryCreate(path, content, mode)) {
        ownContents.add(content);
        return heldLock(path, holder, content);
      }
      const existing = await readHolder(path);
      if (existing === 'missing') continue; // released between our attempt and the read
      if (existing === null) {
        const staleAfter = opts.unreadableStaleAfterMs;
        if (staleAfter === undefined) throw opts.refuse({ kind: 'unreadable', path });
        const age = await stat(path).then(
          (st) => Date.now() - st.mtimeMs,
          () => 0,
        );
        if (age <= staleAfter) {
          await sleep(Math.min(staleAfter - age + 10, 250));
          continue;
        }
        if (!(await takeOverStale(path, null, content, mode))) await sleep(10 + Math.random() * 40);
        continue;
      }
      if (!(await isStale(existing.holder, existing.raw))) {
        throw opts.refuse({ kind: 'held', path, holder: existing.holder });
      }
      if (!(await takeOverStale(path, existing.raw, content, mode)))
        await sleep(10 + Math.random() * 40);
    }
    const last = await readHolder(path);
    throw opts.refuse(
      last === 'missing' || last === null
        ? { kind: 'unreadable', path }
        : { kind: 'held', path, holder: last.holder },
    );
  } catch (err) {
    inProcess.delete(path);
    throw err;
  }
}

async function tryCreate(path: string, content: string, mode: number): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, content, { mode });
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
      const holder: LockHolder = { pid: v.pid, host: v.host, since: v.since };
      if (typeof v.boot_id === 'string') holder.boot_id = v.boot_id;
      if (typeof v.start_ticks === 'string') holder.start_ticks = v.start_ticks;
      return holder;
    }
  } catch {
    // fall through: unreadable
  }
  return null;
}

/**
 * Only a holder on this host can be checked. It is dead when the machine rebooted since,
 * when its pid is ours but this process does not hold the lock (a restarted container's
 * pid 1), when no process has its pid, or when the process with its pid started at
 * another time (the pid was reused).
 */
async function isStale(holder: LockHolder, raw: string): Promise<boolean> {
  if (holder.host !== hostname()) return false;
  const boot = await bootId();
  if (holder.boot_id !== undefined && boot !== null && holder.boot_id !== boot) return true;
  if (holder.pid === process.pid) return !ownContents.has(raw);
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  if (holder.start_ticks === undefined) return false;
  const now = await startTicks(holder.pid);
  return now !== null && now !== holder.start_ticks;
}

let bootIdCache: Promise<string | null> | null = null;
function bootId(): Promise<string | null> {
  bootIdCache ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (t) => t.trim() || null,
    () => null,
  );
  return bootIdCache;
}

/** Field 22 of /proc/PID/stat (after the parenthesised command name, which may hold spaces). */
async function startTicks(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Removes a lock judged stale, safely against other processes doing the same: removal
 * happens only under a second lock (`<path>.takeover`, created the same atomic way), and
 * only if the lock still has the content judged stale (null: still unreadable). Without
 * that, one process could delete the fresh lock another had just taken. Returns false when
 * another process is taking over right now (the caller retries).
 */
async function takeOverStale(
  path: string,
  staleRaw: string | null,
  content: string,
  mode: number,
): Promise<boolean> {
  const mutex = `${path}.takeover`;
  if (!(await tryCreate(mutex, content, mode))) {
    const holder = await readHolder(mutex);
    if (holder === 'missing') return false;
    // A taker that died mid-takeover would block every later one: its mutex is stale too.
    if (holder === null || (await isStale(holder.holder, holder.raw))) {
      await removeIfUnchanged(mutex, holder?.raw ?? null);
    }
    return false;
  }
  try {
    await removeIfUnchanged(path, staleRaw);
    return true;
  } finally {
    await removeIfUnchanged(mutex, content);
  }
}

/** Deletes `path` if its content is `expected` (null: whatever unreadable content it has). */
async function removeIfUnchanged(path: string, expected: string | null): Promise<void> {
  const now = await readFile(path, 'utf8').catch(() => undefined);
  if (now === undefined) return;
  if (expected === null ? parseHolder(now) === null : now === expected)
    await unlink(path).catch(() => {});
}

function heldLock(path: string, holder: LockHolder, content: string): HeldLockFile {
  let released = false;
  return {
    path,
    holder,
    async release() {
      if (released) return;
      released = true;
      inProcess.delete(path);
      ownContents.delete(content);
      const now = await readFile(path, 'utf8').catch(() => null);
      if (now === content) await unlink(path).catch(() => {});
    },
  };
}
