/**
 * `wait_idle` (plan.md rule 4, C9): there is no drain call, so before a cluster is deleted
 * the executor watches the metrics (Q7) of the queues that route only to it until no run
 * and no action is in flight, bounded by a timeout.
 */
import { partOf, type ControlPlane } from '../controlplane/types.js';
import { ControlPlaneError, isControlPlaneError } from '../controlplane/errors.js';
import { SYSTEM_CLOCK } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';

/** One busy queue of one poll: null where nothing was measured. */
export interface WaitProgress {
  queue: string;
  /** wait_idle: the queue's metrics (Q7). */
  runs_in_flight: number | null;
  actions_in_flight: number | null;
  /** wait_drained: the drain state the control plane reported. */
  state?: string | null;
  elapsed_ms: number;
}

export interface WaitIdleOptions {
  timeoutMs: number;
  pollIntervalMs: { initial: number; max: number };
  onProgress: (p: WaitProgress) => void;
  signal?: AbortSignal;
}

/** The queues did not become idle in time; the dependent delete must not run. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

export class WaitAbortedError extends Error {
  override readonly name = 'WaitAbortedError';
}

/** Another client undid what the wait waits on (a drained queue re-activated): waiting cannot end well. */
export class WaitUndoneError extends Error {
  override readonly name = 'WaitUndoneError';
}

const BACKOFF_FACTOR = 1.5;

interface Poll<T> {
  /** "become idle": the end of "interrupted while waiting for queues to …". */
  goal: string;
  /** A queue's value; NOT_FOUND reads as `gone` (a queue no longer there), UNAVAILABLE as null. */
  probe: (cp: ControlPlane, queue: string) => Promise<T>;
  gone: T;
  settled: (value: T | null) => boolean;
  /** Throws when the wait cannot end well, given the queues not settled yet. */
  check?: (busy: [string, T | null][]) => void;
  progress: (value: T | null) => Omit<WaitProgress, 'queue' | 'elapsed_ms'>;
  timedOut: (busy: [string, T | null][]) => string;
}

/** Transient errors (UNAVAILABLE) count as "still busy" and polling goes on; others end the wait. */
async function probe<T>(cp: ControlPlane, queue: string, poll: Poll<T>): Promise<T | null> {
  try {
    return await poll.probe(cp, queue);
  } catch (err) {
    if (isControlPlaneError(err, 'NOT_FOUND')) return poll.gone;
    if (isControlPlaneError(err, 'UNAVAILABLE')) return null;
    throw err;
  }
}

/** Polls every queue, backing off, until all settle in one poll; bounded, ended by the signal. */
async function pollQueues<T>(
  cp: ControlPlane,
  queues: string[],
  opts: WaitIdleOptions,
  poll: Poll<T>,
): Promise<void> {
  const started = performance.now();
  let interval = Math.max(1, opts.pollIntervalMs.initial);
  for (;;) {
    if (opts.signal?.aborted)
      throw new WaitAbortedError(`interrupted while waiting for queues to ${poll.goal}`);
    const polled = await Promise.all(
      queues.map(async (q) => [q, await probe(cp, q, poll)] as [string, T | null]),
    );
    const elapsed = performance.now() - started;
    const busy = polled.filter(([, v]) => !poll.settled(v));
    if (busy.length === 0) return;
    poll.check?.(busy);
    for (const [queue, v] of busy)
      opts.onProgress({ queue, ...poll.progress(v), elapsed_ms: Math.round(elapsed) });
    const remaining = opts.timeoutMs - elapsed;
    if (remaining <= 0) throw new WaitTimeoutError(poll.timedOut(busy));
    await SYSTEM_CLOCK.sleep(Math.min(interval, remaining), opts.signal);
    interval = Math.min(opts.pollIntervalMs.max, interval * BACKOFF_FACTOR);
  }
}

/** Every queue at 0 runs and 0 actions in flight in the same poll (until then, work can arrive). */
export function waitIdle(cp: ControlPlane, queues: string[], opts: WaitIdleOptions): Promise<void> {
  return pollQueues(cp, queues, opts, {
    goal: 'become idle',
    probe: (cp, queue) => partOf(cp, 'queues').queueMetrics(queue),
    gone: { runs_in_flight: 0, actions_in_flight: 0, depth: 0 },
    settled: (m) => m !== null && m.runs_in_flight === 0 && m.actions_in_flight === 0,
    progress: (m) => ({
      runs_in_flight: m?.runs_in_flight ?? null,
      actions_in_flight: m?.actions_in_flight ?? null,
    }),
    timedOut: (busy) =>
      `queues still busy after ${formatDuration(opts.timeoutMs)}: ${busy
        .map(([q, m]) =>
          m === null
            ? `${q} (metrics unavailable)`
            : `${q} (${m.runs_in_flight} runs, ${m.actions_in_flight} actions in flight)`,
        )
        .join(', ')}; ` +
      'the cluster was not deleted. Wait for the work to finish (or raise --wait-timeout) and apply again',
  });
}

/** `wait_drained` (capability `drain`): every queue DRAINED (nothing in flight, no new work). */
export function waitDrained(cp: ControlPlane, queues: string[], opts: WaitIdleOptions) {
  return pollQueues(cp, queues, opts, {
    goal: 'be drained',
    probe: async (cp, queue) => {
      const { state } = await partOf(cp, 'queues').getQueue(queue);
      if (state !== undefined) return state;
      // Not a timeout: no amount of waiting makes a control plane without drain report it.
      throw new ControlPlaneError(
        'FAILED_PRECONDITION',
        `Queue/${queue} reports no drain state, so the wait cannot tell when it is drained: this control plane does not support drain (capability off, C9); nothing was deleted or moved. Run \`poolsync plan\` again: it plans for the capabilities the control plane reports`,
        `Queue/${queue}`,
        'C9',
      );
    },
    gone: 'drained',
    settled: (state) => state === 'drained',
    check: (busy) => {
      const active = busy.filter(([, state]) => state === 'active');
      // Someone re-activated it (or the drain did not land): no timeout, the queue takes work again.
      if (active.length > 0)
        throw new WaitUndoneError(
          `queues ${active.map(([q]) => q).join(', ')} are active again while waiting for them to be drained: another client re-activated them (or the drain did not land); nothing was deleted or moved. Run \`poolsync plan\` again`,
        );
    },
    // The state is what a drain poll measures: no in-flight count is made up.
    progress: (state) => ({ runs_in_flight: null, actions_in_flight: null, state }),
    timedOut: (busy) =>
      `queues still draining after ${formatDuration(opts.timeoutMs)}: ${busy
        .map(([q, s]) => `${q} (${s ?? 'state unavailable'})`)
        .join(
          ', ',
        )}; nothing was deleted or moved. Wait for their work to finish (or raise --wait-timeout) and apply again: draining resumes where it stopped`,
  });
}
