/**
 * The one way poolsync reads a file of a repository or checkout (docs/security.md, "What is
 * read"): poolsync.yaml, manifests, render targets. A committed file is hostile input:
 *
 * - only a regular file is opened: `lstat` first, so a symbolic link (to /run/secrets, to
 *   /dev/zero), a FIFO (an open that blocks forever), a socket or a device (an open with side
 *   effects) is refused before any `open`; the open itself refuses links (O_NOFOLLOW) and never
 *   blocks (O_NONBLOCK), and `fstat` on the open file must be the same regular file, so a swap
 *   between the two calls is refused too;
 * - every folder between the root and the file is a real folder (not a link), so nothing
 *   outside the root is reached through a parent either;
 * - the byte bound is on the read itself: at most `maxBytes + 1` bytes are ever read,
 *   whatever `stat` says (a size of 0 is not "small": /proc files and devices report 0);
 * - a regular file with several names (a hard link) is refused: it could be an outside file.
 *
 * Failures carry a reason, never the content of anything: callers turn them into their own
 * errors (`file:1:1` for the loader).
 */
import { constants, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type EntryKind = 'symbolic link' | 'folder' | 'FIFO' | 'socket' | 'device';

export type RepoFileFailure =
  | { reason: 'missing' }
  /** The entry itself is not a regular file. */
  | { reason: 'not-regular'; kind: EntryKind }
  /** The path leaves the root: `..`, absolute, or a folder on the way that is a link or a file. */
  | { reason: 'outside'; detail: string }
  /** Another file was renamed into its place between `lstat` and `open` (a writer replaced it). */
  | { reason: 'replaced' }
  /** A regular file with more than one name: a hard link could be a file from outside the root. */
  | { reason: 'hard-link'; links: number }
  /** More than `limit` bytes; `size` when `stat` already said so (nothing was read then). */
  | { reason: 'too-large'; limit: number; size: number | null }
  | { reason: 'io'; code: string };

export type RepoFileRead = { ok: true; bytes: Buffer } | ({ ok: false } & RepoFileFailure);

export interface RepoFileOptions {
  /** The bound on the bytes read. */
  maxBytes: number;
  /**
   * Check that every folder between root and file is a real folder. The manifest walk turns
   * it off: it only descends into folders it saw as real folders.
   */
  checkParents?: boolean;
  /** Read only the first `prefix` bytes (what a file starts with); a longer file is no failure. */
  prefix?: number;
  /** Read a file with several names too (lock files are, for a moment, util/lock-file.ts). */
  allowHardLink?: boolean;
}

export function entryKind(st: Stats): EntryKind | null {
  if (st.isFile()) return null;
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isDirectory()) return 'folder';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  return 'device';
}

/**
 * `rel`'s parts when it is a plain relative path (forward slashes, no `.`, `..` or empty
 * part), else null.
 */
export function relativeParts(rel: string): string[] | null {
  if (rel === '' || rel.startsWith('/') || rel.includes('\0')) return null;
  const parts = rel.split('/');
  return parts.every((p) => p !== '' && p !== '.' && p !== '..') ? parts : null;
}

/**
 * Every folder between `root` and `rel`'s last part is a real folder: null, or why not
 * (`missing` when one does not exist).
 */
export async function checkParentFolders(
  root: string,
  rel: string,
): Promise<RepoFileFailure | null> {
  const parts = relativeParts(rel);
  if (parts === null) return { reason: 'outside', detail: 'not a relative path inside the folder' };
  let at = root;
  for (let i = 0; i < parts.length - 1; i++) {
    at = join(at, parts[i]!);
    let st: Stats;
    try {
      st = await lstat(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      return code === 'ENOENT' || code === 'ENOTDIR'
        ? { reason: 'missing' }
        : { reason: 'io', code };
    }
    if (!st.isDirectory()) {
      const kind = entryKind(st) ?? 'file';
      return {
        reason: 'outside',
        detail: `${parts.slice(0, i + 1).join('/')} is a ${kind}, not a folder`,
      };
    }
  }
  return null;
}

// libuv adds O_CLOEXEC itself.
export const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export async function readRepoFile(
  root: string,
  rel: string,
  options: RepoFileOptions,
): Promise<RepoFileRead> {
  const { maxBytes } = options;
  const fail = (f: RepoFileFailure): RepoFileRead => ({ ok: false, ...f });
  if (options.checkParents !== false) {
    const parents = await checkParentFolders(root, rel);
    if (parents) return fail(parents);
  } else if (relativeParts(rel) === null) {
    return fail({ reason: 'outside', detail: 'not a relative path inside the folder' });
  }
  const path = join(root, rel);
  let before: Stats;
  try {
    before = await lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return fail(
      code === 'ENOENT' || code === 'ENOTDIR' ? { reason: 'missing' } : { reason: 'io', code },
    );
  }
  const refused = refusedBeforeOpen(before, options);
  if (refused) return fail(refused);
  let fh;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'ELOOP') return fail({ reason: 'not-regular', kind: 'symbolic link' });
    return fail(code === 'ENOENT' ? { reason: 'missing' } : { reason: 'io', code });
  }
  try {
    const st = await fh.stat();
    const swapped = refusedOpened(st, before);
    if (swapped) return fail(swapped);
    if (options.prefix !== undefined) {
      const buf = Buffer.alloc(options.prefix);
      const { bytesRead } = await fh.read(buf, 0, options.prefix, 0);
      return { ok: true, bytes: buf.subarray(0, bytesRead) };
    }
    return await readBounded(fh, Math.min(st.size, maxBytes), maxBytes);
  } catch (err) {
    return fail({ reason: 'io', code: (err as NodeJS.ErrnoException).code ?? 'EIO' });
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** What `lstat` already refuses: anything but a regular file of one name, or one too large. */
export function refusedBeforeOpen(before: Stats, options: RepoFileOptions): RepoFileFailure | null {
  const kind = entryKind(before);
  if (kind !== null) return { reason: 'not-regular', kind };
  if (before.nlink > 1 && options.allowHardLink !== true)
    return { reason: 'hard-link', links: before.nlink };
  // A file already known to be too large is not read at all.
  if (options.prefix === undefined && before.size > options.maxBytes)
    return { reason: 'too-large', limit: options.maxBytes, size: before.size };
  return null;
}

/** The opened file (`fstat`) is not the regular file `lstat` saw: replaced in between. */
export function refusedOpened(st: Stats, before: Stats): RepoFileFailure | null {
  if (!st.isFile()) return { reason: 'not-regular', kind: entryKind(st)! };
  // O_NOFOLLOW opened a regular file, but not the one lstat saw: replaced in between.
  if (st.ino !== before.ino || st.dev !== before.dev) return { reason: 'replaced' };
  return null;
}

/** Reads to the end, but never more than `maxBytes + 1` bytes, whatever the size said. */
export async function readBounded(
  fh: Awaited<ReturnType<typeof open>>,
  expected: number,
  maxBytes: number,
): Promise<RepoFileRead> {
  // One byte more than expected, so a file read whole ends with a read of 0 bytes, not a regrow.
  let buf = Buffer.allocUnsafe(Math.min(expected + 1, maxBytes + 1));
  let total = 0;
  for (;;) {
    if (total === buf.length) {
      const bigger = grown(buf, total, maxBytes);
      if (!bigger) return tooLarge(maxBytes);
      buf = bigger;
    }
    const { bytesRead } = await fh.read(buf, total, buf.length - total, null);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return total > maxBytes ? tooLarge(maxBytes) : { ok: true, bytes: buf.subarray(0, total) };
}

/**
 * A full read buffer of `total` bytes, doubled (at least 4 KiB) up to `maxBytes + 1`, with its
 * bytes copied; null when it already holds more than `maxBytes` (readBounded, readBoundedSync).
 */
export function grown(
  buf: Buffer<ArrayBuffer>,
  total: number,
  maxBytes: number,
): Buffer<ArrayBuffer> | null {
  if (total > maxBytes) return null;
  const bigger = Buffer.allocUnsafe(Math.min(Math.max(buf.length * 2, 4096), maxBytes + 1));
  buf.copy(bigger, 0, 0, total);
  return bigger;
}

export function tooLarge(maxBytes: number): RepoFileRead {
  return { ok: false, reason: 'too-large', limit: maxBytes, size: null };
}

/**
 * Writes `rel` under `root` without ever writing outside it: every folder on the way is a real
 * folder (missing ones are created), an existing entry must be a regular file, and the content
 * goes to a new file renamed over the old one (replaceFile), so a link put there meanwhile is
 * replaced, never followed. Throws an Error that names `rel` and the reason.
 */
export async function writeRepoFile(root: string, rel: string, content: string): Promise<void> {
  const parts = relativeParts(rel);
  if (parts === null) throw new Error(`${rel} is not a relative path inside the folder`);
  let at = root;
  // One part at a time, checked before going down: a folder is never created through a link.
  for (const [i, part] of parts.slice(0, -1).entries()) {
    at = join(at, part);
    const st = await lstat(at).catch(() => null);
    if (st === null) await mkdir(at);
    else if (!st.isDirectory())
      throw new Error(
        `cannot write ${rel}: ${parts.slice(0, i + 1).join('/')} is a ${entryKind(st) ?? 'file'}, not a folder`,
      );
  }
  const path = join(root, rel);
  const existing = await lstat(path).catch(() => null);
  const kind = existing ? entryKind(existing) : null;
  if (kind !== null) throw new Error(`cannot write ${rel}: it is a ${kind}, not a regular file`);
  await replaceFile(path, (fh) => fh.writeFile(content), { mode: 0o666 }); // as writeFile: the umask decides
}

/** The name a new file is written under before it takes its place: beside it, unguessable. */
export function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(9).toString('hex')}.tmp`);
}

const CREATE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** A new file, created exclusively (an existing entry, a link included, fails the open). */
export function createExclusive(path: string, mode = 0o600): Promise<FileHandle> {
  return open(path, CREATE_FLAGS, mode);
}

export interface PlaceOptions {
  /** Mode of the new file (default 0600; the umask applies). */
  mode?: number;
  /** fsync the file before it takes its place, and its folder after. */
  durable?: boolean;
}

/**
 * The one way poolsync puts a whole file in place (manifest-side files, its own state, cache
 * entries, locks): `write` fills a new file created exclusively under an unguessable name
 * beside `path` (`O_CREAT | O_EXCL | O_NOFOLLOW`: neither a planted link nor a guessed name
 * receives anything), which is then renamed over `path` (a link there is replaced, never
 * followed). The temporary name never outlives the call. Callers check the folders first.
 */
export async function replaceFile(
  path: string,
  write: (fh: FileHandle) => Promise<unknown>,
  options: PlaceOptions = {},
): Promise<void> {
  await placeFile(path, write, options, (tmp) => rename(tmp, path));
}

/**
 * As replaceFile, but only when `path` does not exist yet (the new file is hard-linked into
 * place, which fails with EEXIST like O_EXCL but never shows a half-written file): false when
 * something was there already.
 */
export async function createFileOnce(
  path: string,
  write: (fh: FileHandle) => Promise<unknown>,
  options: PlaceOptions = {},
): Promise<boolean> {
  let created = true;
  await placeFile(path, write, options, async (tmp) => {
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      created = false;
    }
    await unlink(tmp);
  });
  return created;
}

async function placeFile(
  path: string,
  write: (fh: FileHandle) => Promise<unknown>,
  options: PlaceOptions,
  put: (tmp: string) => Promise<void>,
): Promise<void> {
  const tmp = temporaryName(path);
  const fh = await createExclusive(tmp, options.mode ?? 0o600);
  try {
    try {
      await write(fh);
      if (options.durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await put(tmp);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (options.durable) await syncFolder(dirname(path));
}

/** A rename is durable only once its folder is synced. */
export async function syncFolder(folder: string): Promise<void> {
  const dir = await open(folder, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** One line about a failure, for messages that are not validation errors. */
export function describeFailure(f: RepoFileFailure): string {
  switch (f.reason) {
    case 'missing':
      return 'it does not exist';
    case 'io':
      return f.code;
    case 'not-regular':
      return `it is a ${f.kind}, not a regular file`;
    case 'outside':
      return f.detail;
    case 'too-large':
      return `it is larger than ${f.limit} bytes`;
    case 'replaced':
      return 'it was replaced while it was read; try again';
    case 'hard-link':
      return `it is a hard link (a file with ${f.links} names), which could be a file from outside the folder`;
  }
}
