/** What a daemon's run ended in: the metrics' label, the status's and history's field. */
export const RUN_RESULTS = [
  'applied',
  'in_sync',
  /**
   * Nothing to send, but objects an earlier poolsync applied (recorded without a repository,
   * inventory format 1) are left unpruned: the control plane does not match the repository.
   */
  'left_unpruned',
  'planned',
  'waiting_for_approval',
  /** Changes planned, not applied: applies are frozen (suspended, or a sync window). */
  'frozen',
  'invalid',
  'failed',
  /**
   * Cut by the daemon's shutdown (SIGTERM, Ctrl-C): nothing applied, or the steps started before
   * it finished and the rest not started (`stopped`); not a failure, and the next start plans again.
   */
  'stopped',
  /**
   * The branch moved to a commit declaring something else while this one applied: the steps
   * started finished, the rest did not start; not a failure, the follow-up run plans the head.
   */
  'superseded',
  /** No new commit: counted, and folded into the kept run before it (status.ts withRecentRun). */
  'unchanged',
] as const;
export type RunResult = (typeof RUN_RESULTS)[number];

/** The run brought the control plane to its commit's objects, or found it there: a commit to roll back to. */
export const reachedCommit = (result: string): boolean =>
  result === 'applied' || result === 'in_sync' || result === 'left_unpruned';

/** What `history --result` may name: the results a kept run can have. */
export const KEPT_RESULTS = RUN_RESULTS.filter((r) => r !== 'unchanged');

/**
 * A run's phases in the order it passes them (docs/daemon.md "Phases of a run"): the `phase`
 * of the metric and the keys of `phasesMs`.
 */
export const RUN_PHASES = [
  'fetch',
  'load',
  'load_reused',
  'render',
  'open',
  'live',
  'plan',
  'close',
  'policies',
  'gate',
  'recheck',
  'lock',
  'apply',
  'unlock',
  'record',
] as const;
export type RunPhase = (typeof RUN_PHASES)[number];
