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
 *   the rename and the journal truncation replays nothing twice.
 * - PATH.lock holds the pid of the single writer (util/lock-file.ts). A lock whose holder no
 *   longer runs is taken over (by one process only, when several try at once); a live one is
 *   a clear error naming the holder.
 * - A reader (`readStateOnce`, for `plan` and `export`) takes no lock and writes nothing: it
 *   reads the snapshot, then the journal lines after it. A writer compacting in between would
 *   leave a gap in the op numbers (or replace the snapshot): the reader notices and reads again.
 */
import { jsonParts } from '../../util/json-parts.js';
import { type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { openOwnAppend, ownFolders } from '../../util/safe-file.js';
import { refuseTrackedFiles } from '../../util/tracked.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../util/backoff.js';
import { UserError } from '../../util/user-error.js';
import { acquireLockFile, type HeldLockFile } from '../../util/lock-file.js';
import type { EmbeddedStateCache, StateRead } from './options.js';
import { readStateKey, stateFilesIdentity, type JournalShape } from './state-identity.js';
import { stateFromJson, stateToJson, type Op, type State } from './state.js';
import {
  FORMAT,
  ReadRace,
  VERSION,
  readSnapshot,
  replayJournal,
  snapshotIdentity,
  stateRoot,
  writeFileAtomic,
  type JournalLine,
  type Snapshot,
} from './state-files.js';

export interface StoreOptions {
  /** Compact once the journal holds this many ops (default 20,000). */
  compactAfter?: number;
  /**
   * Opening and closing compact only a journal of at least this many ops (default 1,000): a
   * session that wrote a few (a daemon applying one change) leaves them journaled rather than
   * rewriting the whole snapshot, which costs the whole state's JSON and two fsyncs.
   */
  keepJournal?: number;
  /** Take the state from, and give it back to, this state cache (EmbeddedOptions.stateCache). */
  cache?: EmbeddedStateCache;
}

const KEEP_JOURNAL = 1_000;

export class StateStore {
  private seq: number;
  private journalOps = 0;
  private pending: { line: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private draining: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;
  /** The op number after open: a session that journaled nothing leaves the files as they are. */
  private openedAt = 0;

  private constructor(
    readonly path: string,
    private readonly journal: FileHandle,
    private readonly lock: HeldLockFile,
    private readonly state: State,
    seq: number,
    private readonly opts: Required<Omit<StoreOptions, 'cache'>> & Pick<StoreOptions, 'cache'>,
  ) {
    this.seq = seq;
  }

  /** Opens (creating when absent) the state at `path`; `init` makes the first state (P1). */
  static async open(
    path: string,
    init: () => State,
    opts: StoreOptions = {},
  ): Promise<{ store: StateStore; state: State }> {
    await ownFolders(stateRoot(path), path, true);
    await refuseStateFromGit(path);
    const lock = await lockState(path);
    try {
      // Under the lock nobody else writes: files identical to a state this process read (or
      // left) hold exactly that state (state-identity.ts).
      const identity = await stateFilesIdentity(path);
      const cached = opts.cache?.take(identity) ?? null;
      let state: State;
      let seq: number;
      let journaled: JournalShape;
      if (cached) ({ state, seq, journal: journaled } = cached);
      else {
        const snapshot = await readSnapshot(path);
        state = snapshot ? stateFromJson(snapshot.state) : init();
        ({ seq, ...journaled } = await replayJournal(`${path}.journal`, state, snapshot?.seq ?? 0));
      }
      const journal = await openOwnAppend(
        stateRoot(path),
        `${path}.journal`,
        'control-plane journal',
      );
      const keep = opts.keepJournal ?? KEEP_JOURNAL;
      const store = new StateStore(path, journal, lock, state, seq, {
        compactAfter: opts.compactAfter ?? 20_000,
        keepJournal: keep,
        ...(opts.cache ? { cache: opts.cache } : {}),
      });
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
    const line = `${JSON.stringify({ seq: this.seq, op } satisfies JournalLine)}\n`;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      this.draining ??= this.drain().finally(() => {
        this.draining = null;
      });
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      try {
        if (this.failure) throw this.failure;
        await this.journal.write(batch.map((p) => p.line).join(''));
        await this.journal.datasync();
        this.journalOps += batch.length;
        if (this.journalOps >= this.opts.compactAfter) await this.compact();
        for (const p of batch) p.resolve();
      } catch (err) {
        // The in-memory state now holds ops that may not be durable: refuse all further writes.
        this.failure ??= new Error(
          `cannot write control-plane state ${this.path}: ${(err as Error).message}`,
        );
        for (const p of batch) p.reject(this.failure);
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
      state: stateToJson(this.state),
    };
    // In parts: at 100,000 objects the snapshot is ~30 MB of JSON, written while apply's plan
    // is still in memory.
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
        if (!this.failure && this.seq !== this.openedAt && this.journalOps >= this.opts.keepJournal)
          await this.compact();
      } finally {
        await this.journal.close();
      }
      // Still under the lock: the files are exactly this state.
      const cache = this.opts.cache;
      if (cache && this.failure) cache.forget(this.path);
      else if (cache) {
        const identity = await stateFilesIdentity(this.path);
        const journal = { lines: this.journalOps, torn: false };
        cache.keep(identity, { state: this.state, seq: this.seq, journal });
      }
    } finally {
      await this.lock.release();
    }
  }
}

/**
 * The state at `path` as of now, read without the writer lock and without writing anything
 * (a missing file is the state `init` makes, in memory only). Retries when a writer compacts
 * at the same moment, with a jittered pause; after several tries it gives up with a message.
 * With a cache, files unchanged since it last saw them give the same state object, shared with
 * other readers (StateCachePort): the caller never changes it, and calls `release` when done.
 */
export interface HeldRead {
  state: State;
  release: () => void;
  /** EmbeddedControlPlane.stateKey of this read (state-identity.ts readStateKey). */
  stateKey: () => Promise<string | null>;
}

export async function readStateOnce(
  path: string,
  init: () => State,
  cache?: EmbeddedStateCache,
): Promise<HeldRead> {
  await checkStateFiles(path);
  for (let attempt = 0; ; attempt++) {
    const identity = await stateFilesIdentity(path);
    // `identity` is of the files before the read: the state read is that one or a later one.
    const stateKey = (state: State) => () => readStateKey(identity, state);
    const held = cache?.hold(identity);
    if (held) return heldRead(held, stateKey(held.value.state));
    const before = await snapshotIdentity(path);
    const snapshot = await readSnapshot(path);
    const state = snapshot ? stateFromJson(snapshot.state) : init();
    try {
      const { seq, ...journal } = await replayJournal(
        `${path}.journal`,
        state,
        snapshot?.seq ?? 0,
        true,
      );
      if ((await snapshotIdentity(path)) !== before) throw new ReadRace();
      // Kept for the next reader only when nothing moved while it was read.
      if (!cache || (await stateFilesIdentity(path)).key !== identity.key)
        return { state, release: () => undefined, stateKey: stateKey(state) };
      cache.keep(identity, { state, seq, journal });
      const kept = cache.hold(identity);
      if (kept) return heldRead(kept, stateKey(kept.value.state));
      return { state, release: () => undefined, stateKey: stateKey(state) };
    } catch (err) {
      if (!(err instanceof ReadRace)) throw err;
      // Compactions are rare (every 20,000 ops by default); back off a little and read again.
      await new Promise((r) => setTimeout(r, Math.min(50, 1 + attempt * 2)));
      if (attempt >= 200) {
        throw new UserError(
          `control-plane state ${path} kept changing while it was read (a writer is compacting it); try again`,
        );
      }
      // A jittered pause lets the reader land between two compactions of a busy writer.
      await sleep(backoffDelay(attempt + 1, 2, 100));
    }
  }
}

function heldRead(
  held: { value: StateRead; release: () => void },
  stateKey: () => Promise<string | null>,
): HeldRead {
  return { state: held.value.state, release: held.release, stateKey };
}

/**
 * What a reader checks before it reads (read-only.ts does it at open, before a lazy read): the
 * state's folders are real folders it may enter, and Git tracks none of its files.
 */
export async function checkStateFiles(path: string): Promise<void> {
  await ownFolders(stateRoot(path), path, false);
  await refuseStateFromGit(path);
}

/** The state file is open for writing in another process (apply --lock-timeout waits on it). */
export class StateInUseError extends UserError {}
/** The state's files, when Git tracks one of them (util/tracked.ts). */
function refuseStateFromGit(path: string): Promise<void> {
  const files = [path, `${path}.journal`, `${path}.lock`, `${path}.apply.lock`];
  return refuseTrackedFiles(stateRoot(path), files, 'control-plane state');
}

/** The single-writer lock, with messages that say which state file is in use and what to do. */
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
            `control-plane state ${statePath} is in use by process ${r.holder.pid} on ${r.holder.host} (lock ${basename(lockPath)} since ${r.holder.since}); stop that process or use another state file (if no poolsync process has it open, delete ${lockPath})`,
          );
        case 'unreadable':
          return new UserError(
            `cannot lock control-plane state ${statePath}: ${lockPath} is unreadable; remove it if no poolsync process is running`,
          );
      }
    },
  });
}

function* jsonLine(value: unknown): Generator<string> {
  yield* jsonParts(value, 3);
  yield '\n';
}
