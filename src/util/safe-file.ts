/**
 * The one layer for the files poolsync keeps for itself (docs/security.md, "Files poolsync
 * keeps"): the embedded control plane's snapshot, journal and locks, apply locks, last-applied
 * records, the manifest cache. They live in a folder poolsync owns (the *root*: the state
 * folder, the cache folder), which may sit in a checkout where anyone with push access put
 * links, FIFOs or files of their own. So, below the root, as `repo-file.ts` does for manifests:
 *
 * - nothing is followed: the root and every folder under it must be real folders (`lstat`), a
 *   file must be a regular file with one name (a hard link could be an outside file), opened
 *   with `O_NOFOLLOW | O_NONBLOCK` and checked again with `fstat`;
 * - every read is bounded by the bytes read, never by what `stat` says;
 * - a file is written to a temporary name of 18 random hex characters created exclusively
 *   (`O_CREAT | O_EXCL | O_NOFOLLOW`: an existing entry or a link planted there fails the open)
 *   and renamed over the file, so a link never receives the content and no name is guessable
 *   (one function does it for every file poolsync writes: repo-file.ts replaceFile);
 * - a failure is a `UnsafeFileError` (a `UserError`: one line, no stack trace) that names the
 *   path and the reason, never the content of anything.
 */
import { constants, type Stats } from 'node:fs';
import { access, lstat, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { batches } from './batched-lines.js';
import { describeFailure, entryKind, readBounded, readRepoFile, replaceFile } from './repo-file.js';

export {
  createExclusive,
  createFileOnce,
  replaceFile,
  syncFolder,
  temporaryName,
} from './repo-file.js';
import { UserError } from './user-error.js';

export class UnsafeFileError extends UserError {}

/** errno codes as words a user acts on. */
export function ioWords(code: string): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: give the user running poolsync read and write access to it';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'the disk quota is exhausted';
    default:
      return code;
  }
}

const errCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? 'EIO';

/** `path` relative to `root` with forward slashes, or null when it is not strictly inside. */
function inside(root: string, path: string): string | null {
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return null;
  return rel.split(sep).join('/');
}

function kindWords(st: Stats): string {
  return entryKind(st) ?? 'file';
}

/**
 * `root` and every folder between it and `path`'s folder are real folders; with `create`,
 * missing ones are made (mode 0700), one at a time and each checked before going down. Folders
 * above `root` are the user's: made with `recursive` when missing, never checked.
 */
export async function ownFolders(root: string, path: string, create: boolean): Promise<void> {
  const rel = inside(root, path);
  if (rel === null) throw new UnsafeFileError(`${path} is not inside poolsync's folder ${root}`);
  const folders = [root];
  for (const part of rel.split('/').slice(0, -1)) folders.push(join(folders.at(-1)!, part));
  for (const [i, folder] of folders.entries()) {
    let st = await lstatOrNull(folder).catch((err: unknown) => {
      throw folderError(folder, ioWords(errCode(err)));
    });
    if (st === null) {
      if (!create) return; // nothing below a missing folder exists either
      try {
        if (i === 0) await mkdir(dirname(folder), { recursive: true });
        await mkdir(folder, { mode: 0o700 });
        continue;
      } catch (err) {
        if (errCode(err) !== 'EEXIST') throw folderError(folder, ioWords(errCode(err)));
        st = await lstat(folder);
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

/** `root` itself is a real folder (made when missing and `create`). */
export function ownRoot(root: string, create: boolean): Promise<void> {
  return ownFolders(root, join(root, 'entry'), create);
}

function folderError(folder: string, why: string): UnsafeFileError {
  return new UnsafeFileError(`cannot use the folder ${folder}: ${why}`);
}

export interface OwnReadOptions {
  /** The bound on the bytes read. */
  maxBytes: number;
  /** What the file is, for messages ("control-plane state", "apply lock"). */
  what: string;
  /** Lock files are briefly hard-linked while they are taken (util/lock-file.ts). */
  allowHardLink?: boolean;
}

/** The bytes of `path` (inside `root`), or null when it does not exist. */
export async function readOwnFile(
  root: string,
  path: string,
  options: OwnReadOptions,
): Promise<Buffer | null> {
  const rel = inside(root, path);
  if (rel === null) throw new UnsafeFileError(`${path} is not inside poolsync's folder ${root}`);
  await ownFolders(root, path, false);
  const readOnce = () =>
    readRepoFile(root, rel, {
      maxBytes: options.maxBytes,
      allowHardLink: options.allowHardLink === true,
    });
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

export interface OwnWriteOptions {
  /** File mode of a new file (default 0600). */
  mode?: number;
  /** fsync the file before the rename and the folder after it (the control plane's state). */
  durable?: boolean;
  what: string;
}

/**
 * Replaces `path` (inside `root`) whole: folders checked (missing ones made), the content
 * written to an exclusive temporary name and renamed over the file (repo-file.ts replaceFile).
 * An existing entry that is not a regular file is refused. `data` may come in parts
 * (util/json-parts.ts).
 */
export async function writeOwnFile(
  root: string,
  path: string,
  data: string | Buffer | Iterable<string>,
  options: OwnWriteOptions,
): Promise<void> {
  if (inside(root, path) === null)
    throw new UnsafeFileError(`${path} is not inside poolsync's folder ${root}`);
  await ownFolders(root, path, true);
  const existing = await lstat(path).catch(() => null);
  if (existing && entryKind(existing) !== null)
    throw new UnsafeFileError(
      `cannot write the ${options.what} ${path}: it is a ${kindWords(existing)}, not a regular file; poolsync never writes through a link: remove it`,
    );
  const write = async (fh: FileHandle) => {
    if (typeof data === 'string' || Buffer.isBuffer(data)) await fh.writeFile(data);
    else for (const batch of batches(data)) await fh.write(batch);
  };
  try {
    await replaceFile(path, write, { mode: options.mode ?? 0o600, durable: options.durable });
  } catch (err) {
    throw writeError(options.what, path, err);
  }
}

function writeError(what: string, path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  return code === undefined
    ? (err as Error)
    : new UnsafeFileError(`cannot write the ${what} ${path}: ${ioWords(code)}`);
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
  if (inside(root, path) === null)
    throw new UnsafeFileError(`${path} is not inside poolsync's folder ${root}`);
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

/** `lstat`, or null when absent: never follows a link. */
export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return null;
    throw err;
  }
}

/** A token, key or secret file: a line of text, with room for a certificate chain. */
export const SECRET_FILE_BYTES = 1024 * 1024;

/** A configuration file (the daemon's, a pool contract, an OAuth client file). */
export const CONFIG_FILE_BYTES = 1024 * 1024;

export interface UserFileOptions {
  maxBytes: number;
  /** What the file is, for messages ("token file", "saved plan"). */
  what: string;
}

const USER_READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * A file the user named (a token file, a saved plan, a config file): links are followed (a
 * Kubernetes secret is one), but only a regular file is read (a FIFO would block, a device
 * never end) and at most `maxBytes`. Throws UnsafeFileError; the message never quotes it.
 */
export async function readUserFile(path: string, options: UserFileOptions): Promise<Buffer> {
  const fail = (why: string) => new UnsafeFileError(`cannot read ${options.what} ${path}: ${why}`);
  let fh: FileHandle;
  try {
    fh = await open(path, USER_READ_FLAGS);
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT') throw new UnsafeFileError(`${options.what} ${path} does not exist`);
    throw fail(code === 'EISDIR' ? 'it is a folder' : ioWords(code));
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw fail(`it is a ${kindWords(st)}, not a regular file`);
    if (st.size > options.maxBytes) throw fail(`it is larger than ${options.maxBytes} bytes`);
    const read = await readBounded(fh, st.size, options.maxBytes);
    if (!read.ok) throw fail(`it holds more than ${options.maxBytes} bytes`);
    return read.bytes;
  } catch (err) {
    if (err instanceof UnsafeFileError) throw err;
    throw fail(ioWords(errCode(err)));
  } finally {
    await fh.close().catch(() => undefined);
  }
}
