/**
 * What `poolsync apply` prints, every name escaped for the terminal (issue 38, item 6: a live
 * name holding ESC or a newline never forges a line), and `--output json`'s one document
 * (schemas/apply-result.schema.json, docs/apply.md#json-output).
 */
import { escapeJsonForTerminal, escapeTerminal as esc } from '../util/terminal-text.js';
import type { Plan, Step, WaitWhy } from '../model/plan.js';
import { emptyCounts, type PlanCounts } from '../plan/counts.js';
import type {
  AppliedChange,
  ApplyEvent,
  ApplyResult,
  StepError,
  StepResult,
  StepStatus,
} from './types.js';
import { formatDuration } from '../util/duration.js';
import { isNotTheShownOne } from './steps.js';
import { jsonParts } from '../util/json-parts.js';
import { plural } from '../util/plural.js';

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

/** Why a step completing a change starts although the apply is stopping. */
const STOPPING_WORDS = (op: Step['op']) =>
  op === 'activate_queue'
    ? 're-activating it although the apply is stopping: it was drained for its move, which is done'
    : 'disabling it although the apply is stopping: it was just registered, and the repository declares it disabled';

export type Colors = Record<'green' | 'red' | 'yellow' | 'bold', (s: string) => string>;

const same = (s: string) => s;
export const NO_COLOR: Colors = { green: same, red: same, yellow: same, bold: same };
const sgr = (code: number) => (s: string) => `\u001b[${code}m${s}\u001b[0m`;
export const ANSI: Colors = { green: sgr(32), red: sgr(31), yellow: sgr(33), bold: sgr(1) };

/** A busy queue of a wait is reported at most this often. */
const WAIT_LINE_EVERY_MS = 10_000;

export function progressPrinter(write: (line: string) => void, colors: Colors = NO_COLOR) {
  const lastWaitLine = new Map<string, number>();
  let stopping = false;
  return (e: ApplyEvent): void => {
    switch (e.type) {
      case 'step_started':
        // Once stopping, only a step completing a change starts: the planner marks a
        // registration's disable (C6) and the activation after a move.
        return write(
          stopping ? `${startedLine(e)} (${STOPPING_WORDS(e.step.op)})` : startedLine(e),
        );
      case 'step_finished':
        return write(finishedLine(e, colors));
      case 'wait_progress': {
        const key = `${e.step.id}\u0000${e.queue}`;
        const last = lastWaitLine.get(key);
        if (last !== undefined && e.elapsed_ms - last < WAIT_LINE_EVERY_MS) return;
        lastWaitLine.set(key, e.elapsed_ms);
        return write(waitLine(e));
      }
      case 'step_manual':
        return write(
          colors.yellow(
            `${esc(e.step.target)}: manual step, left for you (no public API) [${e.step.id}]: ${esc(e.step.manual?.command ?? '')}`,
          ),
        );
      case 'manual_output':
        return write(`${esc(e.step.target)}: | ${esc(e.line)}`);
      case 'stopping':
        stopping = true;
        return write(
          colors.yellow(
            `${e.reason === 'aborted' ? 'Interrupted' : 'A step failed'}: starting no new step; waiting for the running ones to finish...`,
          ),
        );
    }
  };
}

type EventOf<T extends ApplyEvent['type']> = Extract<ApplyEvent, { type: T }>;

// VERB's words by index, not destructured: an array iterator a line where not optimised.
function startedLine(e: EventOf<'step_started'>): string {
  const verb = VERB[e.step.op][0];
  const s = e.step;
  const what =
    s.op === 'wait_idle'
      ? ` queues ${s.args.queues.map((q) => esc(q) + watchedWords(s.args.why?.[q])).join(', ')}`
      : s.op === 'wait_drained'
        ? ` queues ${s.args.queues.map(esc).join(', ')}`
        : '';
  return `${esc(s.target)}: ${verb}${what}... [${s.id}]`;
}

/** Why a cluster's wait watches a queue; nothing for a plan saved before plans said so. */
const WATCHED: Record<WaitWhy, string> = {
  co_named: 'its co-named queue',
  only_leaving: 'routed only to clusters this plan takes away',
  recorded: 'watched by an earlier apply that stopped waiting',
  wildcard: '`*` of its pool, which this plan empties',
  retired: 'retired in its pool',
};
const watchedWords = (why: WaitWhy | undefined) =>
  why && Object.hasOwn(WATCHED, why) ? ` (${WATCHED[why]})` : '';

function finishedLine(e: EventOf<'step_finished'>, colors: Colors): string {
  const noun = VERB[e.step.op][1];
  const after = formatDuration(e.duration_ms);
  if (e.status === 'done') {
    const note = e.note ? ` (${esc(e.note)})` : '';
    return colors.green(
      `${esc(e.step.target)}: ${noun} complete after ${after}${note} [${e.step.id}]`,
    );
  }
  return colors.red(
    `${esc(e.step.target)}: ${noun} failed after ${after} [${e.step.id}]: ${errorWords(e.error!)}`,
  );
}

function errorWords(err: StepError): string {
  return `${err.code}${err.rule ? ` (${err.rule})` : ''}: ${esc(err.message)}`;
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

/** How many failed or not-run steps the failure report names one by one. */
const LISTED = 20;

/** What the done steps changed (ApplyResult.counts): the plan's one count in the past tense. */
export function doneCounts(c: Omit<PlanCounts, 'side_effects'>): string {
  return `${c.create} created, ${c.update} updated, ${c.replace} replaced, ${c.delete} deleted; ${c.blocked} blocked`;
}

/**
 * `Apply complete: N created, …` on success; otherwise the failure report, every step accounted
 * for. `saved`: a saved plan was applied, which its own done steps made stale (apply refuses it).
 * `stoppedBy`: the signal that stopped it (a person's interrupt, not a cause to fix).
 */
export function renderApplyResult(
  result: ApplyResult,
  plan: PlanChanges,
  colors: Colors = NO_COLOR,
  saved = false,
  stoppedBy?: NodeJS.Signals,
): string {
  const c = result.counts;
  // The plan's one count (its closing line), in the past tense; side effects as its `#` line.
  const tally =
    doneCounts(c) +
    (c.side_effects > 0
      ? `; ${c.side_effects} more change${c.side_effects === 1 ? '' : 's'} made by the control plane itself (marked # in the plan).`
      : '.');
  if (result.ok) return `${colors.bold(colors.green(`Apply complete: ${tally}`))}\n`;

  const of = (status: StepStatus) => result.steps.filter((s) => s.status === status);
  const failed = of('failed');
  const notRun = of('not_run');
  const manual = of('manual');
  const waiting = of('waiting');
  const done = of('done').length;
  const total = result.steps.length;
  const leftForPerson = [
    ...manual.map((s) => `  ✋ ${s.id} ${s.op} ${esc(s.target)}: manual step`),
    ...waiting.map(
      (s) => `  … ${s.id} ${s.op} ${esc(s.target)}: ${esc(s.note ?? 'waiting on a manual step')}`,
    ),
  ];
  let lines: string[];
  if (failed.length === 0 && notRun.length === 0 && !result.aborted && manual.length > 0) {
    const head =
      `Apply stopped at ${plural(manual.length, 'manual step')}: ${done} of ${total} steps done, ` +
      `${waiting.length} waiting on a manual step.`;
    // A change made in part is named here too: it is left as it is until the next apply.
    const partly = partialWords(result, plan, result.applied);
    lines = [
      colors.bold(colors.yellow(head)),
      ...leftForPerson,
      `Applied so far: ${tally}`,
      ...[...partly].map(([address, words]) => partialLine(address, words, colors)),
    ];
  } else {
    const left = leftForPerson.length;
    const head =
      `${result.aborted ? 'Apply interrupted' : 'Apply failed'}: ${done} of ${total} steps done, ` +
      `${failed.length} failed, ${notRun.length} not run${left > 0 ? `, ${left} left for manual steps` : ''}.`;
    // Thousands (a control plane gone mid-apply) would scroll the reason away.
    const shownFailed = failed.length <= LISTED ? failed : failed.slice(0, LISTED - 1);
    lines = [
      colors.bold(colors.red(head)),
      ...shownFailed.map((s) =>
        colors.red(`  ✗ ${s.id} ${s.op} ${esc(s.target)}: ${errorWords(s.error!)}`),
      ),
      ...(shownFailed.length < failed.length
        ? [
            colors.red(
              `  ✗ ${failed.length - shownFailed.length} more failed (\`--output json\` lists every step)`,
            ),
          ]
        : []),
      ...(notRun.length <= LISTED
        ? notRun.map((s) => `  - ${s.id} ${s.op} ${esc(s.target)}: not run`)
        : [`  - ${notRun.length} steps not run (\`poolsync plan\` shows what is left)`]),
      ...leftForPerson,
      `Applied so far: ${tally}`,
      ...appliedLines(result, plan, colors),
      `Nothing was rolled back. ${stoppedBy ? `Stopped by ${stoppedBy === 'SIGINT' ? 'Ctrl-C (SIGINT)' : stoppedBy}: to finish, ` : 'Fix the cause and '}${saved ? 'plan and apply again (this saved plan is now stale)' : 'apply again'}: ` +
        'every step recognises work already done, so the next apply continues from here.',
    ];
  }
  return `${lines.join('\n')}\n`;
}

const PAST: Record<string, string> = {
  create: 'created',
  update: 'updated',
  replace: 'replaced',
  delete: 'deleted',
};

/**
 * The changes a stopped apply made (its steps ran, side effects aside), each named: a cluster
 * registered whose disable (C6) did not run takes work the repository withholds from it, and a
 * change made in part is said as it is left (a queue drained takes no new work).
 */
function appliedLines(result: ApplyResult, plan: PlanChanges, colors: Colors): string[] {
  const made = result.applied.filter((a) => !a.side_effect);
  const partly = partialWords(result, plan, made);
  /** The words of each disable left undone, by its cluster. */
  const stillEnabled = new Map<string, string>();
  const registered = new Set<string>();
  for (const s of result.steps) {
    if (s.op === 'register_cluster' && s.status === 'done') registered.add(s.target);
    // The only cluster update after its registration is its disable (src/plan/steps.ts).
    else if (s.op === 'update_cluster' && s.status !== 'done' && registered.has(s.target))
      stillEnabled.set(s.target, `${s.id} ${s.status === 'failed' ? 'failed' : 'did not run'}`);
  }
  const line = ({ address, action }: AppliedChange) => {
    const partial = partly.get(address);
    if (partial !== undefined) return partialLine(address, partial, colors);
    const disable = stillEnabled.get(address);
    const more = disable
      ? ` (registered, but still enabled: its disable ${disable}; the next apply disables it)`
      : '';
    return `  ✓ ${esc(address)}: ${PAST[action] ?? action}${more}`;
  };
  if (made.length <= LISTED) return made.map(line);
  // Thousands would scroll the reason away; a cluster left enabled, or a change made in part, is
  // named all the same.
  const shown = made.filter(
    (a, i) => i < LISTED - 1 || stillEnabled.has(a.address) || partly.has(a.address),
  );
  return [
    ...shown.map(line),
    `  ✓ ${made.length - shown.length} more (\`--output json\` lists every change applied)`,
  ];
}

const partialLine = (address: string, words: string, colors: Colors) =>
  colors.yellow(`  ⚠ ${esc(address)} ${words}`);

type PlanChanges = Pick<Plan, 'changes'>;

const NOUN: Record<string, string> = {
  create: 'creation',
  update: 'update',
  replace: 'replacement',
  delete: 'deletion',
};

const LEFT: Record<StepStatus, string> = {
  done: 'done',
  failed: 'failed',
  not_run: 'did not run',
  manual: 'is left for you (manual)',
  waiting: 'waits on a manual step',
};

/**
 * By address, how each change made in part is left. A queue drained and not re-activated nor
 * deleted takes no new work: said so, with its pool. Nothing is sent to undo it (docs/apply.md):
 * the next apply finishes the plan's steps.
 */
function partialWords(result: ApplyResult, plan: PlanChanges, made: AppliedChange[]) {
  const words = new Map<string, string>();
  const partial = new Set(made.filter((a) => a.action === 'partial').map((a) => a.address));
  if (partial.size === 0) return words;
  const stepsOf = new Map<string, StepResult[]>();
  /** `op target` of the done steps that say where a drained queue is: its wait, its cluster's move. */
  const doneAt = new Set<string>();
  /** By target, the wait_drained whose last read found its queue active again (WaitUndoneError). */
  const reactivated = new Map<string, string>();
  /** The targets a step found changed by another client (NotTheShownOneError). */
  const notShown = new Set<string>();
  for (const s of result.steps) {
    if (isNotTheShownOne(s.error)) notShown.add(s.target);
    if ((s.op === 'wait_drained' || s.op === 'move_cluster') && s.status === 'done')
      doneAt.add(`${s.op} ${s.target}`);
    if (s.op === 'wait_drained' && s.error?.code === 'CONFLICT') reactivated.set(s.target, s.id);
    if (!partial.has(s.target)) continue;
    const of = stepsOf.get(s.target);
    if (of) of.push(s);
    else stepsOf.set(s.target, [s]);
  }
  const changes = new Map(
    plan.changes.filter((c) => partial.has(c.address)).map((c) => [c.address, c]),
  );
  for (const address of partial) {
    const calls = (stepsOf.get(address) ?? []).filter((s) => !s.op.startsWith('wait_'));
    const done = calls.filter((s) => s.status === 'done');
    const left = calls.find((s) => s.status !== 'done');
    const change = changes.get(address);
    const ran = (op: Step['op']) => done.some((s) => s.op === op);
    // What was done went to poolsync's object, gone since: the one under its name is not left so
    // (nor a co-named queue, C2, whose cluster's step found another client's).
    if (notShown.has(address) || (change?.caused_by && notShown.has(change.caused_by))) {
      words.set(
        address,
        'was changed by another client since the plan (deleted and made again, or moved): nothing more was sent to it, and poolsync no longer records it as its own',
      );
      continue;
    }
    if (ran('drain_queue') && !ran('activate_queue') && !ran('delete_queue')) {
      // A moved cluster's co-named queue is waited for, and moves, under its cluster (U23).
      const cluster = `Cluster/${address.slice(address.indexOf('/') + 1)}`;
      const undoneBy = reactivated.get(address) ?? reactivated.get(cluster);
      const waited = doneAt.has(`wait_drained ${address}`) || doneAt.has(`wait_drained ${cluster}`);
      const moved = ran('move_queue') || doneAt.has(`move_cluster ${cluster}`);
      const pool = (moved ? change?.after : change?.before)?.pool;
      const where = typeof pool === 'string' ? ` in pool ${esc(pool)}` : '';
      const repooled = change?.action === 'update' && change.before?.pool !== change.after?.pool;
      const what = repooled ? 'move' : (NOUN[change?.action ?? ''] ?? 'change');
      // The wait's last read found it active: it takes work again, not left draining.
      if (undoneBy !== undefined) {
        words.set(
          address,
          `is active again${where} (another client re-activated it while ${undoneBy} waited for it to drain): its ${what} was not made; run \`poolsync plan\` again`,
        );
        continue;
      }
      words.set(
        address,
        `was left ${waited ? 'drained' : 'draining'}${where} (it takes no new work): apply again to finish the ${what}`,
      );
      continue;
    }
    const action = change ? (PAST[change.action] ?? change.action) : 'applied';
    const steps = done.map((s) => `${s.id} ${s.op}`).join(', ');
    const rest = left ? `; ${left.id} ${left.op} ${LEFT[left.status]}` : '';
    words.set(address, `was only partly ${action}: ${steps} done${rest}`);
  }
  return words;
}

export const APPLY_RESULT_FORMAT_VERSION = '1';

/** What happened, as one word, and the exit code that follows (docs/apply.md, Exit status). */
export const APPLY_EXIT_CODE = {
  applied: 0,
  no_changes: 0,
  manual_steps_left: 2,
  failed: 1,
  interrupted: 1,
} as const satisfies Record<string, 0 | 1 | 2>;
export type ApplyOutcome = keyof typeof APPLY_EXIT_CODE;

/** Null result: there was no step to run. */
export function applyOutcome(result: ApplyResult | null): ApplyOutcome {
  if (result === null) return 'no_changes';
  if (result.ok) return 'applied';
  if (result.aborted) return 'interrupted';
  const stopped = result.steps.some((s) => s.status === 'failed' || s.status === 'not_run');
  return stopped || result.manual.length === 0 ? 'failed' : 'manual_steps_left';
}

/** Members in this order; `result` null when the plan had no step. */
export function applyResultDocument(plan: Plan, result: ApplyResult | null) {
  const outcome = applyOutcome(result);
  const byStatus: Record<StepStatus, number> = {
    done: 0,
    failed: 0,
    not_run: 0,
    manual: 0,
    waiting: 0,
  };
  for (const s of result?.steps ?? []) byStatus[s.status] += 1;
  const counts: PlanCounts = result?.counts ?? {
    ...emptyCounts(),
    blocked: plan.summary.blocked ?? 0,
  };
  return {
    format_version: APPLY_RESULT_FORMAT_VERSION,
    outcome,
    exit_code: APPLY_EXIT_CODE[outcome],
    control_plane: plan.control_plane ?? null,
    commit: plan.commit,
    counts: {
      created: counts.create,
      updated: counts.update,
      replaced: counts.replace,
      deleted: counts.delete,
      blocked: counts.blocked,
      side_effects: counts.side_effects,
    },
    steps_by_status: byStatus,
    // The executor builds each result with exactly these members, in this order.
    steps: result?.steps ?? [],
    applied: result?.applied ?? [],
    manual: result?.manual ?? [],
    duration_ms: result?.duration_ms ?? 0,
  };
}

/**
 * The document as printed: 2-space indented, characters a terminal would obey as \u escapes. In
 * parts (util/json-parts.ts), never one string: 100,000 steps are ~60 MB of JSON, and one string
 * and its escaped copy made a 100,000-object apply peak at ~495 MB RSS (issue 63).
 */
export function* applyJsonParts(plan: Plan, result: ApplyResult | null): Generator<string> {
  for (const part of jsonParts(applyResultDocument(plan, result), 2, 2))
    yield escapeJsonForTerminal(part);
  yield '\n';
}
