/**
 * The locks an apply holds (`poolsync apply`'s hints) (docs/apply.md#lock): the lock file of this machine, the
 * embedded state's writer lock, and the lock across machines (the control plane's own lease,
 * or --lock's Kubernetes Lease). With `--lock-timeout D` each is waited for up to D in all,
 * instead of failing at once while another apply (or `control-plane serve`) holds it.
 */
import {
  acquireApplyLock,
  holdSharedApplyLock,
  isLockHeld as held,
  lockPathFor,
  LockHeldError,
  untilFree,
  type ApplyLock,
  type HeldApplyLock,
  type LockWait,
} from '../apply/lock.js';
import type { ControlPlane } from '../controlplane/types.js';
import { UserError } from '../util/user-error.js';

/** The hint a refusal ends with when no --lock-timeout was given. */
function refused(err: unknown, wait: LockWait): never {
  if (err instanceof LockHeldError) {
    throw new UserError(
      `${err.message}${wait.deadline === null ? ' (or pass --lock-timeout 5m to wait for it)' : ' (still held at the end of --lock-timeout)'}`,
    );
  }
  throw err;
}

export async function takeLock(url: string, stateDir: string, wait: LockWait): Promise<ApplyLock> {
  try {
    return await untilFree(wait, held, () => acquireApplyLock(lockPathFor(url, stateDir)));
  } catch (err) {
    return refused(err, wait);
  }
}

/**
 * `write` under this machine's apply lock for `url`, without waiting: a write of apply's records
 * (`state forget`) that an apply recording the inventory meanwhile would undo.
 */
export async function underApplyLock<T>(
  url: string,
  stateDir: string | undefined,
  write: () => Promise<T>,
): Promise<T> {
  const lock = await acquireApplyLock(lockPathFor(url, stateDir));
  try {
    return await write();
  } finally {
    await lock.release();
  }
}

/** Opening an embedded state for writing waits while another process has it open. */
export function openWaiting(
  wait: LockWait,
  open: () => Promise<ControlPlane>,
): Promise<ControlPlane> {
  return untilFree(wait, held, open);
}

/** The lock across machines (the control plane's own, or --lock's Kubernetes Lease), renewed while applying. */
export async function takeSharedLock(
  cp: ControlPlane,
  url: string,
  lockFile: string,
  lockFlag: string | undefined,
  wait: LockWait,
  warn: (message: string) => void,
): Promise<HeldApplyLock> {
  let k8s = null;
  if (lockFlag !== undefined && lockFlag.trim() !== '') {
    const { parseLeaseRef, loadKubeConfig } = await import('../lease/k8s-lease.js');
    k8s = { ref: parseLeaseRef(lockFlag, '--lock'), kubeConfig: loadKubeConfig() };
  }
  try {
    return await untilFree(wait, held, () =>
      holdSharedApplyLock({
        cp,
        url,
        k8s,
        lockFile,
        who: 'poolsync apply',
        warn,
      }),
    );
  } catch (err) {
    return refused(err, wait);
  }
}
