/** The apply module: executes a plan's step graph against a control plane (plan.md). */
export { executePlan } from './executor.js';
export { acquireApplyLock, lockPathFor, LockHeldError, DEFAULT_STATE_DIR } from './lock.js';
export type { ApplyLock, LockHolder } from './lock.js';
export {
  ApplyLockHeldError,
  DEFAULT_LOCK_TTL_MS,
  holdApplyLock,
  holderName,
} from './apply-lock.js';
export type { HeldApplyLock, HoldApplyLockOptions } from './apply-lock.js';
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
  ApplyCounts,
  ApplyEvent,
  ApplyResult,
  ExecuteOptions,
  StepError,
  StepResult,
  StepStatus,
} from './types.js';
