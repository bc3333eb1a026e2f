/**
 * The step executor (plan.md, Steps and order): a step starts once every step it depends on is
 * done, `parallelism` at a time. A step the control plane refuses (FAILED_PRECONDITION) stops
 * only its dependents; any other failure (or an abort) stops new steps from starting.
 */
import type { ControlPlane } from '../controlplane/types.js';
import { ControlPlaneError } from '../controlplane/errors.js';
import { isActionable, PLAN_FORMAT_VERSION, type Plan, type Step } from '../model/plan.js';
import { runCallStep, StepConflictError } from './steps.js';
import { ManualCommandError } from './manual.js';
import { isManual, waitingOnManual } from '../plan/steps.js';
import { emptyCounts, isSideEffect } from '../plan/counts.js';
import { grouped } from '../util/grouped.js';
import {
  ApplyRefusedError,
  DEFAULT_PARALLELISM,
  DEFAULT_WAIT_TIMEOUT_MS,
  type AppliedChange,
  type ApplyEvent,
  type ApplyResult,
  type ExecuteOptions,
  type StepError,
  type StepResult,
  type StepStatus,
} from './types.js';
import { WaitAbortedError, WaitTimeoutError, waitDrained, waitIdle } from './wait.js';

const DEFAULT_POLL = { initial: 500, max: 15_000 };

export async function executePlan(plan: Plan, cp: ControlPlane, opts: ExecuteOptions = {}) {
  const parallelism = opts.parallelism ?? DEFAULT_PARALLELISM;
  if (!Number.isInteger(parallelism) || parallelism < 1)
    throw new ApplyRefusedError(
      `parallelism must be a whole number of at least 1 (got ${parallelism})`,
    );
  const waitTimeoutMs = opts.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  if (!(waitTimeoutMs >= 0))
    throw new ApplyRefusedError(`wait timeout must be ≥ 0 (got ${waitTimeoutMs})`);
  const graph = checkPlan(plan);

  const started = performance.now();
  const ready = new MinHeap();
  graph.waiting.forEach((n, i) => n === 0 && ready.push(i));
  const outcomes = notRun(plan.steps.length);
  const run: Run = {
    plan,
    cp,
    opts,
    waitTimeoutMs,
    emit: (e) => {
      try {
        opts.onEvent?.(e);
      } catch {
        // An observer's failure (e.g. a closed stdout) must not stop or corrupt the apply.
      }
    },
    outcomes,
    graph,
    ready,
    stopping: null,
  };
  const onAbort = () => stop(run, 'aborted');
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  await schedule(run, parallelism);
  opts.signal?.removeEventListener('abort', onAbort);

  settleNotRun(run);
  return applyResult(plan, outcomes, run.stopping === 'aborted', started);
}

/** Apart from executePlan, so that the result keeps the outcomes, not the run. */
function applyResult(plan: Plan, outcomes: Outcomes, aborted: boolean, started: number) {
  const { status } = outcomes;
  const { counts, applied } = countChanges(plan, status);
  let steps: StepResult[] | undefined;
  return {
    ok: status.every((s) => s === 'done'),
    manual: plan.steps.filter((_, i) => status[i] === 'manual').map((s) => s.id),
    aborted,
    // Made when first read: a successful apply printed as text never reads them, and JSON
    // output after the records are written, past apply's peak (100,000 results: ~8 MB, issue 63).
    get steps() {
      return (steps ??= plan.steps.map((step, i) => stepResult(step, outcomes, i)));
    },
    counts,
    applied,
    duration_ms: Math.round(performance.now() - started),
  } satisfies ApplyResult;
}

interface Run {
  plan: Plan;
  cp: ControlPlane;
  opts: ExecuteOptions;
  waitTimeoutMs: number;
  emit: (e: ApplyEvent) => void;
  outcomes: Outcomes;
  /** Kahn's algorithm, driven by completions (`waiting` counts down). */
  graph: StepGraph;
  /** Steps are known by their index in the plan: among ready steps, the lowest runs first. */
  ready: MinHeap;
  stopping: 'failure' | 'aborted' | null;
}

/**
 * What each step's StepResult says beyond its step, by plan index: arrays rather than an object
 * per step (100,000 of them were ~8 MB through a 100,000-step apply, issue 63).
 */
interface Outcomes {
  status: StepStatus[];
  duration_ms: (number | null)[];
  error: (StepError | null)[];
  note: (string | null)[];
}

function notRun(steps: number): Outcomes {
  const nulls = () => new Array<null>(steps).fill(null);
  const status = new Array<StepStatus>(steps).fill('not_run');
  return { status, duration_ms: nulls(), error: nulls(), note: nulls() };
}

/** Members in this order (apply's JSON output prints them as they are). */
function stepResult({ id, op, target }: Step, o: Outcomes, i: number): StepResult {
  return {
    id,
    op,
    target,
    status: o.status[i]!,
    duration_ms: o.duration_ms[i]!,
    error: o.error[i]!,
    note: o.note[i]!,
  };
}

/**
 * The steps' dependencies by plan index: how many each waits for, and the dependents of step d,
 * `dependents[first[d]]` up to `first[d + 1]`, in two flat arrays (a list per step was ~5 MB
 * at 100,000 steps, issue 63). A dependency named twice is counted and listed twice, so it is
 * waited for once.
 */
interface StepGraph {
  waiting: number[];
  first: Int32Array;
  dependents: Int32Array;
}

function stepGraph(steps: readonly Step[], indexOf: ReadonlyMap<string, number>): StepGraph {
  const waiting = steps.map((step) => step.depends_on.length);
  const { start: first, values: dependents } = grouped(steps.length, (add) =>
    steps.forEach((step, i) => {
      for (const dep of step.depends_on) add(indexOf.get(dep)!, i);
    }),
  );
  return { waiting, first, dependents };
}

/** The steps that can start once step `d` is done. */
function dependentsOf({ first, dependents }: StepGraph, d: number): Int32Array {
  return dependents.subarray(first[d], first[d + 1]);
}

/**
 * Refuses what cannot be executed safely: plan errors, another format, a malformed graph;
 * returns the graph.
 */
function checkPlan(plan: Plan): StepGraph {
  if (plan.format_version !== PLAN_FORMAT_VERSION)
    throw new ApplyRefusedError(
      `plan format_version ${JSON.stringify(plan.format_version)} is not supported (expected "${PLAN_FORMAT_VERSION}")`,
    );
  if (plan.errors.length > 0) {
    const first = plan.errors
      .slice(0, 5)
      // A plan file's errors carry their words; a plan made in this process never gets here
      // with errors (ops refuses it first), so its codes say enough.
      .map(
        (e) =>
          `  ${[e.location ?? e.address, e.code].filter(Boolean).join(' ')}${e.message ? `: ${e.message}` : ''}`,
      )
      .join('\n');
    const more = plan.errors.length > 5 ? `\n  … and ${plan.errors.length - 5} more` : '';
    throw new ApplyRefusedError(
      `the plan has ${plan.errors.length} error(s); nothing was applied. Fix them and plan again:\n${first}${more}`,
    );
  }
  const indexOf = new Map<string, number>();
  plan.steps.forEach((step, i) => {
    if (indexOf.has(step.id))
      throw new ApplyRefusedError(`the plan's step graph repeats step id ${step.id}`);
    indexOf.set(step.id, i);
  });
  for (const step of plan.steps)
    for (const dep of step.depends_on)
      if (!indexOf.has(dep))
        throw new ApplyRefusedError(`step ${step.id} depends on unknown step ${dep}`);
  // A cycle would leave steps waiting forever: every step must be reachable by Kahn's order.
  const graph = stepGraph(plan.steps, indexOf);
  const waiting = [...graph.waiting];
  // Pushed, not flatMap: no array per step (100,000 at 100,000 steps).
  const queue: number[] = [];
  waiting.forEach((n, i) => n === 0 && queue.push(i));
  let seen = 0;
  while (queue.length > 0) {
    const i = queue.pop()!;
    seen++;
    for (const n of dependentsOf(graph, i)) if (--waiting[n]! === 0) queue.push(n);
  }
  if (seen !== plan.steps.length) {
    const stuck = plan.steps.filter((_, i) => waiting[i]! > 0).map((s) => s.id);
    throw new ApplyRefusedError(
      `the plan's step graph has a cycle through ${stuck.slice(0, 10).join(', ')}`,
    );
  }
  return graph;
}

function stop(run: Run, reason: 'failure' | 'aborted'): void {
  if (run.stopping !== null) return;
  run.stopping = reason;
  run.emit({ type: 'stopping', reason });
}

function schedule(run: Run, parallelism: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let running = 0;
    const pump = () => {
      while (run.stopping === null && running < parallelism && run.ready.size > 0) {
        running++;
        void runStep(run, run.ready.pop()!).finally(() => {
          running--;
          pump();
        });
      }
      if (running === 0) resolve();
    };
    pump();
  });
}

async function runStep(run: Run, index: number): Promise<void> {
  const { opts, emit } = run;
  const step = run.plan.steps[index]!;
  const o = run.outcomes;
  if (isManual(step) && !(opts.runManual && (opts.canRunManual?.(step) ?? true))) {
    // Left for a person: its dependents never become ready (reported `waiting` below).
    o.status[index] = 'manual';
    o.note[index] = step.manual?.command ?? null;
    emit({ type: 'step_manual', step });
    return;
  }
  emit({ type: 'step_started', step });
  const t0 = performance.now();
  const { note, error } = await performStep(run, step);
  const status = error === null ? 'done' : 'failed';
  const duration_ms = Math.round(performance.now() - t0);
  o.status[index] = status;
  o.duration_ms[index] = duration_ms;
  o.error[index] = error;
  o.note[index] = note;
  emit({ type: 'step_finished', step, status, duration_ms, error, note });
  // A refusal the plan could not foresee (FAILED_PRECONDITION: an app assigned to a cluster,
  // a writer beside poolsync) stops only what depends on the step; any other failure, all.
  if (error !== null) {
    if (error.code !== 'FAILED_PRECONDITION')
      stop(run, error.code === 'ABORTED' ? 'aborted' : 'failure');
    return;
  }
  const { graph } = run;
  for (const next of dependentsOf(graph, index))
    if (--graph.waiting[next]! === 0) run.ready.push(next);
}

async function performStep(run: Run, step: Step) {
  const { cp, opts, emit } = run;
  let note: string | null = null;
  try {
    if (isManual(step)) {
      note = (
        await opts.runManual!(step, (stream, line) =>
          emit({ type: 'manual_output', step, stream, line }),
        )
      ).note;
    } else if (step.op === 'wait_idle' || step.op === 'wait_drained') {
      await (step.op === 'wait_idle' ? waitIdle : waitDrained)(cp, step.args.queues, {
        timeoutMs: run.waitTimeoutMs,
        pollIntervalMs: opts.pollIntervalMs ?? DEFAULT_POLL,
        signal: opts.signal,
        onProgress: (p) => emit({ type: 'wait_progress', step, ...p }),
      });
    } else {
      note = (await runCallStep(cp, step)).note;
    }
  } catch (err) {
    return { note, error: toStepError(err) };
  }
  return { note, error: null };
}

/** What did not run and why: a person's (manual), or waiting on a person's step. */
function settleNotRun(run: Run): void {
  const { plan } = run;
  const { status, note } = run.outcomes;
  // A manual step that follows another manual step (register a cluster into a pool a person
  // creates) never becomes ready, but it is the person's as well: in the runbook, not a failure.
  // (With a runner, only one whose ancestor was left can still be not run here.)
  if (run.stopping === null) {
    plan.steps.forEach((step, i) => {
      if (status[i] !== 'not_run' || !isManual(step)) return;
      status[i] = 'manual';
      note[i] = step.manual?.command ?? null;
    });
  }
  const blockedBy = waitingOnManual(plan.steps);
  if (blockedBy.size === 0) return;
  const indexOf = new Map(plan.steps.map((s, i) => [s.id, i]));
  for (const [id, by] of blockedBy) {
    const i = indexOf.get(id)!;
    if (status[i] !== 'not_run' || status[indexOf.get(by)!] !== 'manual') continue;
    status[i] = 'waiting';
    note[i] = `waiting on manual step ${by}`;
  }
}

function toStepError(err: unknown): StepError {
  if (err instanceof ControlPlaneError)
    return { code: err.code, message: err.message, rule: err.rule };
  if (err instanceof WaitTimeoutError)
    return { code: 'WAIT_TIMEOUT', message: err.message, rule: 'C9' };
  if (err instanceof WaitAbortedError) return { code: 'ABORTED', message: err.message, rule: null };
  if (err instanceof StepConflictError)
    return { code: 'CONFLICT', message: err.message, rule: null };
  if (err instanceof ManualCommandError)
    return { code: 'MANUAL_COMMAND_FAILED', message: err.message, rule: null };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message, rule: null };
}

/**
 * The plan's one count of what was done: a change counts when its steps are done; a side
 * effect when its cause's steps are, or (no cause named) when the whole apply succeeded.
 */
function countChanges(plan: Plan, status: readonly StepStatus[]) {
  // Per target: its call steps all done (null: it has none), kept as one value rather than a
  // list of its results (100,000 lists, ~10 MB, at the end of a 100,000-step apply: issue 63).
  // Its keys are the steps' targets, which tell side effects.
  const callsDone = new Map<string, boolean | null>();
  plan.steps.forEach((s, i) => {
    const done = s.op === 'wait_idle' || s.op === 'wait_drained' ? null : status[i] === 'done';
    const was = callsDone.get(s.target);
    if (was === undefined || (was !== false && done !== null)) callsDone.set(s.target, done);
  });
  const allDone = status.every((s) => s === 'done');
  const counts = emptyCounts();
  const applied: AppliedChange[] = [];
  for (const change of plan.changes) {
    if (change.action === 'blocked') {
      counts.blocked++;
      continue;
    }
    if (!isActionable(change.action)) continue;
    const done =
      callsDone.get(change.address) ??
      (change.caused_by ? callsDone.get(change.caused_by) : null) ??
      allDone;
    if (!done) continue;
    const sideEffect = isSideEffect(change, callsDone);
    if (sideEffect) counts.side_effects++;
    else counts[change.action]++;
    applied.push({ address: change.address, action: change.action, side_effect: sideEffect });
  }
  return { counts, applied };
}

/** A min-heap of plan indices: the ready set stays ordered in O(log n) per step. */
export class MinHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(item: number): void {
    const a = this.items;
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= item) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = item;
  }
  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && a[r]! < a[l]! ? r : l;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
