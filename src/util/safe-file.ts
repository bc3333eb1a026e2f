/**
 * The one way poolsync reads and writes files (docs/security.md, "What is read", "Files poolsync
 * keeps"). A repository's files are hostile input, and so are the folders poolsync keeps its own
 * in (the *root*: the state and cache folders), which may sit in a checkout where anyone with
 * push access put links, FIFOs or files of their own. So:
 * - only a regular file of one name is read (a hard link could be an outside file): `lstat`
 *   first, so a link, a FIFO (an open that blocks forever), a socket or a device (an open with
 *   side effects) is refused before any `open`; the open refuses links (O_NOFOLLOW) and never
 *   blocks (O_NONBLOCK), and `fstat` must find the file `lstat` saw (no swap in between);
 * - every folder between the root and the file is a real folder, never a link;
 * - a read is bounded by the bytes read (at most `maxBytes + 1`), never by what `stat` says
 *   (/proc files and devices report 0);
 * - a file is written to an unguessable temporary name created exclusively (O_EXCL, O_NOFOLLOW:
 *   a planted link fails the open) and renamed over it (replaceFile): a link never receives it;
 * - a failure names the path and the reason, never the content: a reason for the loader to
 *   place at `file:1:1`, or an `UnsafeFileError` (a `UserError`: one line, no stack trace).
 */
import { randomBytes } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import {
  access,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rmdir,
  unlink,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserError } from './user-error.js';

export type EntryKind = 'symbolic link' | 'folder' | 'FIFO' | 'socket' | 'device';

export type RepoFileFailure =
  | { reason: 'missing' }
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
  maxBytes: number;
  /** Read only the first `prefix` bytes (what a file starts with); a longer file is no failure. */
  prefix?: number;
  /** Read a file with several names too (lock files are, for a moment, util/lock-file.ts). */
  allowHardLink?: boolean;
}

const kindWords = (st: Stats): string => entryKind(st) ?? 'file';

/** What a directory entry or `lstat` found, when it is not a regular file. */
export function entryKind(st: Stats | Dirent): EntryKind | null {
  if (st.isFile()) return null;
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isDirectory()) return 'folder';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  return 'device';
}

/** Whether PATH is there (a link counts, whatever it points to). */
export const exists = (path: string): Promise<boolean> =>
  lstat(path)
    .then(() => true)
    .catch(() => false);

/** `rel`'s parts when it is a plain relative path (`/`, no `.`, `..` or empty part), else null. */
export function relativeParts(rel: string): string[] | null {
  if (rel === '' || rel.startsWith('/') || rel.includes('\0')) return null;
  const parts = rel.split('/');
  return parts.every((p) => p !== '' && p !== '.' && p !== '..') ? parts : null;
}

const NOT_RELATIVE: RepoFileFailure = Object.freeze({
  reason: 'outside',
  detail: 'not a relative path inside the folder',
});

/** Null when every folder between `root` and `rel`'s last part is a real folder, else why not. */
export function checkParentFolders(root: string, rel: string): Promise<RepoFileFailure | null> {
  const parts = relativeParts(rel);
  return parts === null ? Promise.resolve(NOT_RELATIVE) : parentFolders(root, parts, false);
}

/** Each part checked before going down; `create` makes a missing one (never through a link). */
async function parentFolders(
  root: string,
  parts: string[],
  create: boolean,
  made?: string[],
): Promise<RepoFileFailure | null> {
  let at = root;
  for (let i = 0; i < parts.length - 1; i++) {
    at = join(at, parts[i]!);
    const st = await lstat(at).catch(missingOr);
    if ('reason' in st) {
      if (!create || st.reason !== 'missing') return st;
      await mkdir(at);
      made?.push(at);
    } else if (!st.isDirectory()) {
      const detail = `${parts.slice(0, i + 1).join('/')} is a ${kindWords(st)}, not a folder`;
      return { reason: 'outside', detail };
    }
  }
  return null;
}

// libuv adds O_CLOEXEC itself.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const errCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? 'EIO';

/** A failed lstat or open: missing (or a file where a folder was), else its errno code. */
function missingOr(err: unknown): RepoFileFailure {
  const code = errCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' ? { reason: 'missing' } : { reason: 'io', code };
}

export async function readRepoFile(
  root: string,
  rel: string,
  options: RepoFileOptions,
): Promise<RepoFileRead> {
  const parents = await checkParentFolders(root, rel);
  return parents ? { ok: false, ...parents } : readRepoFileSync(root, rel, options);
}

/**
 * readRepoFile without its parents check (the manifest walk descends only into real folders),
 * synchronous: a quarter of the promise calls' CPU (117 files of 10,000 objects: ~8 against ~30
 * ms). Nothing blocks: a FIFO or a device is refused before the open, which never waits.
 */
export function readRepoFileSync(
  root: string,
  rel: string,
  options: RepoFileOptions,
): RepoFileRead {
  const fail = (f: RepoFileFailure): RepoFileRead => ({ ok: false, ...f });
  if (relativeParts(rel) === null) return fail(NOT_RELATIVE);
  const path = join(root, rel);
  let before: Stats;
  try {
    before = lstatSync(path);
  } catch (err) {
    return fail(missingOr(err));
  }
  const refused = refusedBeforeOpen(before, options);
  if (refused) return fail(refused);
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    if (errCode(err) === 'ELOOP') return fail({ reason: 'not-regular', kind: 'symbolic link' });
    return fail(missingOr(err));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return fail({ reason: 'not-regular', kind: entryKind(st)! });
    // O_NOFOLLOW opened a regular file, but not the one lstat saw: replaced in between.
    if (st.ino !== before.ino || st.dev !== before.dev) return fail({ reason: 'replaced' });
    if (options.prefix !== undefined) {
      const buf = Buffer.alloc(options.prefix);
      return { ok: true, bytes: buf.subarray(0, readSync(fd, buf, 0, options.prefix, 0)) };
    }
    return readBounded(fd, Math.min(st.size, options.maxBytes), options.maxBytes);
  } catch (err) {
    return fail({ reason: 'io', code: errCode(err) });
  } finally {
    closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Read already: a failed close loses nothing.
  }
}

/** What `lstat` already refuses: anything but a regular file of one name, or one too large. */
function refusedBeforeOpen(before: Stats, options: RepoFileOptions): RepoFileFailure | null {
  const kind = entryKind(before);
  if (kind !== null) return { reason: 'not-regular', kind };
  if (before.nlink > 1 && options.allowHardLink !== true)
    return { reason: 'hard-link', links: before.nlink };
  if (options.prefix === undefined && before.size > options.maxBytes)
    return { reason: 'too-large', limit: options.maxBytes, size: before.size };
  return null;
}

/** Reads `fd` to the end, but never more than `maxBytes + 1` bytes, whatever the size said. */
export function readBounded(fd: number, expected: number, maxBytes: number): RepoFileRead {
  const tooLarge: RepoFileRead = { ok: false, reason: 'too-large', limit: maxBytes, size: null };
  // One byte more than expected, so a file read whole ends with a read of 0 bytes, not a regrow.
  let buf = Buffer.allocUnsafe(Math.min(expected + 1, maxBytes + 1));
  let total = 0;
  for (;;) {
    if (total === buf.length) {
      if (total > maxBytes) return tooLarge;
      const bigger = Buffer.allocUnsafe(Math.min(Math.max(buf.length * 2, 4096), maxBytes + 1));
      buf.copy(bigger, 0, 0, total);
      buf = bigger;
    }
    const bytesRead = readSync(fd, buf, total, buf.length - total, null);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return total > maxBytes ? tooLarge : { ok: true, bytes: buf.subarray(0, total) };
}

/** Writes `rel` under `root` as writeRepoFiles does. */
export function writeRepoFile(root: string, rel: string, content: string): Promise<void> {
  return writeRepoFiles(root, [{ path: rel, content }]);
}

/**
 * Writes each file under `root`, folders checked (missing ones made), all or none: each is
 * written to a temporary name beside it, then all are renamed into place. On a failure the
 * temporaries and the folders made are removed and a file already replaced gets its old content
 * back (kept under a second name until every file is in place).
 */
export async function writeRepoFiles(
  root: string,
  files: readonly { path: string; content: string }[],
): Promise<void> {
  const made: string[] = [];
  const placed: { path: string; tmp: string; old: string | null }[] = [];
  let renamed = 0;
  try {
    for (const { path: rel, content } of files) {
      const parts = relativeParts(rel);
      if (parts === null) throw new Error(`${rel} is not a relative path inside the folder`);
      const bad = await parentFolders(root, parts, true, made);
      if (bad) throw new Error(`cannot write ${rel}: ${describeFailure(bad)}`);
      const path = join(root, rel);
      const existing = await lstat(path).catch(() => null);
      const kind = existing ? entryKind(existing) : null;
      if (kind !== null)
        throw new Error(`cannot write ${rel}: it is a ${kind}, not a regular file`);
      const tmp = tempBeside(path);
      placed.push({ path, tmp, old: existing ? tempBeside(path, 'old') : null });
      const fh = await open(tmp, CREATE_FLAGS, 0o666); // as writeFile: the umask decides
      try {
        await fh.writeFile(content);
      } finally {
        await fh.close();
      }
    }
    for (const p of placed) if (p.old) await link(p.path, p.old);
    for (const p of placed) {
      await rename(p.tmp, p.path);
      renamed += 1;
    }
  } catch (err) {
    const quietly = (undo: Promise<void>) => undo.catch(() => undefined);
    for (const [i, p] of placed.entries()) {
      if (i < renamed) await quietly(p.old ? rename(p.old, p.path) : unlink(p.path));
      else await Promise.all([quietly(unlink(p.tmp)), p.old && quietly(unlink(p.old))]);
    }
    for (const folder of made.reverse()) await quietly(rmdir(folder));
    throw err;
  }
  for (const p of placed) if (p.old) await unlink(p.old).catch(() => undefined);
}

/** An unguessable name beside `path`, for a file that takes its place or keeps its old content. */
const tempBeside = (path: string, suffix = 'tmp') =>
  join(dirname(path), `.${basename(path)}.${randomBytes(9).toString('hex')}.${suffix}`);

const CREATE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface PlaceOptions {
  /** Mode of the new file (default 0600; the umask applies). */
  mode?: number;
  /** fsync the file before it takes its place, and its folder after. */
  durable?: boolean;
}

/** The one way poolsync puts a whole file in place (module header); callers check the folders. */
async function replaceFile(
  path: string,
  write: (fh: FileHandle) => Promise<unknown>,
  options: PlaceOptions = {},
): Promise<void> {
  await placeFile(path, write, options, (tmp) => rename(tmp, path));
}

/** As replaceFile, hard-linked into place only when `path` is new (EEXIST: false). */
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
  const tmp = tempBeside(path);
  const fh = await open(tmp, CREATE_FLAGS, options.mode ?? 0o600);
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

export class UnsafeFileError extends UserError {}

const DENIED = 'permission denied: give the user running poolsync read and write access to it';
const IO_WORDS: Record<string, string> = {
  EACCES: DENIED,
  EPERM: DENIED,
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
};

/** errno codes as words a user acts on. */
export const ioWords = (code: string): string => IO_WORDS[code] ?? code;

/** What a file or folder the user named to write (--out, --dir) is, when it cannot be written. */
const WRITE_WORDS: Record<string, string> = {
  ENOENT: 'the folder it goes in does not exist',
  ENOTDIR: 'a folder in its path is a file',
  EISDIR: 'it is a folder, not a file',
  // mkdir's answer where the path is taken by a file.
  EEXIST: 'it is a file, not a folder',
};

export const writeWords = (err: unknown): string =>
  WRITE_WORDS[errCode(err)] ?? ioWords(errCode(err));

/**
 * `mkdir -p`: `dir` and its missing parents. Not Node's `recursive: true`, which retries forever
 * where a parent exists and mkdir still answers ENOENT (under /proc): here each folder is tried
 * once more after its parent, then its error is thrown. A file in the way is EEXIST, as Node's;
 * a link to a folder is the folder (the user's folders, as /tmp on macOS). `mode`: of each folder
 * made (default: the umask's).
 */
export async function makeFolders(dir: string, mode?: number): Promise<void> {
  try {
    await mkdir(dir, { mode });
  } catch (err) {
    if (errCode(err) === 'EEXIST' && (await stat(dir).catch(() => null))?.isDirectory()) return;
    if (errCode(err) !== 'ENOENT' || dirname(dir) === dir) throw err;
    await makeFolders(dirname(dir), mode);
    await mkdir(dir, { mode }).catch((again: unknown) => {
      if (errCode(again) !== 'EEXIST') throw again; // made meanwhile by another process
    });
  }
}

/** A folder the user named to write into (init, export), made with its parents when missing. */
export async function makeUserFolder(dir: string): Promise<void> {
  await makeFolders(dir).catch((err: unknown) => {
    throw new UserError(`cannot write into the folder ${dir}: ${writeWords(err)}`);
  });
}

/** `path` relative to `root` with forward slashes; refused when it is not strictly inside. */
function inside(root: string, path: string): string {
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel))
    throw new UnsafeFileError(`${path} is not inside poolsync's folder ${root}`);
  return rel.split(sep).join('/');
}

/**
 * `root` and every folder down to `path`'s are real folders (`create`: missing ones made, mode
 * 0700, each checked before going down). Those above `root` are the user's: never checked.
 */
export async function ownFolders(root: string, path: string, create: boolean): Promise<void> {
  const folders = [root];
  for (const part of inside(root, path).split('/').slice(0, -1))
    folders.push(join(folders.at(-1)!, part));
  for (const [i, folder] of folders.entries()) {
    let st = await lstat(folder).catch((err: unknown) => {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return null;
      throw folderError(folder, ioWords(errCode(err)));
    });
    if (st === null) {
      if (!create) return; // nothing below a missing folder exists either
      try {
        if (i === 0) await makeFolders(dirname(folder));
        await mkdir(folder, { mode: 0o700 });
        if (i === 0 && (await gitWorkTreeOf(folder)) !== null) await ignoredByGit(folder);
        continue;
      } catch (err) {
        // In the words of a folder the user named: its parents are the user's.
        if (errCode(err) !== 'EEXIST') throw folderError(folder, writeWords(err));
        st = await lstat(folder).catch(() => {
          throw folderError(folder, WRITE_WORDS.ENOTDIR!); // a file where a parent goes
        });
      }
    }
    if (!st.isDirectory())
      throw folderError(
        folder,
        `it is a ${kindWords(st)}, not a folder; poolsync keeps its files only in real folders, never through a link: remove it, or give the real folder's path`,
      );
    // Said here, for the folder, rather than as EACCES on some file in it later.
    await access(
      folder,
      create ? constants.R_OK | constants.W_OK | constants.X_OK : constants.X_OK,
    ).catch((err: unknown) => {
      throw folderError(folder, ioWords(errCode(err)));
    });
  }
}

/** The outermost of `dir` and its parents that does not exist (`dir` itself at most); null: `dir` exists. */
export async function outermostMissing(dir: string): Promise<string | null> {
  let missing: string | null = null;
  for (let at = resolve(dir); !(await exists(at)) && dirname(at) !== at; at = dirname(at))
    missing = at;
  return missing;
}

/** The nearest folder from `dir` up (links not followed) that holds `.git`; null when none does. */
export async function gitWorkTreeOf(dir: string): Promise<string | null> {
  for (let at = resolve(dir); ; at = dirname(at)) {
    if (await exists(join(at, '.git'))) return at;
    if (dirname(at) === at) return null;
  }
}

/**
 * A root poolsync makes in a Git work tree is never part of a commit, wherever it is made (a
 * monorepo's top, which no `.gitignore` of the config repository covers): its own `.gitignore`
 * ignores all it holds.
 */
async function ignoredByGit(folder: string): Promise<void> {
  const fh = await open(join(folder, '.gitignore'), CREATE_FLAGS, 0o644);
  try {
    await fh.writeFile(`# poolsync's own files, never part of a commit (docs/security.md)\n*\n`);
  } finally {
    await fh.close();
  }
}

/** Removes a root ownFolders made, when it holds nothing but the `.gitignore` it wrote there. */
export async function removeMadeFolder(folder: string): Promise<void> {
  const names = await readdir(folder).catch(() => null);
  if (names === null || names.some((n) => n !== '.gitignore')) return;
  await unlink(join(folder, '.gitignore')).catch(() => undefined);
  await rmdir(folder).catch(() => undefined);
}

function folderError(folder: string, why: string): UnsafeFileError {
  return new UnsafeFileError(`cannot use the folder ${folder}: ${why}`);
}

/** The bytes of `path` (inside `root`), or null when it does not exist. */
export async function readOwnFile(
  root: string,
  path: string,
  options: UserFileOptions & Pick<RepoFileOptions, 'allowHardLink'>,
): Promise<Buffer | null> {
  const rel = inside(root, path);
  await ownFolders(root, path, false);
  const readOnce = () => readRepoFile(root, rel, options);
  let read = await readOnce();
  // A writer renamed a new version into place between lstat and open: read that one.
  for (let i = 0; i < 5 && !read.ok && read.reason === 'replaced'; i++) read = await readOnce();
  if (read.ok) return read.bytes;
  if (read.reason === 'missing') return null;
  throw new UnsafeFileError(
    `cannot read the ${options.what} ${path}: ${read.reason === 'io' ? ioWords(read.code) : describeFailure(read)}` +
      (read.reason === 'not-regular' || read.reason === 'hard-link' || read.reason === 'outside'
        ? '; poolsync reads only the regular files it wrote there, never through a link: remove it'
        : ''),
  );
}

/** Replaces `path` (inside `root`) through replaceFile; `data` may come in parts (json-parts.ts). */
export async function writeOwnFile(
  root: string,
  path: string,
  data: string | Buffer | Iterable<string>,
  options: PlaceOptions & { what: string },
): Promise<void> {
  await ownFolders(root, path, true);
  const existing = await lstat(path).catch(() => null);
  if (existing && entryKind(existing) !== null)
    throw new UnsafeFileError(
      `cannot write the ${options.what} ${path}: it is a ${kindWords(existing)}, not a regular file; poolsync never writes through a link: remove it`,
    );
  const write = async (fh: FileHandle) => {
    if (typeof data === 'string' || Buffer.isBuffer(data)) await fh.writeFile(data);
    else await writeTextParts(fh, data);
  };
  try {
    await replaceFile(path, write, options);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new UnsafeFileError(`cannot write the ${options.what} ${path}: ${ioWords(code)}`);
  }
}

/** Removes `path` (inside `root`) when it is there, its folders checked first as a write's are. */
export async function removeOwnFile(root: string, path: string, what: string): Promise<void> {
  await ownFolders(root, path, false);
  await unlink(path).catch((err: unknown) => {
    if (errCode(err) !== 'ENOENT' && errCode(err) !== 'ENOTDIR')
      throw new UnsafeFileError(`cannot remove the ${what} ${path}: ${ioWords(errCode(err))}`);
  });
}

/**
 * Writes `parts` to `fh` (at its position, or appended), each encoded as UTF-8 straight into
 * `buffer`, written whenever the next part might not fit: no part is joined into a larger string
 * or copied again to be written (a 100,000-object snapshot is ~25 MB of parts, issue 79).
 * `buffer` is reused, so a caller may pass its own for every write (the control-plane journal).
 * A part made by `+` or a template is copied whole before it is encoded (V8 flattens it): hand
 * its pieces over as parts of their own (json-parts.ts).
 */
export async function writeTextParts(
  fh: FileHandle,
  parts: Iterable<string>,
  buffer: Buffer = Buffer.allocUnsafe(1 << 20),
): Promise<void> {
  let used = 0;
  for (const part of parts) {
    // A UTF-16 unit is at most 3 bytes of UTF-8: room for the worst case, so `write` takes it all.
    const most = part.length * 3;
    if (used + most > buffer.length && used > 0) {
      await writeAll(fh, buffer, used);
      used = 0;
    }
    if (most > buffer.length) await writeAll(fh, Buffer.from(part, 'utf8'));
    else used += buffer.write(part, used, 'utf8');
  }
  if (used > 0) await writeAll(fh, buffer, used);
}

/** The first `length` bytes of `bytes`, however many writes that takes. */
async function writeAll(fh: FileHandle, bytes: Buffer, length = bytes.length): Promise<void> {
  for (let at = 0; at < length;) at += (await fh.write(bytes, at, length - at)).bytesWritten;
}

const APPEND_FLAGS =
  constants.O_WRONLY |
  constants.O_APPEND |
  constants.O_CREAT |
  constants.O_NOFOLLOW |
  constants.O_NONBLOCK;

/** `path` (inside `root`) opened for appending, created when absent: a regular file, one name. */
export async function openOwnAppend(
  root: string,
  path: string,
  what: string,
  mode = 0o600,
): Promise<FileHandle> {
  await ownFolders(root, path, true);
  let fh: FileHandle;
  try {
    fh = await open(path, APPEND_FLAGS, mode);
  } catch (err) {
    const code = errCode(err);
    const why =
      code === 'ELOOP'
        ? 'it is a symbolic link, not a regular file; poolsync never writes through a link: remove it'
        : ioWords(code);
    throw new UnsafeFileError(`cannot open the ${what} ${path}: ${why}`);
  }
  const st = await fh.stat();
  if (!st.isFile() || st.nlink > 1) {
    await fh.close();
    throw new UnsafeFileError(
      `cannot open the ${what} ${path}: ${st.isFile() ? `it has ${st.nlink} names (a hard link)` : `it is a ${kindWords(st)}`}, not a regular file of its own; remove it`,
    );
  }
  return fh;
}

/** A token, key or secret file (a line, with room for a certificate chain); a config file. */
export const SECRET_FILE_BYTES = 1024 * 1024;
export const CONFIG_FILE_BYTES = 1024 * 1024;

export interface UserFileOptions {
  maxBytes: number;
  /** What the file is, for messages ("token file", "saved plan"). */
  what: string;
  /** What to do when it does not exist. */
  missing?: string;
}

const USER_READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * A file the user named: links are followed (a Kubernetes secret is one), but only a regular
 * file is read (a FIFO would block, a device never end), at most `maxBytes`; the message of the
 * UnsafeFileError it throws never quotes it.
 */
export async function readUserFile(path: string, options: UserFileOptions): Promise<Buffer> {
  return withUserFile(path, options, (fd, size, tooLarge) => {
    const read = readBounded(fd, size, options.maxBytes);
    if (!read.ok) throw tooLarge();
    return read.bytes;
  });
}

/**
 * readUserFile for a file too large to hold twice (a saved plan of 100,000 creates, 223 MB):
 * its bytes handed to `each` in order, in one buffer reused once `each` returns.
 */
export async function readUserFileInChunks(
  path: string,
  options: UserFileOptions,
  each: (bytes: Buffer) => void,
): Promise<void> {
  await withUserFile(path, options, (fd, _size, tooLarge) => {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let total = 0;
    for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0;) {
      if ((total += n) > options.maxBytes) throw tooLarge();
      each(buffer.subarray(0, n));
    }
  });
}

function withUserFile<T>(
  path: string,
  options: UserFileOptions,
  read: (fd: number, size: number, tooLarge: () => UnsafeFileError) => T,
): T {
  const fail = (why: string) => new UnsafeFileError(`cannot read ${options.what} ${path}: ${why}`);
  let fd: number;
  try {
    fd = openSync(path, USER_READ_FLAGS);
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT')
      throw new UnsafeFileError(
        `${options.what} ${path} does not exist${options.missing ? `: ${options.missing}` : ''}`,
      );
    throw fail(code === 'EISDIR' ? 'it is a folder' : ioWords(code));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fail(`it is a ${kindWords(st)}, not a regular file`);
    if (st.size > options.maxBytes) throw fail(`it is larger than ${options.maxBytes} bytes`);
    return read(fd, st.size, () => fail(`it holds more than ${options.maxBytes} bytes`));
  } catch (err) {
    if (err instanceof UnsafeFileError) throw err;
    throw fail(ioWords(errCode(err)));
  } finally {
    closeQuietly(fd);
  }
}
