/**
 * The step executor (plan.md, Steps and order): runs a plan's step graph against a control
 * plane with bounded parallelism. A step starts as soon as every step it depends on is done;
 * steps with no path between them run concurrently. The first permanent failure (or an
 * abort) stops new steps from starting; running ones finish; the rest are reported not run.
 */
import type { ControlPlane } from '../controlplane/types.js';
import { ControlPlaneError } from '../controlplane/errors.js';
import { isActionable, PLAN_FORMAT_VERSION, type Plan, type Step } from '../model/plan.js';
import { runCallStep, StepConflictError } from './steps.js';
import { ManualCommandError } from './manual.js';
import { isManual, waitingOnManual } from '../plan/execution.js';
import { emptyCounts, isSideEffect, type PlanCounts } from '../plan/counts.js';
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
} from './types.js';
import { WaitAbortedError, WaitTimeoutError, waitDrained, waitIdle } from './wait.js';

const DEFAULT_POLL = { initial: 500, max: 15_000 };

export async function executePlan(
  plan: Plan,
  cp: ControlPlane,
  opts: ExecuteOptions = {},
): Promise<ApplyResult> {
  const parallelism = opts.parallelism ?? DEFAULT_PARALLELISM;
  if (!Number.isInteger(parallelism) || parallelism < 1) {
    throw new ApplyRefusedError(
      `parallelism must be a whole number of at least 1 (got ${parallelism})`,
    );
  }
  const waitTimeoutMs = opts.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  if (!(waitTimeoutMs >= 0))
    throw new ApplyRefusedError(`wait timeout must be ≥ 0 (got ${waitTimeoutMs})`);
  checkPlan(plan);

  // An observer's failure (e.g. a closed stdout) must not stop or corrupt the apply itself.
  const emit = (e: ApplyEvent) => {
    try {
      opts.onEvent?.(e);
    } catch {
      // ignored on purpose
    }
  };
  const started = performance.now();
  const results = new Map<string, StepResult>(
    plan.steps.map((s) => [
      s.id,
      {
        id: s.id,
        op: s.op,
        target: s.target,
        status: 'not_run',
        duration_ms: null,
        error: null,
        note: null,
      },
    ]),
  );

  // Kahn's algorithm, driven by completions: `waiting` counts unfinished dependencies.
  // Steps are known by their index in the plan: among ready steps, the lowest runs first.
  const waiting = new Map<string, number>();
  const dependents = new Map<string, number[]>();
  const ready = new MinHeap();
  plan.steps.forEach((step, i) => {
    const deps = new Set(step.depends_on);
    waiting.set(step.id, deps.size);
    for (const dep of deps) {
      const list = dependents.get(dep);
      if (list) list.push(i);
      else dependents.set(dep, [i]);
    }
    if (deps.size === 0) ready.push(i);
  });

  let stopping: 'failure' | 'aborted' | null = null;
  const stop = (reason: 'failure' | 'aborted') => {
    if (stopping !== null) return;
    stopping = reason;
    emit({ type: 'stopping', reason });
  };
  const onAbort = () => stop('aborted');
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const runStep = async (step: Step): Promise<void> => {
    const result = results.get(step.id)!;
    if (isManual(step) && !(opts.runManual && (opts.canRunManual?.(step) ?? true))) {
      // Left for a person: its dependents never become ready (reported `waiting` below).
      result.status = 'manual';
      result.note = step.manual?.command ?? null;
      emit({ type: 'step_manual', step });
      return;
    }
    emit({ type: 'step_started', step });
    const t0 = performance.now();
    let note: string | null = null;
    let error: StepError | null = null;
    try {
      if (isManual(step)) {
        note = (
          await opts.runManual!(step, (stream, line) =>
            emit({ type: 'manual_output', step, stream, line }),
          )
        ).note;
      } else if (step.op === 'wait_idle' || step.op === 'wait_drained') {
        await (step.op === 'wait_idle' ? waitIdle : waitDrained)(cp, step.args.queues, {
          timeoutMs: waitTimeoutMs,
          pollIntervalMs: opts.pollIntervalMs ?? DEFAULT_POLL,
          signal: opts.signal,
          onProgress: (p) => emit({ type: 'wait_progress', step, ...p }),
        });
      } else {
        note = (await runCallStep(cp, step)).note;
      }
    } catch (err) {
      error = toStepError(err);
    }
    const duration = Math.round(performance.now() - t0);
    result.duration_ms = duration;
    result.status = error === null ? 'done' : 'failed';
    result.error = error;
    result.note = note;
    emit({
      type: 'step_finished',
      step,
      status: result.status,
      duration_ms: duration,
      error,
      note,
    });
    if (error !== null) {
      stop(error.code === 'ABORTED' ? 'aborted' : 'failure');
      return;
    }
    for (const next of dependents.get(step.id) ?? []) {
      const id = plan.steps[next]!.id;
      const left = waiting.get(id)! - 1;
      waiting.set(id, left);
      if (left === 0) ready.push(next);
    }
  };

  // The scheduler: keep up to `parallelism` steps in flight; among ready steps, plan order first.
  await new Promise<void>((resolve) => {
    let running = 0;
    const pump = () => {
      while (stopping === null && running < parallelism && ready.size > 0) {
        const step = plan.steps[ready.pop()!]!;
        running++;
        void runStep(step).finally(() => {
          running--;
          pump();
        });
      }
      if (running === 0) resolve();
    };
    pump();
  });
  opts.signal?.removeEventListener('abort', onAbort);

  // A manual step that follows another manual step (register a cluster into a pool a person
  // creates) never becomes ready, but it is the person's as well: in the runbook, not a failure.
  // (With a runner, only one whose ancestor was left can still be not run here.)
  if (stopping === null) {
    for (const step of plan.steps) {
      const r = results.get(step.id)!;
      if (r.status !== 'not_run' || !isManual(step)) continue;
      r.status = 'manual';
      r.note = step.manual?.command ?? null;
    }
  }
  const blockedBy = waitingOnManual(plan.steps);
  for (const [id, by] of blockedBy) {
    const r = results.get(id)!;
    if (r.status !== 'not_run' || results.get(by)!.status !== 'manual') continue;
    r.status = 'waiting';
    r.note = `waiting on manual step ${by}`;
  }
  const steps = plan.steps.map((s) => results.get(s.id)!);
  const { counts, applied } = countChanges(plan, steps);
  return {
    ok: steps.every((s) => s.status === 'done'),
    manual: steps.filter((s) => s.status === 'manual').map((s) => s.id),
    aborted: stopping === 'aborted',
    steps,
    counts,
    applied,
    duration_ms: Math.round(performance.now() - started),
  };
}

/** Refuses what cannot be executed safely: plan errors, another format, a malformed graph. */
function checkPlan(plan: Plan): void {
  if (plan.format_version !== PLAN_FORMAT_VERSION) {
    throw new ApplyRefusedError(
      `plan format_version ${JSON.stringify(plan.format_version)} is not supported (expected "${PLAN_FORMAT_VERSION}")`,
    );
  }
  if (plan.errors.length > 0) {
    const first = plan.errors
      .slice(0, 5)
      .map((e) => `  ${[e.location ?? e.address, e.code].filter(Boolean).join(' ')}: ${e.message}`)
      .join('\n');
    const more = plan.errors.length > 5 ? `\n  … and ${plan.errors.length - 5} more` : '';
    throw new ApplyRefusedError(
      `the plan has ${plan.errors.length} error(s); nothing was applied. Fix them and plan again:\n${first}${more}`,
    );
  }
  const ids = new Set<string>();
  for (const step of plan.steps) {
    if (ids.has(step.id))
      throw new ApplyRefusedError(`the plan's step graph repeats step id ${step.id}`);
    ids.add(step.id);
  }
  for (const step of plan.steps) {
    for (const dep of step.depends_on) {
      if (!ids.has(dep))
        throw new ApplyRefusedError(`step ${step.id} depends on unknown step ${dep}`);
    }
  }
  // A cycle would leave steps waiting forever: every step must be reachable by Kahn's order.
  const indegree = new Map(plan.steps.map((s) => [s.id, new Set(s.depends_on).size]));
  const dependents = new Map<string, string[]>();
  for (const s of plan.steps) {
    for (const d of new Set(s.depends_on)) {
      const list = dependents.get(d);
      if (list) list.push(s.id);
      else dependents.set(d, [s.id]);
    }
  }
  const queue = plan.steps.filter((s) => indegree.get(s.id) === 0).map((s) => s.id);
  let seen = 0;
  while (queue.length > 0) {
    const id = queue.pop()!;
    seen++;
    for (const n of dependents.get(id) ?? []) {
      const left = indegree.get(n)! - 1;
      indegree.set(n, left);
      if (left === 0) queue.push(n);
    }
  }
  if (seen !== plan.steps.length) {
    const stuck = [...indegree].filter(([, n]) => n > 0).map(([id]) => id);
    throw new ApplyRefusedError(
      `the plan's step graph has a cycle through ${stuck.slice(0, 10).join(', ')}`,
    );
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
 * The plan's one count (src/plan/counts.ts) of what was done: a change counts when every step
 * acting on its address is done; a side effect (no step of its own) counts among
 * `side_effects` when the steps of the object that causes it (`caused_by`) are done, or, when
 * no cause is named, when the whole apply succeeded. A whole apply counts what the plan said.
 */
function countChanges(
  plan: Plan,
  steps: StepResult[],
): { counts: PlanCounts; applied: AppliedChange[] } {
  const byTarget = new Map<string, StepResult[]>();
  for (const s of steps) {
    const list = byTarget.get(s.target);
    if (list) list.push(s);
    else byTarget.set(s.target, [s]);
  }
  const allDone = steps.every((s) => s.status === 'done');
  const targets = new Set(plan.steps.map((s) => s.target));
  const counts = emptyCounts();
  const applied: AppliedChange[] = [];
  for (const change of plan.changes) {
    if (change.action === 'blocked') {
      counts.blocked++;
      continue;
    }
    if (!isActionable(change.action)) continue;
    const done =
      callsDone(byTarget.get(change.address)) ??
      (change.caused_by ? callsDone(byTarget.get(change.caused_by)) : null) ??
      allDone;
    if (!done) continue;
    const sideEffect = isSideEffect(change, targets);
    if (sideEffect) counts.side_effects++;
    else counts[change.action]++;
    applied.push({ address: change.address, action: change.action, side_effect: sideEffect });
  }
  return { counts, applied };
}

/** Whether every call step (waits aside) of a target is done; null when it has none. */
function callsDone(steps: readonly StepResult[] | undefined): boolean | null {
  let any = false;
  for (const s of steps ?? []) {
    if (s.op === 'wait_idle' || s.op === 'wait_drained') continue;
    if (s.status !== 'done') return false;
    any = true;
  }
  return any ? true : null;
}

/**
 * A binary min-heap of plan indices (the lowest first): the ready set stays ordered in
 * O(log n) per step, even for 100,000 steps, comparing numbers only.
 */
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
