/** What the executor reports: events while it runs, and one result when it is done. */
import type { Step, StepKind } from '../model/plan.js';
import type { PlanCounts } from '../plan/counts.js';
import type { WaitProgress } from './wait.js';

/** `manual`: left for a person (plan.md, Manual steps); `waiting`: depends on one. */
export type StepStatus = 'done' | 'failed' | 'not_run' | 'manual' | 'waiting';

export interface StepError {
  /** A control-plane code (domain.md, Errors) or `WAIT_TIMEOUT`, `CONFLICT`, `ABORTED`, `INTERNAL`. */
  code: string;
  message: string;
  /** A domain.md rule id, when the control plane named one. */
  rule: string | null;
}

export interface StepResult {
  id: string;
  op: StepKind;
  target: string;
  status: StepStatus;
  /** Null when it did not run. */
  duration_ms: number | null;
  error: StepError | null;
  /** Set when the step found its work already done (a re-run after a crash), e.g. `already exists`. */
  note: string | null;
}

/**
 * A change of the plan that the apply made (its steps done), as counted in `counts`; or, as
 * `partial`, one it made in part (some of its calls done, not all), counted nowhere.
 */
export interface AppliedChange {
  address: string;
  action: 'create' | 'update' | 'replace' | 'delete' | 'partial' | (string & {});
  side_effect: boolean;
  /** With `partial`: the change's action in the plan (absent in an earlier build's result). */
  partial_of?: string;
}

export interface ApplyResult {
  /** Every step is done. */
  ok: boolean;
  /** Ids of the manual steps left for a person (plan order). */
  manual: string[];
  /** The abort signal stopped the run before every step could start. */
  aborted: boolean;
  /** In plan order. */
  steps: StepResult[];
  /** What the done steps changed, in the plan's one count (src/plan/counts.ts). */
  counts: PlanCounts;
  /** The changes counted in `counts` (blocked ones aside) and those made in part, in plan order. */
  applied: AppliedChange[];
  duration_ms: number;
}

export type ApplyEvent =
  | { type: 'step_started'; step: Step }
  | {
      type: 'step_finished';
      step: Step;
      status: 'done' | 'failed';
      duration_ms: number;
      error: StepError | null;
      note: string | null;
    }
  /** One per busy queue per poll of a `wait_idle` or `wait_drained` step (Q7). */
  | ({ type: 'wait_progress'; step: Step } & WaitProgress)
  /** Left for a person (no runner given). */
  | { type: 'step_manual'; step: Step }
  /** A line a manual step's command printed (`--flyte-cli`). */
  | { type: 'manual_output'; step: Step; stream: 'stdout' | 'stderr'; line: string }
  /** No new step will start. */
  | { type: 'stopping'; reason: 'failure' | 'aborted' };

export interface ExecuteOptions {
  parallelism?: number;
  /** Bound of each wait step. */
  waitTimeoutMs?: number;
  onEvent?: (event: ApplyEvent) => void;
  /**
   * Aborted: start no new step but one completing a change already made (`completes_change`),
   * let running ones finish (a running `wait_idle` stops waiting).
   */
  signal?: AbortSignal;
  /**
   * Aborted (`signal` is too, which stops the waits): not even a step completing a change starts,
   * since no call may be made any more (the apply lock lost, the leadership term ended).
   */
  halt?: AbortSignal;
  /** Runs a manual step (`--flyte-cli`), throwing when it failed. Absent: left for a person. */
  runManual?: (
    step: Step,
    onOutput: (stream: 'stdout' | 'stderr', line: string) => void,
  ) => Promise<{ note: string | null }>;
  /** Whether `runManual` can run it (a CLI command, not a console action). Default: all. */
  canRunManual?: (step: Step) => boolean;
  /** First interval and cap of the waits' polling backoff. */
  pollIntervalMs?: { initial: number; max: number };
}

/** The plan has errors, or its step graph is malformed. */
export class ApplyRefusedError extends Error {
  override readonly name = 'ApplyRefusedError';
}

export const DEFAULT_PARALLELISM = 8;
/**
 * Calls in flight while reading a network control plane: reads change nothing, and Union
 * answers each default-queue setting in a call of its own (docs/union.md, Round trips).
 */
export const READ_PARALLELISM = 256;
/**
 * Against an embedded (`file:`) control plane calls in flight together share one fsync (group
 * commit): 8 at a time made 2,500 fsyncs for 11,650 steps; 256, under 100.
 */
export const FILE_PARALLELISM = 256;

export function defaultParallelism(controlPlaneUrl: string): number {
  return controlPlaneUrl.startsWith('file:') ? FILE_PARALLELISM : DEFAULT_PARALLELISM;
}
export const DEFAULT_WAIT_TIMEOUT_MS = 30 * 60 * 1000;
