/**
 * The daemon's one notification hook: wraps the reconcile loop's run function and turns each
 * run's /status record into the events it is worth (so it depends on no daemon internals).
 * Repeats are said once, by identity, not text (a retry count must not make an outage a message
 * per retry): a failure is the same while its errors (code, place) and commit are; a hold while
 * the same changes wait. The first good run after a failure sends `recovered`, once. A run of an
 * invalid head (a validation or plan error) that corrected drift sends `drift-corrected` beside its (deduplicated) `failed`.
 * Generated files a person deploys (render/rendered-files.ts) are said once per commit and
 * files, by the first event of a run that has them; an `in sync` run has `applied` say them.
 */
import { LISTED_OBJECTS, type NotifyEvent, type NotifyEventKind } from './config.js';
import { errorLine } from '../render/daemon-words.js';
import type { RenderedChange } from '../render/rendered-files.js';

/** DaemonStatus satisfies it. */
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
    changed?: readonly { address: string; action: string; sideEffect: boolean }[];
    changedTotal?: number;
    renderedFiles?: readonly RenderedChange[];
    /** A drift run of an invalid head: the last applied commit it planned instead. */
    checkedAgainst?: string;
  } | null;
  waitingForApproval: readonly { action: string; address: string }[];
  errors: readonly {
    code: string;
    message: string;
    location: string | null;
    address: string | null;
  }[];
}

const GOOD = new Set(['applied', 'in_sync', 'left_unpruned', 'planned', 'waiting_for_approval']);

/** On its own (no memory of earlier runs). */
export function eventForRun(view: RunView): NotifyEvent | null {
  const run = view.lastRun;
  if (!run) return null;
  let kind: NotifyEventKind;
  if (run.result === 'applied')
    kind = run.trigger.includes('drift') ? 'drift-corrected' : 'applied';
  else if (run.result === 'failed' || run.result === 'invalid') kind = 'failed';
  else if (run.result === 'waiting_for_approval') kind = 'held-for-approval';
  // Nothing to send, yet the commit changes files only a person can deploy: not done.
  else if (run.result === 'in_sync' && run.renderedFiles?.length) kind = 'applied';
  else return null;
  return eventOf(kind, view);
}

function eventOf(kind: NotifyEventKind, view: RunView): NotifyEvent {
  const run = view.lastRun!;
  const changed = run.changed ?? [];
  const showsChanges = kind === 'applied' || kind === 'drift-corrected';
  const held = kind === 'held-for-approval' ? view.waitingForApproval : [];
  return {
    event: kind,
    message: run.message,
    commit: run.commit,
    source: view.source,
    run: run.id,
    at: run.finishedAt,
    applied: run.applied,
    changed: showsChanges
      ? changed
          .slice(0, LISTED_OBJECTS)
          .map((c) => `${c.action} ${c.address}${c.sideEffect ? ' (side effect)' : ''}`)
      : [],
    changed_total: showsChanges ? (run.changedTotal ?? changed.length) : 0,
    waiting_for_approval: held.slice(0, LISTED_OBJECTS).map((c) => `${c.action} ${c.address}`),
    waiting_total: held.length,
    errors: kind === 'failed' ? firstErrors(view.errors) : [],
    rendered_files: run.renderedFiles ?? [],
  };
}

/** As a `failed` event and the run's log line list them. */
export const firstErrors = (errors: RunView['errors']): string[] =>
  errors.slice(0, 5).map(errorLine);

/**
 * What makes two failures the same: the commit and the errors' codes and places. A failure
 * with no errors listed is known by its message without numbers or the retry note.
 */
function failureIdentity(view: RunView): string {
  const run = view.lastRun!;
  const errors = view.errors.map((e) => `${e.code}@${e.location ?? e.address ?? ''}`).sort();
  const what =
    errors.length > 0
      ? errors.join('\n')
      : run.message.replace(/; retrying in .*$/, '').replace(/\d+/g, '#');
  return `${run.result}\n${run.commit ?? ''}\n${what}`;
}

/** Each run sends only what is new (module header). */
export class RunNotifications {
  private failing: string | null = null;
  private holding: string | null = null;
  private rendered: string | null = null;

  next(view: RunView): NotifyEvent[] {
    const run = view.lastRun;
    if (!run || run.result === 'unchanged') return [];
    const out: NotifyEvent[] = [];
    if (run.result === 'failed' || run.result === 'invalid') {
      const id = failureIdentity(view);
      if (id !== this.failing) out.push(eventOf('failed', view));
      this.failing = id;
      // A drift run of an invalid head put drift back against the last applied commit
      // (docs/daemon.md#an-invalid-head): the head keeps its `failed`, said once; what the run
      // corrected is said each time, as on a valid head.
      if (run.checkedAgainst !== undefined && (run.changedTotal ?? run.changed?.length ?? 0) > 0)
        out.push(eventOf('drift-corrected', view));
      return out;
    }
    if (!GOOD.has(run.result)) return out;
    if (this.failing !== null) {
      out.push({ ...eventOf('recovered', view), message: `recovered: ${run.message}` });
      this.failing = null;
    }
    const rendered = run.renderedFiles?.length
      ? JSON.stringify([run.commit, run.renderedFiles])
      : null;
    const own = eventForRun(view);
    if (own?.event === 'held-for-approval') {
      const id = view.waitingForApproval
        .map((c) => `${c.action} ${c.address}`)
        .sort()
        .join('\n');
      if (id !== this.holding) out.push(own);
      this.holding = id;
    } else {
      this.holding = null;
      if (own && !(run.result === 'in_sync' && rendered === this.rendered)) out.push(own);
    }
    if (rendered === null || out.length > 0) this.rendered = rendered;
    return out;
  }
}

/**
 * Delivered in the background; an environment's events name it (`[prod] …`, `environment`).
 * A notification is a write of the leadership term whose run it reports (`term`, the run's
 * term signal): a run its term's end cut sends nothing, the new leader reports (docs/daemon.md).
 * What was said is remembered within one term: each new term starts from what its runs see.
 */
export function notifyingRun<A extends unknown[]>(
  run: (...args: A) => Promise<void>,
  view: () => RunView,
  notifier: { notify(event: NotifyEvent, term?: AbortSignal): void } | undefined,
  environment: string | null,
): (term: AbortSignal, ...args: A) => Promise<void> {
  let said = new RunNotifications();
  let saidIn: AbortSignal | null = null;
  return async (term, ...args) => {
    await run(...args);
    // Not even remembered: what the deposed run would have said was never said.
    if (!notifier || term.aborted) return;
    // Another replica may have led, and reported, since this one's last term.
    if (term !== saidIn) [said, saidIn] = [new RunNotifications(), term];
    for (const event of said.next(view()))
      notifier.notify(
        environment === null
          ? event
          : {
              ...event,
              message: `[${environment}] ${event.message}`,
              source: { ...event.source, environment },
            },
        term,
      );
  };
}
