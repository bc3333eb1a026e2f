/**
 * The two files of an embedded control plane's state (store.ts): the JSON snapshot, replaced
 * only whole (write-temp + fsync + rename + fsync of the folder), and the journal of ops after
 * it, one numbered JSON line each. Both live in the state's folder and go through the
 * safe-file layer (util/safe-file.ts): never through a link, bounded, written under an
 * exclusive unguessable temporary name. Nothing of their content is ever quoted in a message.
 */
import { dirname } from 'node:path';
import { lstat } from 'node:fs/promises';
import { readOwnFile, writeOwnFile } from '../../util/safe-file.js';
import { UserError } from '../../util/user-error.js';
import type { JournalShape } from './state-identity.js';
import { stateJsonProblem } from './state-json.js';
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

/** A snapshot or journal JS can hold as one string (V8's limit is just under 512 MiB). */
const MAX_STATE_BYTES = 500 * 1024 * 1024;

/** The state's folder: poolsync checks every file of the state in it (safe-file.ts). */
export const stateRoot = (path: string): string => dirname(path);

async function readStateText(path: string, what: string): Promise<string | null> {
  const bytes = await readOwnFile(stateRoot(path), path, { maxBytes: MAX_STATE_BYTES, what });
  return bytes === null ? null : bytes.toString('utf8');
}

/**
 * Replaces PATH whole (write-temp + fsync + rename + fsync of the folder). `data` may come in
 * parts (util/json-parts.ts): a 100,000-object state is ~30 MB of JSON, never held whole.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Iterable<string>,
): Promise<void> {
  await writeOwnFile(stateRoot(path), path, data, {
    durable: true,
    what: 'control-plane state',
  });
}

export async function readSnapshot(path: string): Promise<Snapshot | null> {
  const text = await readStateText(path, 'control-plane state');
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Never the parser's message: it quotes the text, and the file may be anything.
    throw new UserError(
      `${path} is not a poolsync control-plane state file (invalid JSON); restore it from a backup or point --state elsewhere`,
    );
  }
  const s = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Partial<Snapshot>;
  if (s.format !== FORMAT || typeof s.seq !== 'number') {
    throw new UserError(
      `${path} is not a poolsync control-plane state file (no "format": "${FORMAT}" and "seq"); restore it from a backup or point --state elsewhere`,
    );
  }
  if (s.version !== VERSION) {
    throw new UserError(
      `${path} has state format version ${typeof s.version === 'number' ? s.version : '(none)'}; this poolsync reads version ${VERSION}`,
    );
  }
  const problem = stateJsonProblem(s.state);
  if (problem !== null) {
    throw new UserError(
      `${path} is not a poolsync control-plane state file of this version: ${problem}; restore it from a backup or point --state elsewhere`,
    );
  }
  return s as Snapshot;
}

/** The snapshot was replaced, or journal lines are missing, while a reader read them. */
export class ReadRace extends Error {}

export async function snapshotIdentity(path: string): Promise<string> {
  try {
    const s = await lstat(path, { bigint: true });
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
  const text = await readStateText(path, 'control-plane journal');
  if (text === null || text === '') return { seq, lines: 0, torn: false };
  const lines = text.split('\n');
  const torn = lines[lines.length - 1] !== '';
  // The last element is "" after a final newline, or a line cut short by a crash: drop it.
  lines.pop();
  lines.forEach((line, i) => {
    let entry: JournalLine;
    try {
      entry = JSON.parse(line) as JournalLine;
    } catch {
      entry = null as unknown as JournalLine;
    }
    if (
      typeof entry?.seq !== 'number' ||
      typeof entry.op !== 'object' ||
      entry.op === null ||
      typeof entry.op.op !== 'string'
    ) {
      throw new UserError(
        `${path}:${i + 1}: the control-plane journal is corrupt (not a numbered op); restore from a backup`,
      );
    }
    if (entry.seq <= seq) return;
    if (contiguous && entry.seq !== seq + 1) throw new ReadRace();
    try {
      applyOp(state, entry.op);
    } catch (err) {
      throw new UserError(
        `${path}:${i + 1}: journaled op "${escapeName(entry.op.op)}" no longer applies: ${(err as Error).message}`,
      );
    }
    seq = entry.seq;
  });
  return { seq, lines: lines.length, torn };
}

/** An op name as written by poolsync is short and plain; anything else is not quoted. */
function escapeName(name: string): string {
  return /^[a-z_]{1,64}$/.test(name) ? name : '(not an op of poolsync)';
}
