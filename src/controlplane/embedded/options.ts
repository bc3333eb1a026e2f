/** How an embedded control plane is opened (EmbeddedControlPlane.open) and simulated. */
import type { Capabilities, PoolContract } from '../../model/common.js';

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
  /** Opened again and again (daemon): unchanged files not read again, reads shared frozen. */
  shareReads?: boolean;
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
