/**
 * Leader election on a Lease (client-go / controller-runtime semantics): candidates retry every
 * retry period; the leader renews every retry period and steps down when it could not renew
 * within the renew deadline, counted from when it sent its last renewal (before its lease can
 * expire for the others: termTimings). Stepping down aborts the term's signal at once, which
 * ends every control-plane call of the term. Unlike controller-runtime, which exits the
 * process, the replica goes back to being a candidate.
 */
import { randomUUID } from 'node:crypto';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import type { LeaseLock, LeaseTiming } from './k8s-lease.js';

/**
 * What makes "nothing runs twice" true (docs/daemon.md, "Nothing runs twice"), or what is wrong.
 *
 * A leader's term ends at the renew deadline after the last renewal it sent, R + renew deadline
 * by its clock: no control-plane call of the term starts or is retried after, those in flight
 * are abandoned (src/controlplane/retry.ts). A write sent before may still land up to the
 * longest write later: the control plane carrying out a request it received before its client
 * left (Union and flyteadmin take no fencing token), or the leader's process stalled. No other
 * replica takes the Lease before R + lease duration, by its own clock, and its first write waits
 * the takeover wait after that. So the last write of a term lands before the next term's first
 * when
 *
 *     retry period < renew deadline < lease duration,
 *     renew deadline + longest write <= lease duration + takeover wait
 *
 * `longestCallMs` is the span after a term's end that the timings leave for its calls (at least
 * the longest write): the TTL of a term's apply lock, so a killed leader's lock has lapsed when
 * the next term applies.
 */
export function termTimings(
  t: LeaseTiming,
): { longestCallMs: number; longestWriteMs: number; takeoverWaitMs: number } | { problem: string } {
  if (!(t.retryPeriodMs < t.renewDeadlineMs && t.renewDeadlineMs < t.leaseDurationMs))
    return {
      problem: `retry period (${t.retryPeriodMs}ms) < renew deadline (${t.renewDeadlineMs}ms) < lease duration (${t.leaseDurationMs}ms) must hold, so a leader's calls have ended before another replica can take over`,
    };
  const takeoverWaitMs = t.takeoverWaitMs ?? 0;
  const longestCallMs = t.leaseDurationMs + takeoverWaitMs - t.renewDeadlineMs;
  const longestWriteMs = t.longestWriteMs ?? t.leaseDurationMs - t.renewDeadlineMs;
  if (longestWriteMs > longestCallMs)
    return {
      problem: `renew deadline (${t.renewDeadlineMs}ms) + longest write (${longestWriteMs}ms) <= lease duration (${t.leaseDurationMs}ms) + takeover wait (${takeoverWaitMs}ms) must hold, so a deposed leader's last write has landed before its successor's first`,
    };
  return { longestCallMs, longestWriteMs, takeoverWaitMs };
}

/** Aborted when it ends; its own id, the fencing token of the locks it takes. */
export interface Term {
  readonly signal: AbortSignal;
  /** Null for a daemon without election (the only replica). */
  readonly id: string | null;
  /**
   * Settles once the term may write: the takeover wait after it began (termTimings), or when
   * it ends first (its signal then says so). None: at once.
   */
  readonly writable?: Promise<void> | undefined;
}

/** A daemon without election, the only replica: it never ends. */
export const SOLE_TERM: Term = { signal: new AbortController().signal, id: null };

export interface ElectorEvents {
  onStartedLeading(term: Term): void;
  onStoppedLeading(reason: string): void;
  /** Null: nobody. */
  onNewLeader?(leader: string | null): void;
  /** The elector keeps trying. */
  onError?(err: unknown): void;
  /** The API server answered an attempt (after errors: reachable again). */
  onAnswered?(): void;
}

/** LeaderElector's `candidacy`. */
export type Candidacy = ReturnType<typeof sharedCandidacy>;

/** Waiting `perLease` ms for each Lease the replica leads already. */
export function sharedCandidacy(leading: () => number, perLeaseMs: number) {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    /** Runs `fn` while no other candidate of this replica runs an attempt. */
    exclusive: <T>(fn: () => Promise<T>) => {
      const run = queue.then(fn, fn);
      queue = run.catch(() => {});
      return run;
    },
    /** How long a candidate waits before its attempt (0: at once). */
    delayMs: () => leading() * perLeaseMs,
  };
}

export class LeaderElector {
  private readonly stopping = new AbortController();
  private term: { abort: AbortController; id: string; writable: Promise<void> } | null = null;
  private readonly waits: { takeoverWaitMs: number; longestWriteMs: number };
  /** When this replica's last term ended (its clock), or null. */
  private endedAt: number | null = null;
  /** Ends the wait for the current renew deadline (a renewal sets the next one). */
  private deadline = new AbortController();
  private leaderSeen: string | null = null;
  private leaderAddressSeen: string | null = null;
  /** When the last attempt that read or renewed the Lease was sent (this clock), or null. */
  private readAt: number | null = null;
  /** The last attempt's failure; null once one succeeds. */
  private readError: string | null = null;
  /** This replica's term ended unrenewed and no attempt has read the Lease since. */
  private lapsed = false;
  private running: Promise<void> | null = null;
  private transitionAt: Date | null = null;

  constructor(
    readonly lock: LeaseLock,
    private readonly timing: LeaseTiming,
    private readonly events: ElectorEvents,
    /**
     * Several Leases in one replica (one per environment, daemon/unit.ts): their candidates take
     * turns, and wait `delayMs()` before an attempt (a replica already leading others leaves a
     * free Lease to one leading fewer), so they spread across replicas; the Lease still decides.
     */
    private readonly candidacy: Candidacy | null = null,
    /**
     * The retry period, the renew deadline and the candidates' waits. Its sleeps end on the
     * elector's long-lived stop signal and leave no abort listener behind on it (one per
     * retry period piled up: Node's MaxListenersExceededWarning after 11 renewals).
     */
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    const checked = termTimings(timing);
    if ('problem' in checked) throw new Error(checked.problem);
    this.waits = checked;
  }

  get isLeader(): boolean {
    return this.term !== null;
  }

  /** As last observed (this identity while leading); null once not known (leaseUnreadSince). */
  get leader(): string | null {
    return this.leaseUnreadSince === null ? this.leaderSeen : null;
  }

  /** Where the leader as last observed can be reached (published in the Lease), or null. */
  get leaderAddress(): string | null {
    return this.leaseUnreadSince === null ? this.leaderAddressSeen : null;
  }

  /**
   * When this replica last read or renewed the Lease, once that is too long ago to name a
   * leader: its own term ended unrenewed, or a lease duration passed since (the holder read
   * then may have lost it unseen). Null while the Lease is read.
   */
  get leaseUnreadSince(): Date | null {
    if (this.term || this.readAt === null) return null;
    const stale = this.lapsed || this.clock.now() >= this.readAt + this.timing.leaseDurationMs;
    return stale ? new Date(this.readAt) : null;
  }

  /** Why the last attempt to read or renew the Lease failed; null once one succeeded. */
  get leaseError(): string | null {
    return this.readError;
  }

  get lastTransitionAt(): Date | null {
    return this.transitionAt;
  }

  /** Null while not leading. */
  get currentTerm(): Term | null {
    const t = this.term;
    return t && { signal: t.abort.signal, id: t.id, writable: t.writable };
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** A leader gives the lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
    if (this.term) {
      this.stepDown('shutting down');
      await this.lock.release().catch((err: unknown) => this.events.onError?.(err));
    }
  }

  private async loop(): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      await this.attemptInTurn(stop);
      // Candidates jitter (client-go: JitterFactor 1.2) so they do not hit the API together.
      const wait = this.term
        ? this.timing.retryPeriodMs
        : this.timing.retryPeriodMs * (1 + Math.random() * 0.2);
      await this.clock.sleep(wait, stop);
    }
  }

  private async attemptInTurn(stop: AbortSignal): Promise<void> {
    const candidacy = this.candidacy;
    if (this.term || !candidacy) return this.attempt();
    const waitMs = await candidacy.exclusive(async () => {
      const ms = candidacy.delayMs();
      if (ms === 0) await this.attempt();
      return ms;
    });
    if (waitMs === 0) return;
    await this.clock.sleep(waitMs, stop);
    if (!stop.aborted) await candidacy.exclusive(() => this.attempt());
  }

  private async attempt(): Promise<void> {
    const term = this.term;
    // Before the request: the others count the lease duration from no earlier than this.
    const sent = this.clock.now();
    try {
      const obs = await this.lock.tryAcquireOrRenew();
      this.events.onAnswered?.();
      // The term ended meanwhile (its renew deadline passed): a renewal this late starts none.
      if (term !== this.term) return;
      this.readAt = sent;
      this.readError = null;
      this.lapsed = false;
      this.observe(obs.holder);
      this.leaderAddressSeen = obs.holder === null ? null : (obs.holderAddress ?? null);
      if (obs.held) {
        this.expireAt(sent + this.timing.renewDeadlineMs);
        if (!this.term) {
          const abort = new AbortController();
          // Counted from acquiring: a deposed leader's writes may land until then (termTimings).
          // Leading again after a term of its own (its Lease kept, so no lease duration passed):
          // until that term's writes have landed too.
          const { takeoverWaitMs, longestWriteMs } = this.waits;
          const own = this.endedAt === null ? 0 : this.endedAt + longestWriteMs - this.clock.now();
          const wait = Math.max(takeoverWaitMs, own);
          const writable = wait > 0 ? this.clock.sleep(wait, abort.signal) : Promise.resolve();
          this.term = { abort, id: randomUUID(), writable };
          this.transitionAt = new Date(this.clock.now());
          this.events.onStartedLeading(this.currentTerm!);
        }
      } else if (this.term) {
        this.stepDown(`the lease is held by ${obs.holder ?? 'another replica'}`);
      }
    } catch (err) {
      this.readError = err instanceof Error ? err.message : String(err);
      this.events.onError?.(err);
    }
  }

  /** Unless a renewal sets a later deadline first, however long requests hang. */
  private expireAt(at: number): void {
    this.deadline.abort();
    const deadline = (this.deadline = new AbortController());
    void this.clock.sleep(Math.max(0, at - this.clock.now()), deadline.signal).then(() => {
      if (deadline.signal.aborted) return;
      this.lapsed = true;
      this.stepDown(
        `the lease was not renewed within the renew deadline (${this.timing.renewDeadlineMs} ms)`,
      );
    });
  }

  private observe(holder: string | null): void {
    if (holder !== this.leaderSeen) {
      this.leaderSeen = holder;
      this.events.onNewLeader?.(holder);
    }
  }

  private stepDown(reason: string): void {
    const term = this.term;
    if (!term) return;
    this.term = null;
    this.deadline.abort();
    this.endedAt = this.clock.now();
    this.transitionAt = new Date(this.endedAt);
    term.abort.abort(new Error(`stopped leading: ${reason}`));
    this.events.onStoppedLeading(reason);
  }
}
