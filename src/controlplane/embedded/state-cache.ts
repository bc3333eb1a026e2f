/**
 * The last state read from a state file, kept while the files are unchanged. A long-running
 * process (the daemon) opens its `file:` control plane for every run; parsing the snapshot of
 * 10,000 objects and replaying the journal each time cost ~40 ms and ~30 MB of garbage per run,
 * for a state that had not changed.
 *
 * Unchanged means: the snapshot and the journal have the same inode, size, mtime and ctime
 * (nanoseconds) as when the state was read. A writer replaces the snapshot by rename (a new
 * inode) and only ever appends to the journal or truncates it (size, mtime), and nothing can
 * set a file's ctime back; so a file that was written since never matches.
 *
 * Readers share the cached state (they never write to it). A writer may take it over instead
 * of reading the files again, when no reader holds it (a reader must never see another's
 * writes before they are durable); after closing, under its lock, it gives the state back
 * with the identity of the files it left.
 */
import { lstat } from 'node:fs/promises';
import type { State } from './state.js';

/** What the journal held when the state was read: whole lines, and whether a torn one followed. */
export interface JournalShape {
  lines: number;
  torn: boolean;
}

interface Entry {
  identity: string;
  state: State;
  /** The number of the last op the state contains (store.ts). */
  seq: number;
  journal: JournalShape;
  /** Read-only control planes open on this state. */
  readers: number;
}

/** A few state files per process (tests open many; a daemon one). */
const MAX_ENTRIES = 4;
const entries = new Map<string, Entry>();

export interface FilesIdentity {
  /** Equal keys, equal files. */
  key: string;
  hasSnapshot: boolean;
  /** The journal is absent or empty: the snapshot holds the whole state. */
  journalEmpty: boolean;
}

/** The identity of the snapshot at `path` and of its journal. */
export async function stateFilesIdentity(path: string): Promise<FilesIdentity> {
  const snapshot = await fileIdentity(path);
  const journal = await fileIdentity(`${path}.journal`);
  return {
    key: `${snapshot?.key ?? 'absent'}|${journal?.key ?? 'absent'}`,
    hasSnapshot: snapshot !== null,
    journalEmpty: journal === null || journal.size === 0n,
  };
}

/**
 * ControlPlane.stateKey of a state read from files whose identity was `identity` before the
 * read: every write changes the snapshot's or the journal's identity (rename, append), and
 * the inventory beside them is in the key too. Null without a snapshot (the state is made
 * from the opening options) and when the live state depends on the clock: with `drain`, a
 * queue with recorded activity drains over time (Q7).
 */
export async function readStateKey(
  path: string,
  identity: FilesIdentity,
  state: State,
): Promise<string | null> {
  if (state.capabilities.drain && state.activity.size > 0) return null;
  return filesStateKey(path, identity);
}

/**
 * readStateKey from the files alone, before any read (read-only.ts, a lazy open): equal to
 * the key of a state read from files of this identity, except that it cannot know whether that
 * state drains with time. It is compared with keys taken after a read, which can.
 */
export async function filesStateKey(path: string, identity: FilesIdentity): Promise<string | null> {
  if (!identity.hasSnapshot) return null;
  const inventory = (await fileIdentity(`${path}.inventory.json`))?.key ?? 'absent';
  return `${path}|${identity.key}|${inventory}`;
}

async function fileIdentity(path: string): Promise<{ key: string; size: bigint } | null> {
  try {
    const s = await lstat(path, { bigint: true });
    return { key: `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, size: s.size };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The state read from files of this identity, held for reading until `release` is called. */
export function holdCachedState(
  path: string,
  identity: FilesIdentity,
): { state: State; release: () => void } | null {
  const e = entries.get(path);
  if (e === undefined || e.identity !== identity.key) return null;
  return { state: e.state, release: holder(e) };
}

function holder(e: Entry): () => void {
  e.readers++;
  let released = false;
  return () => {
    if (!released) e.readers--;
    released = true;
  };
}

/** Remembers a state read (or left by a writer) from files of this identity. */
export function rememberState(
  path: string,
  identity: FilesIdentity,
  state: State,
  seq: number,
  journal: JournalShape,
): void {
  entries.delete(path);
  entries.set(path, { identity: identity.key, state, seq, journal, readers: 0 });
  for (const key of entries.keys()) {
    if (entries.size <= MAX_ENTRIES) break;
    entries.delete(key);
  }
}

/**
 * For a writer holding the lock: the cached state of files of this identity, removed from the
 * cache (the writer changes it), or null when there is none or a reader still holds it.
 */
export function takeCachedState(
  path: string,
  identity: FilesIdentity,
): { state: State; seq: number; journal: JournalShape } | null {
  const e = entries.get(path);
  if (e === undefined || e.identity !== identity.key || e.readers > 0) return null;
  entries.delete(path);
  return { state: e.state, seq: e.seq, journal: e.journal };
}

/** Forgets the state of `path` (a writer that failed: its state may hold ops never made durable). */
export function forgetCachedState(path: string): void {
  entries.delete(path);
}
