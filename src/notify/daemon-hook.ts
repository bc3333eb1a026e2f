/**
 * The daemon's one notification hook: wraps the reconcile loop's run function, and after each
 * run turns the run's record (the /status document) into at most one event. Reads only what
 * /status shows, so it depends on no daemon internals.
 */
import type { NotifyEvent, NotifyEventKind } from './types.js';

/** The part of the daemon's /status this reads (DaemonStatus satisfies it). */
export interface RunView {
  source: Record<string, string>;
  lastRun: {
    id: number;
    trigger: readonly string[];
    finishedAt: string;
    result: string;
    commit: string | null;
    message: string;
    applied: NotifyEvent['applied'];
  } | null;
  waitingForApproval: readonly { action: string; address: string }[];
  errors: readonly {
    code: string;
    message: string;
    location: string | null;
    address: string | null;
  }[];
}

/** The event a finished run is worth, or null (in sync, planned, unchanged). */
export function eventForRun(view: RunView): NotifyEvent | null {
  const run = view.lastRun;
  if (!run) return null;
  let kind: NotifyEventKind;
  if (run.result === 'applied')
    kind = run.trigger.includes('drift') ? 'drift-corrected' : 'applied';
  else if (run.result === 'failed' || run.result === 'invalid') kind = 'failed';
  else if (run.result === 'waiting_for_approval') kind = 'held-for-approval';
  else return null;
  return {
    event: kind,
    message: run.message,
    commit: run.commit,
    source: view.source,
    run: run.id,
    at: run.finishedAt,
    applied: run.applied,
    waiting_for_approval:
      kind === 'held-for-approval'
        ? view.waitingForApproval.map((c) => `${c.action} ${c.address}`)
        : [],
    errors:
      kind === 'failed'
        ? view.errors
            .slice(0, 5)
            .map((e) => `${e.location ?? e.address ?? '-'}: ${e.code}: ${e.message}`)
        : [],
  };
}

/** `run`, followed by a notification of its outcome (delivered in the background). */
export function notifyingRun<A extends unknown[]>(
  run: (...args: A) => Promise<void>,
  view: () => RunView,
  notifier: { notify(event: NotifyEvent): void } | undefined,
): (...args: A) => Promise<void> {
  if (!notifier) return run;
  return async (...args: A) => {
    await run(...args);
    const event = eventForRun(view());
    if (event) notifier.notify(event);
  };
}
