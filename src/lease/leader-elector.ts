/**
 * Leader election on a Lease (client-go / controller-runtime semantics): candidates retry every
 * retry period; the leader renews every retry period and steps down when it could not renew
 * within the renew deadline (before its lease can expire for the others: renew deadline <
 * lease duration). Stepping down aborts the term's signal at once, so no new step starts; a
 * step in flight finishes. Unlike controller-runtime, which exits the process, the replica
 * goes back to being a candidate.
 */
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import type { LeaseLock, LeaseTiming } from './k8s-lease.js';

export interface ElectorEvents {
  onStartedLeading(term: AbortSignal): void;
  onStoppedLeading(reason: string): void;
  /** The observed holder changed (null: nobody). */
  onNewLeader?(leader: string | null): void;
  /** A read or write of the Lease failed (the elector keeps trying). */
  onError?(err: unknown): void;
}

/** How the candidates of one replica's Leases take turns (LeaderElector's `candidacy`). */
export interface Candidacy {
  /** Runs `fn` while no other candidate of this replica runs an attempt. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** How long a candidate waits before its attempt (0: at once). */
  delayMs(): number;
}

/** Candidates taking turns, waiting `perLease` ms for each Lease the replica leads already. */
export function sharedCandidacy(leading: () => number, perLeaseMs: number): Candidacy {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    exclusive: <T>(fn: () => Promise<T>) => {
      const run = queue.then(fn, fn);
      queue = run.catch(() => {});
      return run;
    },
    delayMs: () => leading() * perLeaseMs,
  };
}

export class LeaderElector {
  private readonly stopping = new AbortController();
  private term: AbortController | null = null;
  private lastRenew = 0;
  private leaderSeen: string | null = null;
  private leaderAddressSeen: string | null = null;
  private running: Promise<void> | null = null;
  private transitionAt: Date | null = null;

  constructor(
    readonly lock: LeaseLock,
    private readonly timing: LeaseTiming,
    private readonly events: ElectorEvents,
    /**
     * Several Leases in one replica (one per environment, daemon/unit.ts): their
     * candidates take turns, and wait `delayMs()` before an attempt (a replica already leading
     * others leaves a free Lease to one leading fewer), so the Leases spread across replicas.
     * The Lease alone still decides who leads.
     */
    private readonly candidacy: Candidacy | null = null,
    /**
     * The retry period, the renew deadline and the candidates' waits. Its sleeps end on the
     * elector's long-lived stop signal and leave no abort listener behind on it (one per
     * retry period piled up: Node's MaxListenersExceededWarning after 11 renewals).
     */
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    if (!(timing.renewDeadlineMs < timing.leaseDurationMs)) {
      throw new Error('the renew deadline must be shorter than the lease duration');
    }
    if (!(timing.retryPeriodMs < timing.renewDeadlineMs)) {
      throw new Error('the retry period must be shorter than the renew deadline');
    }
  }

  get isLeader(): boolean {
    return this.term !== null && !this.term.signal.aborted;
  }

  /** The holder as last observed (this identity while leading). */
  get leader(): string | null {
    return this.leaderSeen;
  }

  /** Where the leader as last observed can be reached (published in the Lease), or null. */
  get leaderAddress(): string | null {
    return this.leaderAddressSeen;
  }

  get identity(): string {
    return this.lock.identity;
  }

  get lastTransitionAt(): Date | null {
    return this.transitionAt;
  }

  /** Aborted once the current term ends; an aborted signal while not leading. */
  get termSignal(): AbortSignal {
    return this.term?.signal ?? AbortSignal.abort();
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops electing; a leader gives the lease up so another replica takes over at once. */
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
      if (this.term && this.clock.now() - this.lastRenew > this.timing.renewDeadlineMs) {
        this.stepDown(
          `the lease was not renewed within the renew deadline (${this.timing.renewDeadlineMs} ms)`,
        );
      }
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
    // A hanging request must not keep a leader leading past its renew deadline.
    const answered = new AbortController();
    let late = false;
    if (this.term) {
      const left = this.lastRenew + this.timing.renewDeadlineMs - this.clock.now();
      void this.clock.sleep(Math.max(0, left), answered.signal).then(() => {
        if (answered.signal.aborted) return;
        late = true;
        this.stepDown(
          `renewing the lease took longer than the renew deadline (${this.timing.renewDeadlineMs} ms)`,
        );
      });
    }
    try {
      const obs = await this.lock.tryAcquireOrRenew();
      if (late) return;
      this.observe(obs.holder);
      this.leaderAddressSeen = obs.holder === null ? null : (obs.holderAddress ?? null);
      if (obs.held) {
        this.lastRenew = this.clock.now();
        if (!this.term) {
          this.term = new AbortController();
          this.transitionAt = new Date(this.clock.now());
          this.events.onStartedLeading(this.term.signal);
        }
      } else if (this.term) {
        this.stepDown(`the lease is held by ${obs.holder ?? 'another replica'}`);
      }
    } catch (err) {
      this.events.onError?.(err);
    } finally {
      answered.abort();
    }
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
    this.transitionAt = new Date(this.clock.now());
    term.abort(new Error(reason));
    this.events.onStoppedLeading(reason);
  }
}
