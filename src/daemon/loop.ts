/**
 * What starts runs and the loop that runs them: one run at a time; every trigger that arrives
 * while a run is in progress is folded into ONE follow-up run (a burst of webhooks, a poll and a
 * drift tick all become a single extra run). The run itself is injected, so this is testable alone.
 */
import { relative } from 'node:path';
import { watch as chokidarWatch } from 'chokidar';
import { MAX_FOLDER_DEPTH } from '../manifests/walk.js';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';

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
  /** A sync asked to apply although applies are frozen (`poolsync sync --override-freeze`). */
  'override',
  /** `poolsync rollback RUN`: the first run from that run's commit (rollback.ts). */
  'rollback',
] as const;
export type TriggerReason = (typeof TRIGGER_REASONS)[number];

export type RunFunction = (
  reasons: ReadonlySet<TriggerReason>,
  signal: AbortSignal,
  /** When the first request the run answers was made (performance.now()). */
  requestedAt: number,
) => Promise<void>;

interface Pending {
  reasons: Set<TriggerReason>;
  requestedAt: number;
  done: Promise<void>;
  resolve: () => void;
}

export class ReconcileLoop {
  private pending: Pending | null = null;
  private current: Promise<void> | null = null;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly run: RunFunction,
    /** Anything the run function throws (it should not; this is the last guard). */
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  get busy(): boolean {
    return this.current !== null;
  }

  /** Resolves when a run started after this request has finished (or the loop stopped). */
  request(reason: TriggerReason): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.pending) {
      this.pending.reasons.add(reason);
      return this.pending.done;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.pending = { reasons: new Set([reason]), requestedAt: performance.now(), done, resolve };
    if (!this.current) this.current = this.drain();
    return done;
  }

  /** Aborts the running run's signal (no new steps); whether it finished within `timeoutMs`. */
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
      try {
        await this.run(job.reasons, this.abort.signal, job.requestedAt);
      } catch (err) {
        this.onError(err);
      } finally {
        job.resolve();
      }
    }
    this.current = null;
  }
}

export interface Trigger {
  stop(): Promise<void>;
}

/** Each wait is 10% longer or shorter at most: daemons polling one Git host are not in lockstep. */
export function startTimer(intervalMs: number, fire: () => void): Trigger {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const arm = () => {
    const delay = Math.max(1, Math.round(intervalMs * (1 + 0.1 * (2 * Math.random() - 1))));
    timer = setTimeout(() => {
      if (stopped) return;
      fire();
      arm();
    }, delay);
    timer.unref?.();
  };
  arm();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** A re-armable wait (retries): scheduling again replaces the previous one. */
export class OneShot implements Trigger {
  private pending: AbortController | null = null;
  private stopped = false;
  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  schedule(delayMs: number): void {
    if (this.stopped) return;
    this.cancel();
    const pending = (this.pending = new AbortController());
    void this.clock.sleep(delayMs, pending.signal).then(() => {
      if (pending.signal.aborted) return;
      this.pending = null;
      this.fire();
    });
  }

  cancel(): void {
    this.pending?.abort();
    this.pending = null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel();
  }
}

/** What a run reads: manifests and poolsync.yaml (.yaml, .yml: any case is reported), policies and their data. */
const READ_BY_A_RUN = /\.(ya?ml|rego|json)$/i;

/**
 * `--watch DIR`: fires once quiet for `debounceMs` after a change to a file a run reads or to a
 * folder (an editor saving several files, or `git checkout`, becomes one run). Skipped as the
 * loader skips them: dot-files and dot-folders, symbolic links (a link loop would be walked until ELOOP), folders deeper than
 * MAX_FOLDER_DEPTH (3,000 nested folders took a watcher past 256 MB). A folder that cannot be
 * watched is told to `onError` and the rest is watched: each run's load reports it too.
 */
export async function watchFolder(
  dir: string,
  debounceMs: number,
  fire: (changedPaths: string[]) => void,
  onError: (message: string) => void = () => {},
  /** What the quiet time is measured on (a test's clock moves only when the test says). */
  clock: Clock = SYSTEM_CLOCK,
): Promise<Trigger> {
  let quiet: AbortController | null = null;
  let changed = new Set<string>();
  const watcher = chokidarWatch(dir, {
    ignoreInitial: true,
    ignored: (path: string) => /(^|[/\\])\.[^/\\]/.test(path.slice(dir.length)),
    awaitWriteFinish: false,
    followSymlinks: false,
    depth: MAX_FOLDER_DEPTH, // chokidar's depth N: the files of folders up to N levels down
  });
  // Always listened to: an 'error' event nobody listens to is an uncaught exception.
  watcher.on('error', (err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    const where = e.path ? relative(dir, e.path) || '.' : '.';
    onError(
      `cannot watch ${where}: ${e.code ?? e.message}${e.code === 'EACCES' || e.code === 'EPERM' ? ' (not readable: its changes are not seen, and every run reports it until it is)' : ''}`,
    );
  });
  const onChange = (path: string) => {
    changed.add(path);
    quiet?.abort();
    const wait = (quiet = new AbortController());
    void clock.sleep(debounceMs, wait.signal).then(() => {
      if (wait.signal.aborted) return;
      quiet = null;
      const paths = [...changed];
      changed = new Set();
      fire(paths);
    });
  };
  // A file no run reads (the daemon's own log written into DIR, notes) starts no run: each run is
  // a whole read of the control plane, and a log in DIR made one every debounce.
  watcher.on('all', (event, path) => {
    if (event === 'addDir' || event === 'unlinkDir' || READ_BY_A_RUN.test(path)) onChange(path);
  });
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    async stop() {
      quiet?.abort();
      await watcher.close();
    },
  };
}
