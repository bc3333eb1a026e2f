/**
 * What identifies the state at `file:PATH` without reading it: the snapshot's and the journal's
 * inode, size, mtime and ctime (nanoseconds). A writer replaces the snapshot by rename (a new
 * inode) and only ever appends to the journal or truncates it (size, mtime), and nothing can
 * set a file's ctime back; so a file that was written since never has the same identity.
 *
 * Two things key on it: EmbeddedControlPlane.stateKey (below), and a state cache a long-running
 * process hands to the embedded control plane (EmbeddedOptions.stateCache,
 * src/incremental/state-cache.ts), which gives back a state read from files of the same
 * identity instead of reading them again.
 * The keys are derived from the typed records here, field by field: a new field of a record is
 * a compile error until its key covers it.
 */
import { lstat } from 'node:fs/promises';
import type { State } from './state.js';

/** What the journal held when the state was read: whole lines, and whether a torn one followed. */
export interface JournalShape {
  lines: number;
  torn: boolean;
}

/** One file's identity: equal stamps, equal content (see above). */
export interface FileStamp {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** The fields of a FileStamp in its key, in this order; a field left out does not compile. */
const STAMP_KEY: Record<keyof FileStamp, true> = {
  ino: true,
  size: true,
  mtimeNs: true,
  ctimeNs: true,
};
const STAMP_FIELDS = Object.keys(STAMP_KEY) as (keyof FileStamp)[];

/** The files of one state, as they are now. */
export interface StateFiles {
  /** The snapshot's path (absolute: opener.ts resolves it). */
  path: string;
  /** Null when absent. */
  snapshot: FileStamp | null;
  journal: FileStamp | null;
}

/** How each field of StateFiles enters the key; a field left out does not compile. */
const FILES_KEY: { [K in keyof StateFiles]: (files: StateFiles) => string } = {
  path: (f) => f.path,
  snapshot: (f) => stampKey(f.snapshot),
  journal: (f) => stampKey(f.journal),
};

export interface FilesIdentity extends StateFiles {
  /** Equal keys, equal files (the path included). */
  key: string;
  hasSnapshot: boolean;
  /** The journal is absent or empty: the snapshot holds the whole state. */
  journalEmpty: boolean;
}

/** The identity of the snapshot at `path` and of its journal. */
export async function stateFilesIdentity(path: string): Promise<FilesIdentity> {
  const files: StateFiles = {
    path,
    snapshot: await fileStamp(path),
    journal: await fileStamp(`${path}.journal`),
  };
  return {
    ...files,
    key: filesKey(files),
    hasSnapshot: files.snapshot !== null,
    journalEmpty: files.journal === null || files.journal.size === 0n,
  };
}

function filesKey(files: StateFiles): string {
  return (Object.keys(FILES_KEY) as (keyof StateFiles)[]).map((k) => FILES_KEY[k](files)).join('|');
}

function stampKey(stamp: FileStamp | null): string {
  return stamp === null ? 'absent' : STAMP_FIELDS.map((k) => String(stamp[k])).join(':');
}

/**
 * EmbeddedControlPlane.stateKey of a state read from files whose identity was `identity`
 * before the read: every write changes the snapshot's or the journal's identity (rename,
 * append), and the inventory beside them is in the key too. Null without a snapshot (the
 * state is made from the opening options) and when the live state depends on the clock: with
 * `drain`, a queue with recorded activity drains over time (Q7).
 */
export async function readStateKey(identity: FilesIdentity, state: State): Promise<string | null> {
  if (state.capabilities.drain && state.activity.size > 0) return null;
  return filesStateKey(identity);
}

/**
 * readStateKey from the files alone, before any read (read-only.ts, a lazy open): equal to
 * the key of a state read from files of this identity, except that it cannot know whether that
 * state drains with time. It is compared with keys taken after a read, which can.
 */
export async function filesStateKey(identity: FilesIdentity): Promise<string | null> {
  if (!identity.hasSnapshot) return null;
  const inventory = stampKey(await fileStamp(`${identity.path}.inventory.json`));
  return `${identity.key}|${inventory}`;
}

async function fileStamp(path: string): Promise<FileStamp | null> {
  try {
    const s = await lstat(path, { bigint: true });
    return { ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
