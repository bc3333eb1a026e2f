/**
 * What `poolsync apply` prints: one line when a step starts and one when it ends (with its
 * duration), throttled progress of waits, and the closing summary or failure report.
 * Pure formatting: event in, lines out. Every name (a target, a queue, a command, a line a
 * manual command printed) is escaped for the terminal as the plan's text is (issue 38, item 6):
 * a live name holding ESC or a newline shows as `\x1b`, `\n`, never as a forged line.
 */
import { escapeTerminal, escapeTerminal as esc } from '../util/terminal-text.js';
import type { Step } from '../model/plan.js';
import type { ApplyEvent, ApplyResult } from './types.js';
import { formatDuration } from '../util/duration.js';

const VERB: Record<Step['op'], [progressive: string, noun: string]> = {
  create_pool: ['Creating', 'Creation'],
  delete_pool: ['Deleting', 'Deletion'],
  register_cluster: ['Registering', 'Registration'],
  update_cluster: ['Updating', 'Update'],
  delete_cluster: ['Deleting', 'Deletion'],
  create_queue: ['Creating', 'Creation'],
  update_queue: ['Updating', 'Update'],
  wait_idle: ['Waiting for in-flight work to finish on', 'Wait'],
  set_assignment: ['Setting', 'Assignment'],
  delete_assignment: ['Deleting', 'Deletion'],
  drain_queue: ['Draining', 'Drain'],
  wait_drained: ['Waiting until DRAINED:', 'Wait'],
  activate_queue: ['Re-activating', 'Activation'],
  delete_queue: ['Deleting', 'Deletion'],
  undelete_queue: ['Undeleting', 'Undelete'],
  undelete_pool: ['Undeleting', 'Undelete'],
  undelete_cluster: ['Undeleting', 'Undelete'],
  move_cluster: ['Moving', 'Move'],
  move_queue: ['Moving', 'Move'],
  update_pool: ['Updating in place', 'Update'],
  set_default_queue: ['Setting', 'Setting'],
  delete_default_queue: ['Deleting', 'Deletion'],
  set_execution_cluster_label: ['Setting', 'Label'],
  delete_execution_cluster_label: ['Deleting', 'Deletion'],
};

export interface Colors {
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
}

export const NO_COLOR: Colors = {
  green: (s) => s,
  red: (s) => s,
  yellow: (s) => s,
  bold: (s) => s,
};
export const ANSI: Colors = {
  green: (s) => `\u001b[32m${s}\u001b[0m`,
  red: (s) => `\u001b[31m${s}\u001b[0m`,
  yellow: (s) => `\u001b[33m${s}\u001b[0m`,
  bold: (s) => `\u001b[1m${s}\u001b[0m`,
};

/** Turns executor events into lines; waits report at most every `waitEveryMs` per queue. */
export function progressPrinter(
  write: (line: string) => void,
  colors: Colors = NO_COLOR,
  waitEveryMs = 10_000,
) {
  const lastWaitLine = new Map<string, number>();
  return (e: ApplyEvent): void => {
    switch (e.type) {
      case 'step_started':
        return write(startedLine(e));
      case 'step_finished':
        return write(finishedLine(e, colors));
      case 'wait_progress': {
        const key = `${e.step.id}\u0000${e.queue}`;
        const last = lastWaitLine.get(key);
        if (last !== undefined && e.elapsed_ms - last < waitEveryMs) return;
        lastWaitLine.set(key, e.elapsed_ms);
        return write(waitLine(e));
      }
      case 'step_manual':
        write(
          colors.yellow(
            `${esc(e.step.target)}: manual step, left for you (no public API) [${e.step.id}]: ${esc(e.step.manual?.command ?? '')}`,
          ),
        );
        return;
      case 'manual_output':
        write(`${esc(e.step.target)}: | ${esc(e.line)}`);
        return;
      case 'stopping':
        write(
          colors.yellow(
            e.reason === 'aborted'
              ? 'Interrupted: starting no new step; waiting for the running ones to finish...'
              : 'A step failed: starting no new step; waiting for the running ones to finish...',
          ),
        );
        return;
    }
  };
}

type EventOf<T extends ApplyEvent['type']> = Extract<ApplyEvent, { type: T }>;

function startedLine(e: EventOf<'step_started'>): string {
  const [verb] = VERB[e.step.op];
  const what =
    e.step.op === 'wait_idle' || e.step.op === 'wait_drained'
      ? ` queues ${e.step.args.queues.map(esc).join(', ')}`
      : '';
  return `${esc(e.step.target)}: ${verb}${what}... [${e.step.id}]`;
}

function finishedLine(e: EventOf<'step_finished'>, colors: Colors): string {
  const [, noun] = VERB[e.step.op];
  const after = formatDuration(e.duration_ms);
  if (e.status === 'done') {
    const note = e.note ? ` (${escapeTerminal(e.note)})` : '';
    return colors.green(
      `${esc(e.step.target)}: ${noun} complete after ${after}${note} [${e.step.id}]`,
    );
  }
  const err = e.error!;
  const rule = err.rule ? ` (${err.rule})` : '';
  return colors.red(
    `${esc(e.step.target)}: ${noun} failed after ${after} [${e.step.id}]: ${err.code}${rule}: ${escapeTerminal(err.message)}`,
  );
}

function waitLine(e: EventOf<'wait_progress'>): string {
  const what =
    e.state !== undefined
      ? e.state === null
        ? 'has its drain state unavailable'
        : `is ${e.state}`
      : e.runs_in_flight === null
        ? 'has metrics unavailable'
        : `has ${e.runs_in_flight} runs, ${e.actions_in_flight} actions in flight`;
  return `${esc(e.step.target)}: still waiting: queue ${esc(e.queue)} ${what} (${formatDuration(e.elapsed_ms)} elapsed)`;
}

/** `Apply complete: N created, …` on success; otherwise the failure report, every step accounted for. */
export function renderApplyResult(result: ApplyResult, colors: Colors = NO_COLOR): string {
  const c = result.counts;
  // The plan's one count (its closing line), in the past tense; side effects as its `#` line.
  const tally =
    `${c.create} created, ${c.update} updated, ${c.replace} replaced, ${c.delete} deleted; ${c.blocked} blocked` +
    (c.side_effects > 0
      ? `; ${c.side_effects} more change${c.side_effects === 1 ? '' : 's'} made by the control plane itself (marked # in the plan).`
      : '.');
  if (result.ok) return `${colors.bold(colors.green(`Apply complete: ${tally}`))}\n`;

  const failed = result.steps.filter((s) => s.status === 'failed');
  const notRun = result.steps.filter((s) => s.status === 'not_run');
  const manual = result.steps.filter((s) => s.status === 'manual');
  const waiting = result.steps.filter((s) => s.status === 'waiting');
  const done = result.steps.filter((s) => s.status === 'done').length;
  const leftForPerson = (lines: string[]) => {
    for (const s of manual) lines.push(`  ✋ ${s.id} ${s.op} ${esc(s.target)}: manual step`);
    for (const s of waiting)
      lines.push(
        `  … ${s.id} ${s.op} ${esc(s.target)}: ${esc(s.note ?? 'waiting on a manual step')}`,
      );
  };
  if (failed.length === 0 && notRun.length === 0 && !result.aborted && manual.length > 0) {
    const lines = [
      colors.bold(
        colors.yellow(
          `Apply stopped at ${manual.length} manual step(s): ${done} of ${result.steps.length} steps done, ` +
            `${waiting.length} waiting on a manual step.`,
        ),
      ),
    ];
    leftForPerson(lines);
    lines.push(`Applied so far: ${tally}`);
    return `${lines.join('\n')}\n`;
  }
  const head = result.aborted ? 'Apply interrupted' : 'Apply failed';
  const lines = [
    colors.bold(
      colors.red(
        `${head}: ${done} of ${result.steps.length} steps done, ${failed.length} failed, ${notRun.length} not run${manual.length + waiting.length > 0 ? `, ${manual.length + waiting.length} left for manual steps` : ''}.`,
      ),
    ),
  ];
  for (const s of failed) {
    const rule = s.error!.rule ? ` (${s.error!.rule})` : '';
    lines.push(
      colors.red(
        `  ✗ ${s.id} ${s.op} ${esc(s.target)}: ${s.error!.code}${rule}: ${escapeTerminal(s.error!.message)}`,
      ),
    );
  }
  for (const s of notRun) lines.push(`  - ${s.id} ${s.op} ${esc(s.target)}: not run`);
  leftForPerson(lines);
  lines.push(`Applied so far: ${tally}`);
  lines.push(
    'Nothing was rolled back. Fix the cause and apply again: every step recognises work already done, ' +
      'so the next apply continues from here.',
  );
  return `${lines.join('\n')}\n`;
}
