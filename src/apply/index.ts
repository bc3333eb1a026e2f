/** The apply module: executes a plan's step graph against a control plane (plan.md). */
export { executePlan } from './executor.js';
export {
  acquireApplyLock,
  DEFAULT_LOCK_TTL_MS,
  DEFAULT_STATE_DIR,
  holdApplyLock,
  holderName,
  lockPathFor,
  LockHeldError,
} from './lock.js';
export type { ApplyLock, HeldApplyLock, HoldApplyLockOptions, LockHolder } from './lock.js';
export { formatDuration } from '../util/duration.js';
export {
  ApplyRefusedError,
  DEFAULT_PARALLELISM,
  DEFAULT_WAIT_TIMEOUT_MS,
  FILE_PARALLELISM,
  defaultParallelism,
} from './types.js';
export type {
  AppliedChange,
  ApplyEvent,
  ApplyResult,
  ExecuteOptions,
  StepError,
  StepResult,
  StepStatus,
} from './types.js';
