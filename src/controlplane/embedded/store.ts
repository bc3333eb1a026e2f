/**
 * Crash-safe persistence of the embedded control plane at `file:PATH`.
 *
 * - PATH is a JSON snapshot, only ever replaced whole by write-temp + fsync + rename (+ fsync
 *   of the folder), so it is always either the old or the new snapshot, never torn.
 * - PATH.journal is an append-only log of accepted ops (one JSON line each, numbered). Each
 *   call's line is fsync'd before the call returns; concurrent calls share one write+fsync
 *   (group commit), so an apply of thousands of calls never rewrites the whole state per call
 *   (quality.md). A SIGKILL can only leave a partial *last* line: it belongs to a call that
 *   never returned, and is dropped on the next open.
 * - When the journal grows past a limit (and on open and close, once it holds `keepJournal`
 *   ops) the state is compacted into a new snapshot that records the last op number it
 *   contains; journal lines at or below that number are skipped on replay, so a crash between
 *   the rename and the journal truncation replays nothing twice. The limit is the state's
 *   size: `compactAfter` ops, or as many ops as the state holds objects now. A reader so
 *   replays at most one line per object it builds (beyond `compactAfter`), and a snapshot the
 *   limit makes, of S objects, follows at least S ops: at most one object written per op. Every
 *   create adds an object, so creates from empty never reach it: an apply of 100,000 writes
 *   one snapshot, at close (126,000 objects; 4 of 246,000 when the limit was the last
 *   snapshot's size, 5 of 300,000 at every 20,000 ops; issue 79).
 * - PATH.lock holds the pid of the single writer (util/lock-file.ts). A lock whose holder no
 *   longer runs is taken over (by one process only, when several try at once); a live one is
 *   a clear error naming the holder.
 * - A reader (`readStateOnce`, for `plan` and `export`) takes no lock and writes nothing: it
 *   reads the snapshot, then the journal lines after it. A writer compacting in between would
 *   leave a gap in the op numbers (or replace the snapshot): the reader notices and reads again.
 */
import { jsonParts } from '../../util/json-parts.js';
import { type FileHandle, lstat, readdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import {
  exists,
  openOwnAppend,
  ownFolders,
  removeMadeFolder,
  removeOwnFile,
  writeOwnFile,
  writeTextParts,
} from '../../util/safe-file.js';
import { readStateBytes } from '../../util/state-file.js';
import { refuseTrackedFiles } from '../../util/tracked.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../util/backoff.js';
import { UserError } from '../../util/user-error.js';
import { NewerFormatError, refuseNewer } from '../../util/format-version.js';
import { packageVersion } from '../../util/package-version.js';
import { acquireLockFile, type HeldLockFile } from '../../util/lock-file.js';
import {
  applyOp,
  isOpName,
  journaledOpProblem,
  type Op,
  type State,
  stateFromJson,
  type StateJson,
  stateJsonProblem,
  stateToJson,
} from './state.js';
import type { Capabilities, PoolContract } from '../../model/common.js';

type StoreOptions = Pick<EmbeddedOptions, 'compactAfter' | 'keepJournal' | 'stateCache'>;

const KEEP_JOURNAL = 1_000;
const COMPACT_AFTER = 20_000;

export class StateStore {
  private journalOps = 0;
  /** Journal lines not yet written (each then its newline), and the promise their calls wait on. */
  private pending: string[] = [];
  private batch: Batch | null = null;
  /** Where a batch's lines are encoded to be written (one write at a time: drain); on first use. */
  private encoded: Buffer | null = null;
  private draining: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;
  /** The op number after open: a session that journaled nothing leaves the files as they are. */
  private openedAt = 0;

  private constructor(
    readonly path: string,
    private readonly journal: FileHandle,
    private readonly lock: HeldLockFile,
    /** Null once closed: the control plane keeps its store, not the state (close below). */
    private state: State | null,
    /** The number of the last op the state holds. */
    private seq: number,
    private readonly opts: StoreOptions,
  ) {}

  /** Opens (creating when absent) the state at `path`; `init` makes the first state (P1). */
  static async open(
    path: string,
    init: () => State,
    opts: StoreOptions = {},
  ): Promise<{ store: StateStore; state: State }> {
    await checkStateFiles(path, true);
    const lock = await lockState(path);
    try {
      // Under the lock nobody else writes: files identical to a state this process read (or
      // left) hold exactly that state.
      const identity = await stateFilesIdentity(path);
      const read = opts.stateCache?.take(identity) ?? (await readFiles(path, init));
      const { state, journal: journaled } = read;
      const journal = await openOwnAppend(
        stateRoot(path),
        `${path}.journal`,
        'control-plane journal',
      );
      const keep = opts.keepJournal ?? KEEP_JOURNAL;
      const store = new StateStore(path, journal, lock, state, read.seq, opts);
      store.journalOps = journaled.lines;
      // A torn last line (a call that never returned) must go before anything is appended after
      // it; a missing snapshot is written now; a long journal is folded into a new snapshot.
      if (!identity.hasSnapshot || journaled.torn || journaled.lines >= keep) await store.compact();
      store.openedAt = store.seq;
      return { store, state };
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** Journals an op that was just applied to the state; resolves once it is durable. */
  append(op: Op): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('control-plane state store is closed'));
    this.seq += 1;
    // The line and its newline as two parts: one string made of both is copied again to be
    // written (V8 flattens it); writeTextParts encodes each as it is.
    this.pending.push(JSON.stringify({ seq: this.seq, op } satisfies JournalLine), '\n');
    // The calls of one write+fsync share one promise: 100,000 creates made 100,000 (issue 79).
    const batch = (this.batch ??= newBatch());
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
    return batch.done;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const lines = this.pending;
      const batch = this.batch!;
      this.pending = [];
      this.batch = null;
      try {
        if (this.failure) throw this.failure;
        await writeTextParts(this.journal, lines, (this.encoded ??= Buffer.allocUnsafe(1 << 18)));
        await this.journal.datasync();
        this.journalOps += lines.length / 2;
        const limit = Math.max(this.opts.compactAfter ?? COMPACT_AFTER, objectsIn(this.state!));
        if (this.journalOps >= limit) await this.compact();
        batch.resolve();
      } catch (err) {
        // The in-memory state now holds ops that may not be durable: refuse all further writes.
        this.failure ??= new Error(
          `cannot write control-plane state ${this.path}: ${(err as Error).message}`,
        );
        batch.reject(this.failure);
      }
    }
  }

  /**
   * Writes the whole state as a new snapshot, then empties the journal. The snapshot may hold
   * ops still queued for the journal (they carry numbers <= its seq and are skipped on replay).
   */
  private async compact(): Promise<void> {
    const snapshot: Snapshot = {
      format: FORMAT,
      version: VERSION,
      seq: this.seq,
      state: stateToJson(this.state!),
    };
    await writeFileAtomic(this.path, jsonLine(snapshot));
    await this.journal.truncate(0);
    await this.journal.datasync();
    this.journalOps = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.draining) await this.draining;
    try {
      try {
        if (
          !this.failure &&
          this.seq !== this.openedAt &&
          this.journalOps >= (this.opts.keepJournal ?? KEEP_JOURNAL)
        )
          await this.compact();
      } finally {
        await this.journal.close();
      }
      // Still under the lock: the files are exactly this state.
      const cache = this.opts.stateCache;
      if (cache && this.failure) cache.forget(this.path);
      else if (cache) {
        const identity = await stateFilesIdentity(this.path);
        const journal = { lines: this.journalOps, torn: false };
        cache.keep(identity, { state: this.state!, seq: this.seq, journal });
      }
    } finally {
      // The closed control plane still holds its store: the state (~45 MB at 100,000 objects)
      // goes now, before apply writes its records (ops/apply-run.ts, issue 63).
      this.state = null;
      await this.lock.release();
    }
  }
}

/**
 * The state at `path` as of now, read as the header says (a missing file is the state `init`
 * makes, in memory only). With a cache, files unchanged since it last saw them give the same
 * state object, shared with other readers (StateCachePort): the caller never changes it, and
 * calls `release` when done.
 */
async function readStateOnce(
  path: string,
  init: () => State,
  cache?: EmbeddedStateCache,
): Promise<{ state: State; release: () => void }> {
  await checkStateFiles(path);
  for (let attempt = 0; ; attempt++) {
    // Of the files before the read: the state read is that one or a later one.
    const identity = await stateFilesIdentity(path);
    const held = cache?.hold(identity);
    if (held) return { state: held.value.state, release: held.release };
    const before = await fileStamp(path);
    try {
      const read = await readFiles(path, init, true);
      if ((await fileStamp(path)) !== before) throw new ReadRace();
      // Kept for the next reader only when nothing moved while it was read.
      if (cache && (await stateFilesIdentity(path)).key === identity.key) {
        cache.keep(identity, read);
        const kept = cache.hold(identity);
        if (kept) return { state: kept.value.state, release: kept.release };
      }
      return { state: read.state, release: () => undefined };
    } catch (err) {
      if (!(err instanceof ReadRace)) throw err;
      // Nothing moved since the read began: the gap is in the files, not a compaction's.
      if ((await stateFilesIdentity(path)).key === identity.key)
        throw new UserError(`${err.message}; restore from a backup`);
      if (attempt >= 200) {
        throw new UserError(
          `control-plane state ${path} kept changing while it was read (a writer is compacting it); try again`,
        );
      }
      // Compactions are rare (every 20,000 ops by default): a jittered pause lets the reader
      // land between two compactions of a busy writer.
      await sleep(backoffDelay(attempt + 1, 2, 100));
    }
  }
}

/**
 * Before a read or a writer's open (`create`: making the folders): the state's folders are real
 * folders it may enter, and Git tracks none of its files.
 */
export async function checkStateFiles(path: string, create = false): Promise<void> {
  await ownFolders(stateRoot(path), path, create);
  if ((await lstat(path).catch(() => null))?.isDirectory()) throw await stateFolderNamed(path);
  const files = [path, `${path}.journal`, `${path}.lock`, `${path}.apply.lock`];
  await refuseTrackedFiles(stateRoot(path), files, 'control-plane state');
}

/** Another state, as each command names one (serve and capabilities alone take --state). */
const ANOTHER_STATE =
  'name another state (--control-plane file:PATH; control-plane serve and capabilities: --state FILE)';

/** A state path that is a folder (`file:.poolsync`): the state files it holds, to name one. */
async function stateFolderNamed(path: string): Promise<UserError> {
  const names = new Set(await readdir(path).catch(() => []));
  const states = [...names].filter((n) => names.has(`${n}.journal`)).sort();
  const below = relative(process.cwd(), path);
  const shown = below === '' || below.startsWith('..') || isAbsolute(below) ? path : below;
  const example = join(shown, states[0] ?? 'control-plane.json');
  const held = states.length > 0 ? `; it holds ${states.join(', ')}` : '';
  return new UserError(
    `control-plane state ${path} is a folder, not a state file: name the state file in it, e.g. --control-plane file:${example} (control-plane serve: --state ${example})${held}`,
  );
}

/**
 * Taken before a command (a server's or the daemon's start, an apply) opens the state at `path`:
 * what removes that state, the `records` written beside it and the folder made for it, when the
 * command fails after making it and no call wrote to it. A refused start (a port in use) or a
 * declined apply must leave no state whose capabilities refuse the corrected one. Called once
 * the command let go of its own locks: a lock file left in the folder keeps it.
 */
export async function newStateUndo(
  path: string,
  records: string[] = [],
): Promise<() => Promise<void>> {
  if ((await exists(path)) || (await exists(`${path}.journal`))) return async () => {};
  const folderMade = !(await exists(stateRoot(path)));
  return async () => {
    await removeUnwritten(path, records).catch(() => undefined);
    if (folderMade) await removeMadeFolder(stateRoot(path));
  };
}

/** Under the state's lock, so a state another process opened meanwhile stays as it is. */
async function removeUnwritten(path: string, records: string[]): Promise<void> {
  if (!(await exists(path))) return;
  const lock = await lockState(path);
  try {
    const journal = await lstat(`${path}.journal`).catch(() => null);
    if ((await readSnapshot(path))?.seq !== 0 || (journal?.size ?? 0) > 0) return;
    for (const file of [...records, `${path}.journal`, path])
      await removeOwnFile(stateRoot(path), file, 'new control-plane state file');
  } finally {
    await lock.release();
  }
}

/** The state file is open for writing in another process (apply --lock-timeout waits on it). */
export class StateInUseError extends UserError {}

function lockState(statePath: string): Promise<HeldLockFile> {
  const lockPath = `${statePath}.lock`;
  return acquireLockFile(lockPath, {
    root: stateRoot(statePath),
    mode: 0o600,
    // Locks of earlier versions were written in place, so one can be empty for a moment;
    // only one that stays unreadable for a while is stale.
    unreadableStaleAfterMs: 2_000,
    refuse(r) {
      switch (r.kind) {
        case 'this-process':
          return new UserError(
            `control-plane state ${statePath} is already open in this process; close it first`,
          );
        case 'held':
          return new StateInUseError(
            // `control-plane serve` holds it for as long as it runs: its URL is the way in.
            `control-plane state ${statePath} is in use by process ${r.holder.pid} on ${r.holder.host} (lock ${basename(lockPath)} since ${r.holder.since}). If that process is \`poolsync control-plane serve\`, pass the URL it serves as --control-plane, as its applies do; else stop it or use another state file (if no poolsync process has it open, delete ${lockPath})`,
          );
        case 'unreadable':
          return new UserError(
            `cannot lock control-plane state ${statePath}: ${lockPath} is unreadable; remove it if no poolsync process is running`,
          );
      }
    },
  });
}

/** What the calls whose lines are written together wait on. */
interface Batch {
  done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newBatch(): Batch {
  const batch = {} as Batch;
  batch.done = new Promise<void>((resolve, reject) => Object.assign(batch, { resolve, reject }));
  return batch;
}

/** The objects a state's snapshot would list, in O(1): what a journal's length is measured against. */
function objectsIn(state: State): number {
  let n = 0;
  for (const part of Object.values(state)) if (part instanceof Map) n += part.size;
  return n;
}

function* jsonLine(value: unknown): Generator<string> {
  yield* jsonParts(value, 3);
  yield '\n';
}

/**
 * Both files go through the safe-file layer (util/safe-file.ts): never through a link, bounded,
 * written under an exclusive unguessable temporary name. Nothing of their content is ever
 * quoted in a message.
 */
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

/** Refused, saying so, when parsing it would not fit the heap (util/state-file.ts), not a V8 abort. */
async function readStateText(path: string, what: string): Promise<string | null> {
  const bytes = await readStateBytes(stateRoot(path), path, { maxBytes: MAX_STATE_BYTES, what });
  return bytes === null ? null : bytes.toString('utf8');
}

/**
 * Replaces PATH whole (write-temp + fsync + rename + fsync of the folder). `data` may come in
 * parts (util/json-parts.ts): a 100,000-object state is ~30 MB of JSON, never held whole (a
 * snapshot is written while apply's plan is still in memory).
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
      `${path} is not a poolsync control-plane state file (invalid JSON); restore it from a backup, or ${ANOTHER_STATE}`,
    );
  }
  const s = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Partial<Snapshot>;
  if (s.format !== FORMAT || typeof s.seq !== 'number') {
    throw new UserError(
      `${path} is not a poolsync control-plane state file (no "format": "${FORMAT}" and "seq"); restore it from a backup, or ${ANOTHER_STATE}`,
    );
  }
  refuseNewer(path, s.version, VERSION);
  if (s.version !== VERSION) {
    throw new UserError(
      `${path} has state format version ${typeof s.version === 'number' ? s.version : '(none)'}; this poolsync reads version ${VERSION}`,
    );
  }
  const problem = stateJsonProblem(s.state);
  if (problem !== null) {
    throw new UserError(
      `${path} is not a poolsync control-plane state file of this version: ${problem}; restore it from a backup, or ${ANOTHER_STATE}`,
    );
  }
  return s as Snapshot;
}

/** The state in the files at `path` (no snapshot: `init`'s); `contiguous`: as replayJournal. */
async function readFiles(path: string, init: () => State, contiguous = false): Promise<StateRead> {
  const snapshot = await readSnapshot(path);
  const state = snapshot ? stateFromJson(snapshot.state) : init();
  const at = snapshot?.seq ?? 0;
  const { seq, ...journal } = await replayJournal(`${path}.journal`, state, at, contiguous);
  return { state, seq, journal };
}

/** The snapshot was replaced, or journal lines are missing, while a reader read them. */
export class ReadRace extends Error {}

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
    if (contiguous && entry.seq !== seq + 1)
      throw new ReadRace(
        `${path}:${i + 1}: the control-plane journal is corrupt (op ${entry.seq} follows op ${seq}: ops are missing)`,
      );
    // The journal is of its snapshot's format: an op this build does not know is a newer one's.
    if (!isOpName(entry.op.op)) {
      throw new NewerFormatError(
        `${path}:${i + 1}: op "${escapeName(entry.op.op)}" is of a format after ${VERSION}, written by a newer poolsync; this poolsync (${packageVersion()}) reads format ${VERSION}: upgrade poolsync`,
      );
    }
    // An op journaled before a field existed carries none: it takes its default, as a snapshot's.
    const problem = journaledOpProblem(entry.op);
    if (problem !== null) {
      throw new UserError(
        `${path}:${i + 1}: the control-plane journal is corrupt (${problem}); restore from a backup`,
      );
    }
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

/** What the journal held when the state was read: whole lines, and whether a torn one followed. */
export interface JournalShape {
  lines: number;
  torn: boolean;
}

/**
 * What identifies the state at `file:PATH` without reading it, the key of a state cache
 * (EmbeddedOptions.stateCache): the snapshot's and the journal's inode, size, mtime and ctime
 * (nanoseconds). A writer replaces the snapshot by rename (a new inode) and only ever appends to
 * the journal or truncates it (size, mtime), and nothing can set a file's ctime back; so a file
 * that was written since never has the same identity.
 */
export interface FilesIdentity {
  /** The snapshot's path (absolute: embeddedStatePath resolves it). */
  path: string;
  /** Equal keys, equal files (the path included): the path, then each file's stamp. */
  key: string;
  hasSnapshot: boolean;
}

export async function stateFilesIdentity(path: string): Promise<FilesIdentity> {
  const snapshot = await fileStamp(path);
  const key = [path, snapshot, await fileStamp(`${path}.journal`)].join('|');
  return { path, key, hasSnapshot: snapshot !== ABSENT };
}

const ABSENT = 'absent';

/** One file's part of FilesIdentity; ABSENT when there is none. */
async function fileStamp(path: string): Promise<string> {
  try {
    const s = await lstat(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ABSENT;
    throw err;
  }
}

/** The state of a `file:` control plane opened read-only (plan, export, the daemon). */
type ReadOnlyOptions = Pick<EmbeddedOptions, 'stateCache' | 'lazy'> & {
  /** Throws when the state read cannot be used (capabilities other than asked for). */
  accept: (state: State) => void;
};

export class ReadOnlyState {
  private reading: Promise<State> | null = null;
  /** Lets go of the state read (shared through the cache), once read. */
  private releaseRead: (() => void) | null = null;
  private released = false;

  private constructor(
    readonly path: string,
    private readonly init: () => State,
    private readonly opts: ReadOnlyOptions,
  ) {}

  /** Checked at open either way (folders, Git): errors come where they came before. */
  static async open(
    path: string,
    init: () => State,
    opts: ReadOnlyOptions,
  ): Promise<ReadOnlyState> {
    const reader = new ReadOnlyState(path, init, opts);
    if (opts.lazy) await checkStateFiles(path);
    else await reader.state();
    return reader;
  }

  state(): Promise<State> {
    return (this.reading ??= this.read());
  }

  release(): void {
    this.released = true;
    this.releaseRead?.();
    // A closed control plane stays referenced while its plan is made (plan-run.ts keeps its
    // reader in scope): the state read does not stay with it (~20 MB of a 100,000-object plan's
    // peak RSS). A failed read is settled too.
    this.reading &&= this.reading.then(this.init, this.init);
  }

  private async read(): Promise<State> {
    const { state, release } = await readStateOnce(this.path, this.init, this.opts.stateCache);
    try {
      this.opts.accept(state);
    } catch (err) {
      release();
      throw err;
    }
    this.releaseRead = release;
    if (this.released) release();
    return state;
  }
}

/** How an embedded control plane is opened (EmbeddedControlPlane.open) and simulated. */
export interface EmbeddedOptions {
  /** Where the state is persisted; null keeps it in memory (tests). */
  path: string | null;
  /** P1: the `default` pool's contract when the state is first created. */
  defaultPoolContract?: PoolContract;
  /** Clock for Q7 activity and the apply lock's lease (tests). */
  now?: () => number;
  /** Compact once the journal holds this many ops (default 20,000) or the state's objects, if more. */
  compactAfter?: number | undefined;
  /**
   * Opening and closing compact only a journal of at least this many ops (default 1,000): a
   * session that wrote a few (a daemon applying one change) leaves them journaled rather than
   * rewriting the whole snapshot, which costs the whole state's JSON and two fsyncs.
   */
  keepJournal?: number | undefined;
  /**
   * Opened again and again (the daemon): the process's cache of states read or left by a writer
   * (src/incremental/state-cache.ts), so unchanged files are not read again and reads share
   * frozen objects.
   */
  stateCache?: EmbeddedStateCache;
  /** Stored with a new state; for an existing state a different value is refused. */
  capabilities?: Capabilities;
  /** Stored with a new state when `capabilities` is not given; an existing state keeps its own. */
  newStateCapabilities?: Capabilities;
  /**
   * Read the state as it is now, without the writer lock and without writing anything (plan,
   * export); every write is refused. A missing state file reads as a new organisation (P1).
   */
  readOnly?: boolean;
  /** With readOnly: read on first use (`plan` of an invalid repository never reads it). */
  lazy?: boolean;
}

export interface QueueActivity {
  runs_in_flight: number;
  actions_in_flight: number;
  /** The in-flight counts fall linearly to 0 over this many ms. */
  finish_over_ms?: number;
}

/** A state as read from (or left in) its files: what a state cache keeps per state file. */
export interface StateRead {
  state: State;
  seq: number;
  journal: JournalShape;
}

/**
 * A cache of the last value read from each state file, matched by FilesIdentity. The embedded
 * control plane keeps none of its own; a long-running process passes one in.
 *
 * Readers share a value and never change it. A writer (holding the state's lock) may take the
 * value over instead of reading the files, only when no reader holds it: a reader must never
 * see a writer's writes before they are durable. After closing, still under its lock, the
 * writer gives its state back with the identity of the files it left; a writer that failed
 * forgets it (its state may hold ops that never became durable).
 */
export interface StateCachePort<V> {
  /** For a reader: the value of files of this identity, held until `release`; else null. */
  hold(files: FilesIdentity): { value: V; release: () => void } | null;
  /** Keeps the value read (or left by a writer) from files of this identity. */
  keep(files: FilesIdentity, value: V): void;
  /** For a writer under its lock: the value of files of this identity, removed; null when none or held. */
  take(files: FilesIdentity): V | null;
  /** Drops what is kept for the state at `path`. */
  forget(path: string): void;
}

export type EmbeddedStateCache = StateCachePort<StateRead>;
