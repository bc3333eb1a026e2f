/**
 * One apply at a time per control plane from this machine. The lock is a file created
 * atomically: its content is written to a private temp file first and then hard-linked to
 * the lock path, which fails with EEXIST like O_EXCL but never exposes a half-written lock.
 * A lock whose holder is a process of this host that no longer runs is taken over.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';

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

const MAX_ATTEMPTS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Paths this process is acquiring or holds: a second attempt from the same process is refused at once. */
const inProcess = new Map<string, LockHolder>();
/** Contents of the locks this process holds: a lock naming our pid with other content is a previous incarnation's. */
const ownContents = new Set<string>();

export async function acquireApplyLock(lockPath: string): Promise<ApplyLock> {
  const path = resolve(lockPath);
  const mine = inProcess.get(path);
  if (mine) throw new LockHeldError(path, mine);
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

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (await tryCreate(path, content)) {
        ownContents.add(content);
        return heldLock(path, holder, content);
      }
      const existing = await readHolder(path);
      if (existing === 'missing') continue; // released between our attempt and the read
      if (existing === null || !(await isStale(existing.holder, existing.raw))) {
        throw new LockHeldError(path, existing?.holder ?? null);
      }
      if (!(await takeOverStale(path, existing.raw, content))) await sleep(10 + Math.random() * 40);
    }
    const last = await readHolder(path);
    throw new LockHeldError(path, last === 'missing' || last === null ? null : last.holder);
  } catch (err) {
    inProcess.delete(path);
    throw err;
  }
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
 * only if the lock still has the content judged stale. Without that, one process could
 * delete the fresh lock another had just taken. Returns false when another process is
 * taking over right now (the caller retries).
 */
async function takeOverStale(path: string, staleRaw: string, content: string): Promise<boolean> {
  const mutex = `${path}.takeover`;
  if (!(await tryCreate(mutex, content))) {
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

function heldLock(path: string, holder: LockHolder, content: string): ApplyLock {
  let released = false;
  return {
    path,
    holder,
    async release() {
      if (released) return;
      released = true;
      inProcess.delete(path);
      ownContents.delete(content);
      // Never remove a lock that is no longer ours (taken over after we were judged dead).
      const now = await readFile(path, 'utf8').catch(() => null);
      if (now === content) await unlink(path).catch(() => {});
    },
  };
}
