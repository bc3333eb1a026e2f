/**
 * The two files of an embedded control plane's state (store.ts): the JSON snapshot, replaced
 * only whole (write-temp + fsync + rename + fsync of the folder), and the journal of ops after
 * it, one numbered JSON line each.
 */
import { batches } from '../../util/batched-lines.js';
import { open, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../../util/user-error.js';
import type { JournalShape } from './state-cache.js';
import { applyOp, type Op, type State, type StateJson } from './state.js';

export const FORMAT = 'poolsync-control-plane';
export const VERSION = 1;

export interface Snapshot {
  format: typeof FORMAT;
  version: typeof VERSION;
  /** Number of the last journaled op this snapshot contains. */
  seq: number;
  state: StateJson;
}

export interface JournalLine {
  seq: number;
  op: Op;
}

/**
 * Replaces PATH whole (write-temp + fsync + rename + fsync of the folder). `data` may come in
 * parts (util/json-parts.ts): a 100,000-object state is ~30 MB of JSON, never held whole.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Iterable<string>,
): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    if (typeof data === 'string') await fh.writeFile(data);
    else for (const batch of batches(data)) await fh.write(batch);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  // The rename itself is durable only once the folder is synced.
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export async function readSnapshot(path: string): Promise<Snapshot | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UserError(
      `${path} is not a poolsync control-plane state file (invalid JSON: ${(err as Error).message}); restore it from a backup or point --state elsewhere`,
    );
  }
  const s = parsed as Partial<Snapshot>;
  if (
    s.format !== FORMAT ||
    typeof s.seq !== 'number' ||
    typeof s.state !== 'object' ||
    s.state === null
  ) {
    throw new UserError(
      `${path} is not a poolsync control-plane state file (format "${String(s.format)}")`,
    );
  }
  if (s.version !== VERSION) {
    throw new UserError(
      `${path} has state format version ${String(s.version)}; this poolsync reads version ${VERSION}`,
    );
  }
  return s as Snapshot;
}

/** The snapshot was replaced, or journal lines are missing, while a reader read them. */
export class ReadRace extends Error {}

export async function snapshotIdentity(path: string): Promise<string> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.ino}:${s.mtimeNs}:${s.size}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
}

/**
 * Applies journal lines newer than `seq`; returns the last op number and how many lines the
 * journal held (a torn last one included). `contiguous` (readers) insists on op numbers seq+1,
 * seq+2, …: a gap means a writer compacted while we read.
 */
export async function replayJournal(
  path: string,
  state: State,
  seq: number,
  contiguous = false,
): Promise<{ seq: number } & JournalShape> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { seq, lines: 0, torn: false };
    throw err;
  }
  if (text === '') return { seq, lines: 0, torn: false };
  const lines = text.split('\n');
  const torn = lines[lines.length - 1] !== '';
  // The last element is "" after a final newline, or a line cut short by a crash: drop it.
  lines.pop();
  lines.forEach((line, i) => {
    let entry: JournalLine;
    try {
      entry = JSON.parse(line) as JournalLine;
    } catch {
      throw new UserError(
        `${path}:${i + 1}: the control-plane journal is corrupt (not JSON); restore from a backup`,
      );
    }
    if (entry.seq <= seq) return;
    if (contiguous && entry.seq !== seq + 1) throw new ReadRace();
    try {
      applyOp(state, entry.op);
    } catch (err) {
      throw new UserError(
        `${path}:${i + 1}: journaled op "${entry.op.op}" no longer applies: ${(err as Error).message}`,
      );
    }
    seq = entry.seq;
  });
  return { seq, lines: lines.length, torn };
}
