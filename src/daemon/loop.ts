/**
 * The reconcile loop's scheduling core: one run at a time; every trigger that arrives while a
 * run is in progress is folded into ONE follow-up run (a burst of webhooks, a poll and a drift
 * tick all become a single extra run). The run itself is injected, so this is testable alone.
 */

export const TRIGGER_REASONS = [
  'startup',
  'poll',
  'drift',
  'webhook',
  'manual',
  'watch',
  'retry',
  /** This replica became the leader (--leader-elect). */
  'leader',
] as const;
export type TriggerReason = (typeof TRIGGER_REASONS)[number];

export type RunFunction = (
  reasons: ReadonlySet<TriggerReason>,
  signal: AbortSignal,
) => Promise<void>;

interface Pending {
  reasons: Set<TriggerReason>;
  done: Promise<void>;
  resolve: () => void;
}

export class ReconcileLoop {
  private pending: Pending | null = null;
  private current: Promise<void> | null = null;
  private stopped = false;
  private readonly abort = new AbortController();
  private runs = 0;

  constructor(
    private readonly run: RunFunction,
    /** Called with anything the run function throws (it should not; this is the last guard). */
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Runs started so far (for status and tests). */
  get runCount(): number {
    return this.runs;
  }

  get busy(): boolean {
    return this.current !== null;
  }

  /**
   * Asks for a run. Resolves when a run that started after this request has finished (or the
   * loop stopped); never rejects.
   */
  request(reason: TriggerReason): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.pending) {
      this.pending.reasons.add(reason);
      return this.pending.done;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.pending = { reasons: new Set([reason]), done, resolve };
    if (!this.current) this.current = this.drain();
    return done;
  }

  /**
   * Stops taking requests, aborts the running run's signal (it starts no new steps) and waits
   * up to `timeoutMs` for it to finish. Returns whether it finished in time.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopped = true;
    const dropped = this.pending;
    this.pending = null;
    dropped?.resolve();
    this.abort.abort(new Error('the daemon is shutting down'));
    if (!this.current) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.current.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.stopped) {
      const job = this.pending;
      this.pending = null;
      this.runs++;
      try {
        await this.run(job.reasons, this.abort.signal);
      } catch (err) {
        this.onError(err);
      } finally {
        job.resolve();
      }
    }
    this.current = null;
  }
}
