/**
 * The step executor (plan.md, Steps and order): a step starts once every step it depends on is
 * done, `parallelism` at a time. A step the control plane refuses (FAILED_PRECONDITION) stops
 * only its dependents; any other failure (or an abort) stops new steps from starting, but for a
 * step that completes a change already made (`completes_change`), unless the stop is a halt.
 */
import type { ControlPlane } from '../controlplane/types.js';
import { ControlPlaneError } from '../controlplane/errors.js';
import {
  isActionable,
  PLAN_FORMAT_VERSION,
  type Change,
  type Plan,
  type Step,
} from '../model/plan.js';
import { checkedWrites, NotTheShownOneError, runCallStep, StepConflictError } from './steps.js';
import { ManualCommandError } from './manual.js';
import { isManual, waitingOnManual } from '../plan/steps.js';
import { emptyCounts, isSideEffect } from '../plan/counts.js';
import { grouped } from '../util/grouped.js';
import { plural } from '../util/plural.js';
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
import {
  WaitAbortedError,
  WaitTimeoutError,
  WaitUndoneError,
  waitDrained,
  waitIdle,
} from './wait.js';

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
    halted: false,
    finished: () => {},
    checked: checkedWrites(cp, plan, (i) => outcomes.status[i] === 'done'),
  };
  const onAbort = () => stop(run, 'aborted');
  const onHalt = () => stop(run, 'aborted', true);
  if (opts.signal?.aborted) onAbort();
  if (opts.halt?.aborted) onHalt();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  opts.halt?.addEventListener('abort', onHalt, { once: true });
  await schedule(run, parallelism);
  opts.signal?.removeEventListener('abort', onAbort);
  opts.halt?.removeEventListener('abort', onHalt);

  settleNotRun(run);
  return applyResult(plan, outcomes, run.stopping === 'aborted', started);
}

/** Apart from executePlan, so that the result keeps the outcomes, not the run. */
function applyResult(plan: Plan, outcomes: Outcomes, aborted: boolean, started: number) {
  const { status } = outcomes;
  const counted = countedChanges(plan, status);
  const counts = emptyCounts();
  counted((change, sideEffect) => {
    if (change.action === 'blocked') counts.blocked++;
    else if (sideEffect) counts.side_effects++;
    else counts[change.action as 'create' | 'update' | 'replace' | 'delete']++;
  });
  // A change made in part is named (`applied`), never counted: its change was not made.
  let steps: StepResult[] | undefined;
  let applied: AppliedChange[] | undefined;
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
    // Made when first read too: 100,000 changes (~10 MB) made at the end of the steps outlived
    // the embedded state's close (its snapshot's collections) until the inventory read them.
    get applied() {
      if (applied) return applied;
      const made: AppliedChange[] = [];
      counted(
        ({ address, action }, side_effect) => {
          if (action !== 'blocked') made.push({ address, action, side_effect });
        },
        ({ address, action }) =>
          made.push({ address, action: 'partial', side_effect: false, partial_of: action }),
      );
      return (applied = made);
    },
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
  /**
   * Steps are known by their index in the plan: among ready steps, the lowest runs first. Only
   * steps that may start are in it (mayStart): a stop takes the others out.
   */
  ready: MinHeap;
  stopping: 'failure' | 'aborted' | null;
  /** Stopped by `halt`: not even a step completing a change starts. */
  halted: boolean;
  /** Called once per step started, when it is over (schedule). */
  finished: () => void;
  /**
   * Writes of an object the plan showed read it again at the moment they act; deletes, what they
   * would take; queue updates set what the plan shows changing on the queue as it is then.
   */
  checked: ReturnType<typeof checkedWrites>;
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
  waiting: Int32Array;
  first: Int32Array;
  dependents: Int32Array;
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
      `the plan has ${plural(plan.errors.length, 'error')}; nothing was applied. Fix them and plan again:\n${first}${more}`,
    );
  }
  const { steps } = plan;
  const deps = dependencyIndices(steps);
  // The dependents of each step, grouped from the pairs (dependency, step).
  const waiting = new Int32Array(steps.length);
  const { start: first, values: dependents } = grouped(steps.length, (add) => {
    let k = 0;
    for (let i = 0; i < steps.length; i++) {
      const n = steps[i]!.depends_on.length;
      waiting[i] = n;
      for (const end = k + n; k < end; k++) add(deps[k]!, i);
    }
  });
  const graph = { waiting, first, dependents };
  // A cycle would leave steps waiting forever: every step must be reachable by Kahn's order.
  const left = waiting.slice();
  // Pushed, not flatMap: no array per step (100,000 at 100,000 steps).
  const queue: number[] = [];
  left.forEach((n, i) => n === 0 && queue.push(i));
  let seen = 0;
  while (queue.length > 0) {
    const i = queue.pop()!;
    seen++;
    for (let d = first[i]!; d < first[i + 1]!; d++)
      if (--left[dependents[d]!]! === 0) queue.push(dependents[d]!);
  }
  if (seen !== steps.length) {
    const stuck = steps.filter((_, i) => left[i]! > 0).map((s) => s.id);
    throw new ApplyRefusedError(
      `the plan's step graph has a cycle through ${stuck.slice(0, 10).join(', ')}`,
    );
  }
  return graph;
}

/**
 * Every step's `depends_on` as plan indices, one after another in plan order; refuses a repeated
 * step id and an unknown dependency. A planner's ids are s1, s2 … in plan order (graph.ts): then
 * an id's number is its index, read from its text instead of a map of every id (3 lookups a
 * dependency, ~300,000 at 100,000 creates); any other ids (a plan file edited by hand) by the map.
 */
function dependencyIndices(steps: readonly Step[]): Int32Array {
  const numbered = steps.every((step, i) => idNumber(step.id) === i + 1);
  let indexOf: Map<string, number> | null = null;
  if (!numbered) {
    indexOf = new Map<string, number>();
    for (const [i, step] of steps.entries()) {
      if (indexOf.has(step.id))
        throw new ApplyRefusedError(`the plan's step graph repeats step id ${step.id}`);
      indexOf.set(step.id, i);
    }
  }
  const out = new Int32Array(steps.reduce((sum, step) => sum + step.depends_on.length, 0));
  let k = 0;
  // Indexed: run once, a for-of stays unoptimised (an object an item), a forEach a closure a step.
  for (let s = 0; s < steps.length; s++) {
    const { id, depends_on } = steps[s]!;
    for (let d = 0; d < depends_on.length; d++) {
      const dep = depends_on[d]!;
      const i = indexOf ? indexOf.get(dep) : numberedIndex(dep, steps.length);
      if (i === undefined) throw new ApplyRefusedError(`step ${id} depends on unknown step ${dep}`);
      out[k++] = i;
    }
  }
  return out;
}

function numberedIndex(id: string, steps: number): number | undefined {
  const n = idNumber(id);
  return n >= 1 && n <= steps ? n - 1 : undefined;
}

/** N of an id `sN` written as the planner writes it (no leading zero, below 10⁹), else 0. */
function idNumber(id: string): number {
  if (id.length < 2 || id.length > 10 || id.charCodeAt(0) !== 115 || id.charCodeAt(1) === 48)
    return 0;
  let n = 0;
  for (let i = 1; i < id.length; i++) {
    const digit = id.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return 0;
    n = n * 10 + digit;
  }
  return n;
}

function stop(run: Run, reason: 'failure' | 'aborted', halt = false): void {
  if (run.stopping !== null && (run.halted || !halt)) return;
  run.halted = halt;
  if (run.stopping === null) {
    run.stopping = reason;
    run.emit({ type: 'stopping', reason });
  }
  run.ready.keep((i) => mayStart(run, i));
}

/**
 * Whether a ready step may start: any until the apply stops; then only one completing a change
 * whose first step is done (a registration's disable, C6, or a moved queue's activation: the
 * object is left as the repository declares it, as a call in flight is let finish), and none
 * once halted.
 */
function mayStart(run: Run, index: number): boolean {
  return run.stopping === null || (!run.halted && run.plan.steps[index]!.completes_change === true);
}

function schedule(run: Run, parallelism: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let running = 0;
    const pump = () => {
      while (running < parallelism && run.ready.size > 0) {
        running++;
        runStep(run, run.ready.pop()!);
      }
      if (running === 0) resolve();
    };
    run.finished = () => {
      running--;
      pump();
    };
    pump();
  });
}

/**
 * Starts the step; `run.finished` is called once it is over, in a microtask of its own: the
 * steps whose calls ended together all finish (their lines printed) before the next ones start,
 * as when the scheduler awaited each step's promise, and no recursion through steps that end at
 * once. Not an async function: its state, kept across the await for every step in flight, and
 * its promise were ~0.7 KB a step, the most the executor allocated at 100,000 steps.
 */
function runStep(run: Run, index: number): void {
  const step = run.plan.steps[index]!;
  if (leftForPerson(run, step, index)) return queueMicrotask(run.finished);
  run.emit({ type: 'step_started', step });
  const t0 = performance.now();
  let call: Promise<{ note: string | null } | void>;
  try {
    call = performStep(run, step);
  } catch (err) {
    // Failed before any call was made: reported like a call's failure, not before the steps
    // started with it.
    call = Promise.reject(err);
  }
  void call.then(
    (outcome) => settled(run, index, t0, outcome?.note ?? null, null),
    (err: unknown) => settled(run, index, t0, null, toStepError(err)),
  );
}

function settled(
  run: Run,
  index: number,
  t0: number,
  note: string | null,
  error: StepError | null,
) {
  try {
    finishStep(run, index, t0, note, error);
  } finally {
    queueMicrotask(run.finished);
  }
}

/** A manual step without a runner is left for a person: its dependents never become ready. */
function leftForPerson(run: Run, step: Step, index: number): boolean {
  const { opts } = run;
  if (!isManual(step) || (opts.runManual && (opts.canRunManual?.(step) ?? true))) return false;
  // Reported `waiting` below (settleNotRun).
  run.outcomes.status[index] = 'manual';
  run.outcomes.note[index] = step.manual?.command ?? null;
  run.emit({ type: 'step_manual', step });
  return true;
}

function finishStep(
  run: Run,
  index: number,
  t0: number,
  note: string | null,
  error: StepError | null,
): void {
  const step = run.plan.steps[index]!;
  const o = run.outcomes;
  const status = error === null ? 'done' : 'failed';
  const duration_ms = Math.round(performance.now() - t0);
  o.status[index] = status;
  o.duration_ms[index] = duration_ms;
  o.error[index] = error;
  o.note[index] = note;
  run.emit({ type: 'step_finished', step, status, duration_ms, error, note });
  // A refusal the plan could not foresee (FAILED_PRECONDITION: an app assigned to a cluster,
  // a writer beside poolsync) stops only what depends on the step; any other failure, all.
  if (error !== null) {
    if (error.code !== 'FAILED_PRECONDITION')
      stop(run, error.code === 'ABORTED' ? 'aborted' : 'failure');
    return;
  }
  const { waiting, first, dependents } = run.graph;
  // Indexed, not a subarray and its iterator: two objects a step (~40 MB at 100,000 steps).
  for (let d = first[index]!; d < first[index + 1]!; d++) {
    const next = dependents[d]!;
    if (--waiting[next]! === 0 && mayStart(run, next)) run.ready.push(next);
  }
}

/**
 * The step's work, failing as its call failed. Not async, nor its call steps' dispatch
 * (runCallStep): an async layer a step was a promise, its state and a tick more for each of
 * 100,000 steps; the manual and wait steps' closures are made in their own functions.
 */
function performStep(run: Run, step: Step): Promise<{ note: string | null } | void> {
  if (isManual(step)) return runManualStep(run, step);
  if (step.op === 'wait_idle' || step.op === 'wait_drained') return waitStep(run, step);
  if (step.op === 'delete_cluster') return run.checked.cluster(step);
  if (step.op === 'update_cluster') return run.checked.updateCluster(step);
  if (step.op === 'drain_queue' || step.op === 'delete_queue') return run.checked.queue(step);
  if (step.op === 'delete_pool') return run.checked.pool(step);
  if (step.op === 'update_queue' || step.op === 'move_queue') return run.checked.queueWrite(step);
  if (step.op === 'move_cluster' || step.op === 'activate_queue' || step.op === 'update_pool')
    return run.checked.write(step);
  if (step.op === 'delete_assignment' || step.op === 'delete_execution_cluster_label')
    return run.checked.attribute(step);
  return runCallStep(run.cp, step);
}

function runManualStep(run: Run, step: Step) {
  return run.opts.runManual!(step, (stream, line) =>
    run.emit({ type: 'manual_output', step, stream, line }),
  );
}

function waitStep(run: Run, step: Extract<Step, { op: 'wait_idle' | 'wait_drained' }>) {
  const { cp, opts, emit } = run;
  return (step.op === 'wait_idle' ? waitIdle : waitDrained)(cp, step.args.queues, {
    timeoutMs: run.waitTimeoutMs,
    pollIntervalMs: opts.pollIntervalMs ?? DEFAULT_POLL,
    signal: opts.signal,
    onProgress: (p) => emit({ type: 'wait_progress', step, ...p }),
  });
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
  if (err instanceof WaitUndoneError) return { code: 'CONFLICT', message: err.message, rule: 'C9' };
  if (err instanceof NotTheShownOneError)
    return { code: 'CONFLICT', message: err.message, rule: err.rule };
  if (err instanceof StepConflictError)
    return { code: 'CONFLICT', message: err.message, rule: null };
  if (err instanceof ManualCommandError)
    return { code: 'MANUAL_COMMAND_FAILED', message: err.message, rule: null };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message, rule: null };
}

/**
 * The plan's one count of what was done, change by change in plan order: blocked ones, and each
 * done one with whether it is a side effect. A change counts when its steps are done (but one
 * completing it: a cluster registered is made, disabled or not); a side effect when its cause's
 * steps are, or (no cause named) when the whole apply succeeded. `partly`: a change some of
 * whose calls are done, not all (a queue drained, not moved: it takes no new work).
 */
function countedChanges(plan: Plan, status: readonly StepStatus[]) {
  const allDone = status.every((s) => s === 'done');
  // Every step done: every change is, and `done` below is true (countPlan's side effects).
  const calls = allDone ? null : callsByTarget(plan, status);
  const callsDone = (address: string) => {
    const c = calls!.get(address);
    return c === undefined || c === NO_CALL ? null : c === CALLS_DONE;
  };
  const sideEffects = allDone ? causedWithoutStep(plan) : null;
  return (
    counted: (change: Change, sideEffect: boolean) => void,
    partly?: (change: Change) => void,
  ): void => {
    for (const change of plan.changes) {
      if (change.action === 'blocked') {
        counted(change, false);
        continue;
      }
      if (!isActionable(change.action)) continue;
      const done =
        calls === null ||
        (callsDone(change.address) ??
          (change.caused_by ? callsDone(change.caused_by) : null) ??
          allDone);
      if (!done) {
        if (calls!.get(change.address) === (CALLS_DONE | CALLS_LEFT)) partly?.(change);
        continue;
      }
      counted(
        change,
        calls === null
          ? Boolean(change.caused_by) && sideEffects!.has(change.address)
          : isSideEffect(change, calls),
      );
    }
  };
}

const NO_CALL = 0;
const CALLS_DONE = 1;
const CALLS_LEFT = 2;

/**
 * Per target: whether some of its call steps are done (CALLS_DONE), some not (CALLS_LEFT), both
 * or neither (NO_CALL: it has none), kept as one number rather than a list of its results
 * (100,000 lists, ~10 MB, at the end of a 100,000-step apply: issue 63). Its keys are the steps'
 * targets, which tell side effects. Waits are no call that makes it, nor a step completing a change
 * (a cluster registered is made) but an activation: undone, its queue is left drained, made in part.
 */
function callsByTarget(plan: Plan, status: readonly StepStatus[]) {
  const calls = new Map<string, number>();
  plan.steps.forEach((s, i) => {
    const completes = s.completes_change === true && s.op !== 'activate_queue';
    const makes = !(s.op === 'wait_idle' || s.op === 'wait_drained' || completes);
    const call = makes ? (status[i] === 'done' ? CALLS_DONE : CALLS_LEFT) : NO_CALL;
    calls.set(s.target, (calls.get(s.target) ?? NO_CALL) | call);
  });
  return calls;
}

/**
 * The caused changes' addresses no step acts on (isSideEffect), as countPlan finds them: not a
 * map of every step's target (~100,000 sets at 100,000 creates).
 */
function causedWithoutStep(plan: Plan): Set<string> {
  const caused = new Set<string>();
  plan.changes.forEach((c) => {
    if (c.caused_by && isActionable(c.action)) caused.add(c.address);
  });
  if (caused.size > 0) plan.steps.forEach((s) => caused.delete(s.target));
  return caused;
}

/** A min-heap of plan indices: the ready set stays ordered in O(log n) per step. */
export class MinHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  /** Keeps only the items `wanted` accepts. */
  keep(wanted: (item: number) => boolean): void {
    const kept = this.items.filter(wanted);
    this.items.length = 0;
    for (const item of kept) this.push(item);
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
