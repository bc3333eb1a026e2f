/**
 * `--lock-timeout D` (Terraform's -lock-timeout): instead of failing at once when a lock is
 * held (the apply lock file, the control plane's lease, an embedded state open in another
 * process), try again until D has passed. Polls back off from 0.5 s to 5 s.
 */

export interface LockWait {
  /** Absolute deadline (performance.now() ms); null: do not wait (fail at once). */
  deadline: number | null;
  /** Told once, the first time a lock is found held, with the holder's message. */
  onWait?(message: string, remainingMs: number): void;
}

/** A deadline `timeoutMs` from now (0: no waiting). */
export function lockWait(timeoutMs: number, onWait?: LockWait['onWait']): LockWait {
  return {
    deadline: timeoutMs > 0 ? performance.now() + timeoutMs : null,
    ...(onWait ? { onWait } : {}),
  };
}

/**
 * `attempt()` until it succeeds, or fails with something other than a held lock
 * (`isHeld(err)` false), or the deadline passes (the last held-lock error is thrown).
 */
export async function untilFree<T>(
  wait: LockWait,
  isHeld: (err: unknown) => boolean,
  attempt: () => Promise<T>,
): Promise<T> {
  let told = false;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const remaining = wait.deadline === null ? 0 : wait.deadline - performance.now();
      if (!isHeld(err) || remaining <= 0) throw err;
      if (!told) wait.onWait?.((err as Error).message, remaining);
      told = true;
      const delay = Math.min(remaining, 500 * 2 ** Math.min(n, 3), 5_000);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
