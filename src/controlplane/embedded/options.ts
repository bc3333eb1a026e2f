/** How an embedded control plane is opened (EmbeddedControlPlane.open) and simulated. */
import type { Capabilities, PoolContract } from '../../model/common.js';
import type { State } from './state.js';
import type { FilesIdentity, JournalShape } from './state-identity.js';

export interface EmbeddedOptions {
  /** Where the state is persisted; null keeps it in memory (tests). */
  path: string | null;
  /** P1: the `default` pool's contract when the state is first created. */
  defaultPoolContract?: PoolContract;
  /** Clock for Q7 activity (tests). */
  now?: () => number;
  /** Ops journaled before the store compacts into a new snapshot. */
  compactAfter?: number;
  /** Opening and closing leave a journal shorter than this as it is (StoreOptions). */
  keepJournal?: number;
  /**
   * Opened again and again (the daemon): the process's cache of states read (or left by a
   * writer), so unchanged files are not read again and reads share frozen objects
   * (src/incremental/state-cache.ts makes one). Without it every open reads the files.
   */
  stateCache?: EmbeddedStateCache;
  /**
   * Capabilities (domain.md): stored with the state when it is created; for an existing state
   * a different value is refused with the command that changes it. Absent: as stored.
   */
  capabilities?: Capabilities;
  /**
   * Read the state as it is now, without the writer lock and without writing anything (plan,
   * export); every write is refused. A missing state file reads as a new organisation (P1).
   */
  readOnly?: boolean;
  /**
   * With readOnly: read the state on its first use, not at open; until then stateKey is of the
   * files alone (read-only.ts). `plan` opens so: a remembered plan needs no read.
   */
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
  /** The number of the last op the state contains (store.ts). */
  seq: number;
  journal: JournalShape;
}

/**
 * A cache of the last value read from each state file, matched by the files' identity
 * (state-identity.ts: a file written since never matches). The embedded control plane keeps
 * none of its own; a long-running process passes one in (EmbeddedOptions.stateCache).
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
