/**
 * A rollback to an earlier run (`poolsync rollback RUN`, docs/daemon.md#rollback): the unit plans
 * and applies that run's commit instead of the branch head, through the same stages as any run
 * (policy, approvals, freeze), until the branch moves past the head it had when the rollback was
 * asked, or `poolsync resume` lifts it. Drift is corrected towards the rolled-back commit. Kept
 * in `<state-dir>/rollback.json`, beside the suspension (freeze.ts), so it outlives a restart;
 * the lesson of argo-cd #5351 and #9570: a rollback auto-sync undoes a minute later is no undo.
 */
import { join } from 'node:path';
import type { Clock } from '../util/clock.js';
import { nullable, num, record, shapeProblem, str } from '../util/json-shape.js';
import { NewerFormatError, refuseNewer } from '../util/format-version.js';
import { writeOwnFile } from '../util/safe-file.js';
import { readKeptFile } from '../util/state-file.js';

/** /status `rollback`: what the unit applies instead of the branch head. */
export interface RollbackPin {
  /** The run rolled back to, and the commit it applied. */
  run: number;
  commit: string;
  /**
   * The branch head the first run after the rollback fetched (null until then): the head it
   * would have applied. A head other than this one lifts the rollback.
   */
  branchHead: string | null;
  since: string;
  by: string;
  reason: string | null;
}

/** A run made from the commit of a rollback: the run rolled back to, its commit. */
export interface RunRollback {
  to: number;
  commit: string;
}

const FILE = 'rollback.json';
const WHAT = 'rollback';
/** Absent in files written before it was: format 1 (util/format-version.ts). */
const FORMAT = 1;
const SHAPE = record({
  rollback: nullable(
    record({
      run: num,
      commit: str,
      branchHead: nullable(str),
      since: str,
      by: str,
      reason: nullable(str),
    }),
  ),
});

/**
 * Where every replica reads it (with --leader-elect or --lock: a ConfigMap beside the Lease,
 * lease/k8s-lease.ts ConfigMapValue), so a replica that takes over holds the rollback too.
 */
export interface SharedRollback {
  readonly where: string;
  read(): Promise<string | null>;
  write(text: string | null): Promise<void>;
}

/** The pin `data` holds, or what is wrong with it; a newer format is refused (`where`). */
const pinOf = (where: string, data: unknown): { rollback: RollbackPin | null } | string => {
  refuseNewer(where, (data as { format?: unknown } | null)?.format, FORMAT);
  return shapeProblem('rollback', SHAPE, data) ?? (data as { rollback: RollbackPin | null });
};

const parsed = (where: string, text: string): RollbackPin | null | string => {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const pin = pinOf(where, data);
  return typeof pin === 'string' ? pin : pin.rollback;
};

const written = (pin: RollbackPin | null) => JSON.stringify({ format: FORMAT, rollback: pin });

export class Rollback {
  private constructor(
    private readonly clock: Clock,
    private readonly stateDir: string,
    private pin: RollbackPin | null,
    private readonly shared: SharedRollback | null,
  ) {}

  private refused: { run: number; since: string; why: string } | null = null;

  /**
   * `unread`: the file was there and did not read (set aside, util/state-file.ts); the unit then
   * suspends its applies, since what it held may have been a rollback that must not be undone.
   * `unshared`: the shared place did not answer (each run reads it again).
   */
  static async open(
    clock: Clock,
    stateDir: string,
    shared: SharedRollback | null = null,
  ): Promise<{ rollback: Rollback; unread: string | null; unshared: string | null }> {
    let unread: string | null = null;
    const path = join(stateDir, FILE);
    const kept = await readKeptFile(stateDir, path, {
      maxBytes: 64 * 1024,
      what: WHAT,
      warn: (m) => (unread = m),
      parse: (data) => pinOf(path, data),
    }).catch((err: unknown) => {
      if (err instanceof NewerFormatError) throw err; // kept for the newer build, never replaced
      unread = (err as Error).message;
      return null;
    });
    const rollback = new Rollback(clock, stateDir, kept?.rollback ?? null, shared);
    // What the replicas share wins over this folder's copy (another replica may have led since).
    const unshared = await rollback.refresh().then(
      () => null,
      (err: unknown) => (err as Error).message,
    );
    return { rollback, unread, unshared };
  }

  /** From the shared place, when there is one (each run reads it: another replica may have written). */
  async refresh(): Promise<void> {
    if (this.shared === null) return;
    const text = await this.shared.read();
    const pin = text === null ? null : parsed(this.shared.where, text);
    if (typeof pin === 'string')
      throw new Error(
        `the rollback in ${this.shared.where} does not read (${pin}): fix or remove it`,
      );
    if (JSON.stringify(pin) !== JSON.stringify(this.pin)) await this.keepHere(pin);
  }

  get current(): RollbackPin | null {
    return this.pin;
  }

  /** Kept before it is in force: a restart right after it still holds it. */
  async hold(pin: Omit<RollbackPin, 'since'>): Promise<RollbackPin> {
    const held = { ...pin, since: new Date(this.clock.now()).toISOString() };
    await this.keep(held);
    return held;
  }

  /** The branch head the first run after the rollback fetched: another one lifts it. */
  async headSeen(head: string | null): Promise<void> {
    if (this.pin !== null && this.pin.branchHead === null && head !== null)
      await this.keep({ ...this.pin, branchHead: head });
  }

  /** Lifts `pin`, whose plan had errors, keeping why for the one who asked (refusalOf). */
  async refuse(pin: RollbackPin, why: string): Promise<void> {
    await this.keep(null);
    this.refused = { run: pin.run, since: pin.since, why };
  }

  /** Why `pin` was refused (refuse), or null: it holds, or was lifted otherwise. */
  refusalOf(pin: RollbackPin): string | null {
    const r = this.refused;
    return r !== null && r.run === pin.run && r.since === pin.since ? r.why : null;
  }

  /** Returns the rollback lifted, or null. */
  async lift(): Promise<RollbackPin | null> {
    const before = this.pin;
    if (before !== null) await this.keep(null);
    return before;
  }

  private async keep(pin: RollbackPin | null): Promise<void> {
    // Shared first: a replica that takes over must hold it before this one says it does.
    await this.shared?.write(pin === null ? null : written(pin));
    await this.keepHere(pin);
  }

  /** In this replica's state folder. */
  private async keepHere(pin: RollbackPin | null): Promise<void> {
    await writeOwnFile(this.stateDir, join(this.stateDir, FILE), written(pin), {
      what: WHAT,
      mode: 0o600,
    });
    this.pin = pin;
  }
}
