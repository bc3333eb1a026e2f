/**
 * The config folder and its files. The folder is reached from the repository root through real
 * folders (docs/security.md, "What is read"): a `--path` under a committed symbolic link would
 * make poolsync read (and quote in errors, logs and PR comments) files from anywhere. Its
 * manifests (manifests.md): every *.yaml / *.yml in sorted path order, skipping dot-entries,
 * links, the repo config and `ignore` globs, each read through src/util/safe-file.ts.
 */
import type { Stats } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import {
  entryKind,
  gitWorkTreeOf,
  type EntryKind,
  readRepoFile,
  readRepoFileSync,
  type RepoFileFailure,
  type RepoFileRead,
} from '../util/safe-file.js';
import { LIMITS, formatBytes, type InputLimits } from './limits.js';
import type { SkippedEntry, ValidationError } from './types.js';

export const REPO_CONFIG_FILE = 'poolsync.yaml';

/** Folder levels read: manifests need a few; 3,000 exhaust memory (watchers) or path lengths. */
export const MAX_FOLDER_DEPTH = 32;

export interface WalkResult {
  /** Relative paths with forward slashes, sorted. */
  files: string[];
  /** Folders and files not read, with the reason (an errno code, TOO_DEEP, NOT_UTF8 or MIS_CASED). */
  unreadable: { path: string; reason: string }[];
  /** Links, FIFOs, sockets, devices: skipped, reported so the skip is never silent. */
  skipped: SkippedEntry[];
  /** The same named as manifests: errors, or their objects would count as removed (and pruned). */
  notRegular: { path: string; kind: EntryKind }[];
}

export const TOO_DEEP = 'TOO_DEEP';
/**
 * A name that is not UTF-8: errors, plans and Git name files as text, so it is refused rather
 * than read under a name that cannot be shown (the system decodes it with U+FFFD).
 */
export const NOT_UTF8 = 'NOT_UTF8';

/**
 * A file named `.YAML`, `.Yml`…: not read as a manifest, so an error, or its objects would count as
 * removed (and pruned) on a case-sensitive system while another reads them.
 */
export const MIS_CASED = 'MIS_CASED';

/** The names of `folder` that are not UTF-8, as readdir decodes them (U+FFFD for each bad byte). */
async function namesNotUtf8(folder: string): Promise<Set<string>> {
  const names = await readdir(folder, { encoding: 'buffer' }).catch(() => []);
  return new Set(names.filter((n) => !isUtf8(n)).map((n) => n.toString('utf8')));
}

/** Byte-wise order, independent of locale, so every machine walks the same way. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What the walk reads and prunes (manifests.md), by path: said once for it and readAsManifest. */
function manifestRules(ignore: readonly string[]) {
  const isIgnored = ignore.length > 0 ? picomatch([...ignore], { dot: true }) : () => false;
  return {
    isIgnored,
    // A glob naming the folder itself (drafts, drafts/) or its contents (drafts/**) prunes it.
    prunes: (folder: string) => isIgnored(folder) || isIgnored(`${folder}/`),
    reads: (file: string) => /\.ya?ml$/.test(file) && file !== REPO_CONFIG_FILE && !isIgnored(file),
    misCased: (file: string) =>
      /\.ya?ml$/i.test(file) && !/\.ya?ml$/.test(file) && !isIgnored(file),
  };
}

export async function findManifestFiles(
  root: string,
  ignore: readonly string[],
  folders: readonly string[] = ['.'],
): Promise<WalkResult> {
  const { isIgnored, prunes, reads, misCased } = manifestRules(ignore);
  const result: WalkResult = { files: [], unreadable: [], skipped: [], notRegular: [] };

  async function visit(rel: string, depth: number): Promise<void> {
    if (depth > MAX_FOLDER_DEPTH) {
      result.unreadable.push({ path: rel, reason: TOO_DEEP });
      return;
    }
    const folder = rel === '' ? root : join(root, rel);
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (err) {
      result.unreadable.push({
        path: rel === '' ? '.' : rel,
        reason: (err as NodeJS.ErrnoException).code ?? String(err),
      });
      return;
    }
    entries.sort((x, y) => comparePaths(x.name, y.name));
    // Read again, as bytes, only where a name may not be UTF-8 (a U+FFFD can be written too).
    const notUtf8 = entries.some((e) => e.name.includes('\uFFFD'))
      ? await namesNotUtf8(folder)
      : null;
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (notUtf8?.has(e.name) && (e.isDirectory() ? !prunes(path) : reads(path)))
        result.unreadable.push({ path, reason: NOT_UTF8 });
      else if (e.isDirectory()) {
        if (!prunes(path)) await visit(path, depth + 1);
      } else if (e.isFile()) {
        if (reads(path)) result.files.push(path);
        else if (misCased(path)) result.unreadable.push({ path, reason: MIS_CASED });
      } else if (reads(path)) {
        // Never read (a link could pull in files from outside the folder, a FIFO would block).
        result.notRegular.push({ path, kind: entryKind(e)! });
      } else if (!isIgnored(path) && (/\.ya?ml$/.test(e.name) || e.isSymbolicLink())) {
        result.skipped.push({ path, reason: entryKind(e)! });
      }
    }
  }

  for (const folder of folders.includes('.') ? [''] : [...folders].sort(comparePaths)) {
    const parts = folder === '' ? [] : folder.split('/');
    // Not below another of the folders (walked with it), nor inside an ignored one.
    const within = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    if (within.slice(0, -1).some((p) => folders.includes(p))) continue;
    if (within.some(prunes)) continue;
    await visit(folder, parts.length);
  }
  // manifests.md orders by path: a full-path sort decides (the walk puts `a/x` before `a-b`).
  result.files.sort(comparePaths);
  return result;
}

/**
 * Whether findManifestFiles would read `path` (relative to the root, forward slashes) as a
 * manifest once it exists: a YAML file, not hidden, not poolsync.yaml, not ignored, in a folder.
 */
export function readAsManifest(
  path: string,
  ignore: readonly string[],
  folders: readonly string[] = ['.'],
): boolean {
  return manifestReader(ignore)(path, folders);
}

/** readAsManifest with its `ignore` globs compiled once, for many paths. */
export function manifestReader(
  ignore: readonly string[],
): (path: string, folders: readonly string[]) => boolean {
  const { prunes, reads, misCased } = manifestRules(ignore);
  return (path, folders) => {
    const parts = path.split('/');
    if (!(reads(path) || misCased(path)) || parts.some((p) => p.startsWith('.') || p === ''))
      return false;
    const above = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
    return !above.some(prunes) && folders.some((f) => f === '.' || path.startsWith(`${f}/`));
  };
}

function folderError(message: string): ValidationError {
  return { code: 'IO', message, file: '.', line: 1, column: 1, address: null };
}

/** The error (at `.`) unless DIR is reached from `root` (default: its work tree) by real folders. */
export async function checkFolder(dir: string, root?: string): Promise<ValidationError | null> {
  try {
    if (!(await stat(dir)).isDirectory()) return folderError(`${dir} is not a folder`);
  } catch (err) {
    return folderError(
      `cannot read folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  const top = resolve(root ?? (await gitWorkTreeOf(dir)) ?? dir);
  const rel = relative(top, resolve(dir));
  if (rel === '') return null;
  if (rel.startsWith('..') || resolve(top, rel) !== resolve(dir))
    return folderError(`the folder ${dir} is outside the repository ${top}`);
  const bad = await firstNonFolder(top, rel.split(sep));
  if (bad === null) return null;
  const what = bad.st?.isSymbolicLink() ? 'a symbolic link' : 'not a folder';
  return folderError(
    `the folder ${relative(top, bad.at) || '.'} of the repository is ${what}: poolsync reads nothing outside the repository, and a link could point anywhere; name the real folder instead`,
  );
}

/** The first of `parts` below `base` that is not a real folder (missing, a link, a file), or null. */
export async function firstNonFolder(
  base: string,
  parts: string[],
): Promise<{ at: string; st: Stats | null } | null> {
  let at = base;
  for (const part of parts) {
    at = join(at, part);
    const st = await lstat(at).catch(() => null);
    if (st === null || !st.isDirectory()) return { at, st };
  }
  return null;
}

export type ReadResult =
  | { ok: true; text: string }
  /** `missing`: the file does not exist (poolsync.yaml is optional). */
  | { ok: false; error: ValidationError; missing?: boolean };

/**
 * What to do about a file or folder the system refused to read (`code`: its errno); `walked`:
 * the walk found it, so ignore: can skip it (poolsync.yaml and patch files are named, not walked).
 */
export function unreadableAdvice(code: string, walked: boolean): string {
  const skip = walked ? ', or list it under ignore in poolsync.yaml' : '';
  return code === 'EACCES' || code === 'EPERM'
    ? ` (permission denied): make it readable by the user poolsync runs as${skip}`
    : `: check the disk or file system it is on${skip}`;
}

/** Why a file was not read, as one line that never quotes the file (or a link's target). */
export function repoFileFailureMessage(f: RepoFileFailure, walked = false): string {
  switch (f.reason) {
    case 'missing':
      return walked
        ? 'the file was removed while poolsync read the folder: run again'
        : 'cannot read file: it does not exist';
    case 'io':
      return `cannot read file: ${f.code}${unreadableAdvice(f.code, walked)}`;
    case 'not-regular':
      return `not read: it is a ${f.kind}, and poolsync reads only regular files inside the repository (a link could point outside it; a FIFO or device could block or never end): ${walked ? 'replace it with the file itself, or list it under ignore in poolsync.yaml' : 'commit the file itself'}`;
    case 'replaced':
      return 'cannot read file: it was replaced while it was read; try again';
    case 'hard-link':
      return `not read: it is a hard link (a file with ${f.links} names), which could be a file from outside the repository: commit the file itself`;
    case 'outside':
      return `not read: ${f.detail}; poolsync reads nothing outside the repository (a linked folder could point outside it)`;
    case 'too-large':
      return f.size !== null
        ? `file is ${formatBytes(f.size)}, over the limit of ${formatBytes(f.limit)}: split it into several files, or raise limits.file_bytes in poolsync.yaml`
        : `file holds more than ${formatBytes(f.limit)}, the limit (read stopped there): split it into several files, or raise limits.file_bytes in poolsync.yaml`;
  }
}

export async function readManifestText(
  root: string,
  rel: string,
  limits: Readonly<InputLimits> = LIMITS,
): Promise<ReadResult> {
  return manifestText(rel, await readRepoFile(root, rel, { maxBytes: limits.maxFileBytes }));
}

/** A file the walk found (its parents are real folders), read synchronously. */
export function readWalkedManifestText(
  root: string,
  rel: string,
  limits: Readonly<InputLimits>,
): ReadResult {
  return manifestText(rel, readRepoFileSync(root, rel, { maxBytes: limits.maxFileBytes }), true);
}

/** One decoder for every file: a fatal decoder is ready for the next text after a failure. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function manifestText(rel: string, read: RepoFileRead, walked = false): ReadResult {
  const error = (code: ValidationError['code'], message: string, line = 1, column = 1) => {
    return { code, message, file: rel, line, column, address: null };
  };
  if (!read.ok) {
    const code = read.reason === 'too-large' ? 'LIMIT' : 'IO';
    const missing = read.reason === 'missing';
    return { ok: false, error: error(code, repoFileFailureMessage(read, walked)), missing };
  }
  try {
    return { ok: true, text: UTF8.decode(read.bytes) };
  } catch {
    const lossy = new TextDecoder('utf-8').decode(read.bytes);
    const at = lossy.indexOf('\uFFFD');
    // Lines as YAML counts them: a lone CR ends one too.
    const lines = lossy.slice(0, Math.max(0, at)).split(/\r\n?|\n/);
    const message = 'file is not UTF-8 text (binary data?): manifests must be UTF-8 YAML';
    return { ok: false, error: error('YAML', message, lines.length, lines.at(-1)!.length + 1) };
  }
}
