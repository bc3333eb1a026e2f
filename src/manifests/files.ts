/**
 * Reading one file of the config folder within the input limits (manifests.md), through the
 * one safe read of src/util/safe-file.ts: regular files only, nothing outside the folder,
 * bounded by the bytes read.
 */
import {
  readRepoFile,
  readRepoFileSync,
  type RepoFileFailure,
  type RepoFileRead,
} from '../util/safe-file.js';
import { LIMITS, formatBytes, type InputLimits } from './limits.js';
import type { ValidationError } from './types.js';

export type ReadResult =
  | { ok: true; text: string }
  /** `missing`: the file does not exist (poolsync.yaml is optional). */
  | { ok: false; error: ValidationError; missing?: boolean };

export interface ReadOptions {
  /** False for files the walk found: it descends real folders only (src/manifests/walk.ts). */
  checkParents?: boolean;
}

/** Why a file was not read, as one line that never quotes the file (or a link's target). */
export function repoFileFailureMessage(f: RepoFileFailure): string {
  switch (f.reason) {
    case 'missing':
      return 'cannot read file: ENOENT';
    case 'io':
      return `cannot read file: ${f.code}`;
    case 'not-regular':
      return `not read: it is a ${f.kind}, and poolsync reads only regular files inside the repository (a link could point outside it; a FIFO or device could block or never end): commit the file itself`;
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
  options: ReadOptions = {},
): Promise<ReadResult> {
  const read = await readRepoFile(root, rel, {
    maxBytes: limits.maxFileBytes,
    checkParents: options.checkParents ?? true,
  });
  return manifestText(rel, read);
}

/** A file the manifest walk found (src/manifests/walk.ts), read in synchronous calls. */
export function readWalkedManifestText(
  root: string,
  rel: string,
  limits: Readonly<InputLimits>,
): ReadResult {
  return manifestText(rel, readRepoFileSync(root, rel, { maxBytes: limits.maxFileBytes }));
}

/** One decoder for every file: a fatal decoder is ready for the next text after a failure. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a read file, or the error that says why there is none. */
function manifestText(rel: string, read: RepoFileRead): ReadResult {
  const fail = (
    code: ValidationError['code'],
    message: string,
    line = 1,
    column = 1,
  ): ReadResult => ({
    ok: false,
    error: { code, message, file: rel, line, column, address: null },
  });
  if (!read.ok) {
    const code = read.reason === 'too-large' ? 'LIMIT' : 'IO';
    return {
      ...fail(code, repoFileFailureMessage(read)),
      missing: read.reason === 'missing',
    } as ReadResult;
  }
  const bytes = read.bytes;
  try {
    return { ok: true, text: UTF8.decode(bytes) };
  } catch {
    // Locate the first undecodable byte so the user can find it.
    const lossy = new TextDecoder('utf-8').decode(bytes);
    const at = lossy.indexOf('\uFFFD');
    const before = lossy.slice(0, Math.max(0, at));
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    return fail(
      'YAML',
      'file is not UTF-8 text (binary data?): manifests must be UTF-8 YAML',
      line,
      column,
    );
  }
}
