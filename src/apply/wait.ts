/**
 * `wait_idle` (plan.md rule 4, C9): there is no drain call, so before a cluster is deleted
 * the executor watches the metrics (Q7) of the queues that route only to it until no run
 * and no action is in flight, bounded by a timeout.
 */
import type { ControlPlane } from '../controlplane/types.js';
import { isControlPlaneError } from '../controlplane/errors.js';
import type { QueueMetrics } from '../model/live.js';
import { formatDuration } from '../util/duration.js';

export interface WaitProgress {
  queue: string;
  runs_in_flight: number;
  actions_in_flight: number;
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

/** The run was aborted while waiting. */
export class WaitAbortedError extends Error {
  override readonly name = 'WaitAbortedError';
}

const BACKOFF_FACTOR = 1.5;

/**
 * Resolves once every queue reports 0 runs and 0 actions in flight in the same poll (a
 * queue can receive new work until then). A queue that does not exist has nothing in
 * flight. Transient errors (UNAVAILABLE) count as "still busy" and polling goes on;
 * permanent ones end the wait.
 */
export async function waitIdle(
  cp: ControlPlane,
  queues: string[],
  opts: WaitIdleOptions,
): Promise<void> {
  const started = performance.now();
  let interval = Math.max(1, opts.pollIntervalMs.initial);
  let last = new Map<string, QueueMetrics | null>();
  for (;;) {
    if (opts.signal?.aborted)
      throw new WaitAbortedError('interrupted while waiting for queues to become idle');
    const polled = await Promise.all(queues.map(async (q) => [q, await pollQueue(cp, q)] as const));
    last = new Map(polled);
    const elapsed = performance.now() - started;
    const busy = polled.filter(
      ([, m]) => m === null || m.runs_in_flight > 0 || m.actions_in_flight > 0,
    );
    if (busy.length === 0) return;
    for (const [queue, m] of busy) {
      opts.onProgress({
        queue,
        runs_in_flight: m?.runs_in_flight ?? -1,
        actions_in_flight: m?.actions_in_flight ?? -1,
        elapsed_ms: Math.round(elapsed),
      });
    }
    const remaining = opts.timeoutMs - elapsed;
    if (remaining <= 0) throw new WaitTimeoutError(timeoutMessage(opts.timeoutMs, last));
    await sleep(Math.min(interval, remaining), opts.signal);
    interval = Math.min(opts.pollIntervalMs.max, interval * BACKOFF_FACTOR);
  }
}

/** Metrics, `{0,0}` for a missing queue, or null when the control plane is unavailable right now. */
async function pollQueue(cp: ControlPlane, queue: string): Promise<QueueMetrics | null> {
  try {
    return await cp.queueMetrics(queue);
  } catch (err) {
    if (isControlPlaneError(err, 'NOT_FOUND'))
      return { runs_in_flight: 0, actions_in_flight: 0, depth: 0 };
    if (isControlPlaneError(err, 'UNAVAILABLE')) return null;
    throw err;
  }
}

/**
 * `wait_drained` (capability `drain`): resolves once every queue reports DRAINED (a drained
 * queue has nothing in flight, and takes no new work). A queue that no longer exists counts as
 * drained; UNAVAILABLE counts as not yet. Bounded by the same timeout as wait_idle.
 */
export async function waitDrained(
  cp: ControlPlane,
  queues: string[],
  opts: WaitIdleOptions,
): Promise<void> {
  const started = performance.now();
  let interval = Math.max(1, opts.pollIntervalMs.initial);
  for (;;) {
    if (opts.signal?.aborted)
      throw new WaitAbortedError('interrupted while waiting for queues to be drained');
    const polled = await Promise.all(queues.map(async (q) => [q, await pollState(cp, q)] as const));
    const elapsed = performance.now() - started;
    const busy = polled.filter(([, state]) => state !== 'drained');
    if (busy.length === 0) return;
    const active = busy.filter(([, state]) => state === 'active');
    if (active.length > 0) {
      // Someone re-activated it (or the drain did not land): waiting cannot end well.
      throw new WaitTimeoutError(
        `queues ${active.map(([q]) => q).join(', ')} are active again while waiting for them to be drained; nothing was deleted or moved. Run \`poolsync plan\` again`,
      );
    }
    for (const [queue, state] of busy) {
      opts.onProgress({
        queue,
        runs_in_flight: state === null ? -1 : 1,
        actions_in_flight: state === null ? -1 : 0,
        elapsed_ms: Math.round(elapsed),
      });
    }
    const remaining = opts.timeoutMs - elapsed;
    if (remaining <= 0) {
      throw new WaitTimeoutError(
        `queues still draining after ${formatDuration(opts.timeoutMs)}: ${busy
          .map(([q, s]) => `${q} (${s ?? 'state unavailable'})`)
          .join(
            ', ',
          )}; nothing was deleted or moved. Wait for their work to finish (or raise --wait-timeout) and apply again: draining resumes where it stopped`,
      );
    }
    await sleep(Math.min(interval, remaining), opts.signal);
    interval = Math.min(opts.pollIntervalMs.max, interval * BACKOFF_FACTOR);
  }
}

/** A queue's drain state; `drained` for a queue that no longer exists; null while unavailable. */
async function pollState(cp: ControlPlane, queue: string): Promise<string | null> {
  try {
    const q = await cp.getQueue(queue);
    if (q.state === undefined) {
      throw new WaitTimeoutError(
        `queue ${queue} reports no drain state: the control plane does not support drain (capability off, C9); run \`poolsync plan\` again`,
      );
    }
    return q.state;
  } catch (err) {
    if (isControlPlaneError(err, 'NOT_FOUND')) return 'drained';
    if (isControlPlaneError(err, 'UNAVAILABLE')) return null;
    throw err;
  }
}

function timeoutMessage(timeoutMs: number, last: Map<string, QueueMetrics | null>): string {
  const busy = [...last]
    .filter(([, m]) => m === null || m.runs_in_flight > 0 || m.actions_in_flight > 0)
    .map(([q, m]) =>
      m === null
        ? `${q} (metrics unavailable)`
        : `${q} (${m.runs_in_flight} runs, ${m.actions_in_flight} actions in flight)`,
    );
  return (
    `queues still busy after ${formatDuration(timeoutMs)}: ${busy.join(', ')}; ` +
    'the cluster was not deleted. Wait for the work to finish (or raise --wait-timeout) and apply again'
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
