/**
 * Exclusive lock files (one holder per path across this host's processes), for the apply lock
 * and the embedded control plane's single writer. The lock is written to a private temporary
 * file and hard-linked into place (EEXIST like O_EXCL, never a half-written lock), in a folder
 * poolsync owns, through safe-file.ts. A lock whose holder is a process of this host that no
 * longer runs is taken over, serialised so that of several takers only one wins.
 */
import { lstat, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { UnsafeFileError, createFileOnce, ioWords, ownFolders, readOwnFile } from './safe-file.js';

export interface LockHolder {
  pid: number;
  host: string;
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
  | { kind: 'this-process'; path: string; holder: LockHolder }
  /** A live process, or one on another host that cannot be checked, holds it. */
  | { kind: 'held'; path: string; holder: LockHolder }
  | { kind: 'unreadable'; path: string };

export interface LockFileOptions {
  refuse(refusal: LockRefusal): Error;
  /** Default 0o644. */
  mode?: number;
  /** Take over an unreadable lock once this old, wait for a younger one (default: refuse it). */
  unreadableStaleAfterMs?: number;
  /** The folder poolsync owns the lock in (default: the lock's folder); folders below it are checked. */
  root?: string;
}

/** A holder record is a line of JSON; anything longer is not one. */
const MAX_LOCK_BYTES = 4096;

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
  const root = resolve(opts.root ?? dirname(path));
  const mine = inProcess.get(path);
  if (mine) throw opts.refuse({ kind: 'this-process', path, holder: mine });
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
  };
  inProcess.set(path, holder);
  try {
    await ownFolders(root, path, true);
    const boot = await bootId();
    const ticks = (await procStat(process.pid))?.startTicks ?? null;
    if (boot !== null) holder.boot_id = boot;
    if (ticks !== null) holder.start_ticks = ticks;
    const t: Taking = { root, path, holder, content: `${JSON.stringify(holder)}\n`, opts };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const held = await attemptLock(t);
      if (held) return held;
    }
    const last = await readHolder(root, path);
    throw opts.refuse(
      last === 'missing' || last === null
        ? { kind: 'unreadable', path }
        : { kind: 'held', path, holder: last.holder },
    );
  } catch (err) {
    inProcess.delete(path);
    const code = (err as NodeJS.ErrnoException).code;
    // EACCES, EROFS…: one line that says what to do, not a stack trace.
    if (code !== undefined && !(err instanceof UnsafeFileError))
      throw new UnsafeFileError(`cannot take the lock ${path}: ${ioWords(code)}`);
    throw err;
  }
}

interface Taking {
  root: string;
  path: string;
  holder: LockHolder;
  content: string;
  opts: LockFileOptions;
}

/**
 * One attempt: the lock when created; null to try again (released meanwhile, a stale one taken
 * over or lost to another taker, an unreadable one still young); throws when a live holder has it.
 */
async function attemptLock(t: Taking): Promise<HeldLockFile | null> {
  const { root, path, opts } = t;
  if (await tryCreate(path, t)) {
    ownContents.add(t.content);
    return heldLock(t);
  }
  const existing = await readHolder(root, path);
  if (existing === 'missing') return null; // released between our attempt and the read
  if (existing === null) {
    const staleAfter = opts.unreadableStaleAfterMs;
    if (staleAfter === undefined) throw opts.refuse({ kind: 'unreadable', path });
    const age = await lstat(path)
      .then((st) => Date.now() - st.mtimeMs)
      .catch(() => 0);
    if (age <= staleAfter) await sleep(Math.min(staleAfter - age + 10, 250));
    else if (!(await takeOverStale(t, null))) await sleep(10 + Math.random() * 40);
    return null;
  }
  if (!(await isStale(existing.holder, existing.raw)))
    throw opts.refuse({ kind: 'held', path, holder: existing.holder });
  if (!(await takeOverStale(t, existing.raw))) await sleep(10 + Math.random() * 40);
  return null;
}

function tryCreate(path: string, t: Taking): Promise<boolean> {
  return createFileOnce(path, (fh) => fh.writeFile(t.content), { mode: t.opts.mode ?? 0o644 });
}

async function readLock(root: string, path: string): Promise<string | null> {
  const bytes = await readOwnFile(root, path, {
    maxBytes: MAX_LOCK_BYTES,
    what: 'lock',
    allowHardLink: true, // tryCreate links it into place, then removes its temporary name
  });
  return bytes === null ? null : bytes.toString('utf8');
}

async function readHolder(
  root: string,
  path: string,
): Promise<{ holder: LockHolder; raw: string } | null | 'missing'> {
  const raw = await readLock(root, path);
  if (raw === null) return 'missing';
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
 * Only a holder on this host can be checked: dead when the machine rebooted since, when its pid
 * is ours but we do not hold the lock (a restarted container's pid 1), or when no process or
 * one started at another time (a reused pid) has its pid.
 */
async function isStale(holder: LockHolder, raw: string): Promise<boolean> {
  if (holder.host !== hostname()) return false;
  const boot = await bootId();
  if (holder.boot_id !== undefined && boot !== null && holder.boot_id !== boot) return true;
  if (holder.pid === process.pid) return !ownContents.has(raw);
  if (await exited(holder.pid)) return true;
  if (holder.start_ticks === undefined) return false;
  const now = await procStat(holder.pid);
  return now !== null && now.startTicks !== holder.start_ticks;
}

/**
 * No process of this host runs `pid`: none has it, or it is a zombie (it has exited; only its
 * parent has not reaped it yet, as a container whose pid 1 reaps no orphans leaves a killed apply).
 */
export async function exited(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  const now = await procStat(pid);
  return now?.state === 'Z' || now?.state === 'X';
}

let bootIdCache: Promise<string | null> | null = null;
function bootId(): Promise<string | null> {
  bootIdCache ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8')
    .then((t) => t.trim() || null)
    .catch(() => null);
  return bootIdCache;
}

/**
 * Fields 3 and 22 of /proc/PID/stat (after the parenthesised command name, which may hold
 * spaces): the process's state (`Z`: a zombie) and its start time.
 */
async function procStat(pid: number): Promise<{ state: string; startTicks: string } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] === undefined ? null : { state: fields[0]!, startTicks: fields[19] };
  } catch {
    return null;
  }
}

/**
 * Removes a lock judged stale under a second lock (`<path>.takeover`), only if it still has the
 * content judged stale (null: unreadable), so one process never deletes the fresh lock another
 * just took. False: another process is taking over right now (the caller retries).
 */
async function takeOverStale(t: Taking, staleRaw: string | null): Promise<boolean> {
  const mutex = `${t.path}.takeover`;
  if (!(await tryCreate(mutex, t))) {
    const holder = await readHolder(t.root, mutex);
    if (holder === 'missing') return false;
    // A taker that died mid-takeover would block every later one: its mutex is stale too.
    if (holder === null || (await isStale(holder.holder, holder.raw))) {
      await removeIfUnchanged(t.root, mutex, holder?.raw ?? null);
    }
    return false;
  }
  try {
    await removeIfUnchanged(t.root, t.path, staleRaw);
    return true;
  } finally {
    await removeIfUnchanged(t.root, mutex, t.content);
  }
}

/** Deletes `path` if its content is `expected` (null: whatever unreadable content it has). */
async function removeIfUnchanged(root: string, path: string, expected: string | null) {
  const now = await readLock(root, path).catch(() => null);
  if (now === null) return;
  if (expected === null ? parseHolder(now) === null : now === expected)
    await unlink(path).catch(() => {});
}

function heldLock({ root, path, holder, content }: Taking): HeldLockFile {
  let released = false;
  return {
    path,
    holder,
    async release() {
      if (released) return;
      released = true;
      inProcess.delete(path);
      ownContents.delete(content);
      await removeIfUnchanged(root, path, content);
    },
  };
}
