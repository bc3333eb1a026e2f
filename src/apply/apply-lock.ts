/**
 * The apply lock as `poolsync apply` and the daemon hold it for a whole apply: the lock file of
 * this machine (lock.ts) plus, so that applies from other machines are excluded too, the
 * control plane's own lease-style lock when it has one (ApplyLockProvider: the poolsync REST
 * API, the embedded control plane), else a Kubernetes Lease when one is named
 * (`--lock k8s:NAMESPACE/NAME`), else a warning that only same-machine applies are excluded.
 *
 * The lease is renewed every third of its TTL while the apply runs. When a renewal is refused
 * (another holder took it over after it expired) or none succeeded for a whole TTL, `lost`
 * aborts: the executor starts no new step, steps in flight finish.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { isControlPlaneError } from '../controlplane/errors.js';
import type { ControlPlane } from '../controlplane/types.js';
import type { LeaseRef } from '../lease/k8s-lease.js';
import { acquireApplyLock, lockPathFor } from './lock.js';

export const DEFAULT_LOCK_TTL_MS = 30_000;

/** Another apply holds the lock; the message names the holder. */
export class ApplyLockHeldError extends Error {
  override readonly name = 'ApplyLockHeldError';
}

export interface HeldApplyLock {
  /** Aborts when the lock could not be kept (renewal refused, or none succeeded within the TTL). */
  readonly lost: AbortSignal;
  /** Where the lock is held: `control plane`, `Lease ns/name` or `this machine only`. */
  readonly scope: string;
  release(): Promise<void>;
}

export interface HoldApplyLockOptions {
  cp: ControlPlane;
  /** The control-plane URL (where the lock file lives). */
  url: string;
  /** Folder of lock files for http(s) control planes. */
  stateDir?: string;
  /** `--lock k8s:NAMESPACE/NAME`, for control planes with no lock of their own. */
  k8s?: { kubeConfig: KubeConfig; ref: LeaseRef } | null;
  /** Who asks, for the holder name others see: `poolsync apply`, `poolsync daemon`. */
  who: string;
  /**
   * This machine's lock file, held by the caller. The lease id derives from it: the next apply
   * of this machine (which got the lock file, so the last holder is gone) takes over a lease a
   * killed apply left at once, instead of waiting for it to expire.
   */
  lockFile?: string;
  /**
   * Replicas that exclude each other already (the leader-elected daemon: one Lease) share one
   * lease id, so a new leader takes the apply lock over from a killed one at once.
   */
  shareWith?: string;
  ttlMs?: number;
  warn(message: string): void;
}

export function holderName(who: string): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container with a random uid)
  }
  return `${who} (${user}@${hostname()}, pid ${process.pid})`;
}

/** The lock file of this machine, then the lock across machines. */
export async function holdApplyLock(opts: HoldApplyLockOptions): Promise<HeldApplyLock> {
  const file = await acquireApplyLock(lockPathFor(opts.url, opts.stateDir));
  let remote: HeldApplyLock;
  try {
    remote = await holdSharedApplyLock({ ...opts, lockFile: file.path });
  } catch (err) {
    await file.release();
    throw err;
  }
  return {
    lost: remote.lost,
    scope: remote.scope,
    release: async () => {
      try {
        await remote.release();
      } finally {
        await file.release();
      }
    },
  };
}

/** The lock across machines only (the caller holds this machine's lock file already). */
export async function holdSharedApplyLock(opts: HoldApplyLockOptions): Promise<HeldApplyLock> {
  const ttlMs = opts.ttlMs ?? DEFAULT_LOCK_TTL_MS;
  const holder = holderName(opts.who);
  const seed = opts.shareWith ?? (opts.lockFile ? `${hostname()}\u0000${opts.lockFile}` : null);
  const id = seed
    ? createHash('sha256').update(seed).digest('base64url').slice(0, 32)
    : randomBytes(18).toString('base64url');
  const lost = new AbortController();
  let renew: (() => Promise<'held' | 'refused'>) | null = null;
  let free: (() => Promise<void>) | null = null;
  let scope = 'this machine only';
  /** False during the first acquisition: a refusal then is an error naming the holder. */
  let renewing = false;
  {
    const provider = opts.cp.applyLock;
    if (provider) {
      scope = 'control plane';
      const ttl_seconds = Math.max(1, Math.round(ttlMs / 1000));
      renew = async () => {
        try {
          await provider.acquireApplyLock({ id, holder, ttl_seconds });
          return 'held';
        } catch (err) {
          if (isControlPlaneError(err, 'FAILED_PRECONDITION')) {
            if (!renewing) throw new ApplyLockHeldError(err.message);
            return 'refused';
          }
          throw err;
        }
      };
      free = () => provider.releaseApplyLock(id);
    } else if (opts.k8s) {
      // Loaded only when used: @kubernetes/client-node is large.
      const { LeaseLock } = await import('../lease/k8s-lease.js');
      const lease = new LeaseLock(
        opts.k8s.kubeConfig,
        opts.k8s.ref,
        `${opts.who} ${hostname()} ${id.slice(0, 8)}`,
        ttlMs,
        undefined,
        true,
      );
      scope = lease.where;
      renew = async () => {
        const obs = await lease.tryAcquireOrRenew();
        if (obs.held) return 'held';
        if (!renewing) {
          throw new ApplyLockHeldError(
            `the apply lock (${lease.where}) is held by ${obs.holder ?? 'another apply'}; wait for it to finish`,
          );
        }
        return 'refused';
      };
      free = () => lease.release();
    } else if (!opts.url.startsWith('file:')) {
      opts.warn(
        `the ${opts.cp.backend.name} control plane has no apply lock of its own: only applies from this machine are excluded; pass --lock k8s:NAMESPACE/NAME to exclude applies from other machines too`,
      );
    }
    if (renew) {
      await renew();
      renewing = true;
    }
  }

  let stopped = false;
  let lastRenewed = performance.now();
  const stop = new AbortController();
  const loop = (async () => {
    if (!renew) return;
    while (!stopped) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, ttlMs / 3);
        stop.signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      });
      if (stopped) return;
      try {
        if ((await renew()) === 'refused') {
          lost.abort(new Error(`the apply lock (${scope}) was taken over by another apply`));
          return;
        }
        lastRenewed = performance.now();
      } catch {
        if (performance.now() - lastRenewed >= ttlMs) {
          lost.abort(new Error(`the apply lock (${scope}) could not be renewed for ${ttlMs} ms`));
          return;
        }
      }
    }
  })();

  return {
    lost: lost.signal,
    scope,
    release: async () => {
      stopped = true;
      stop.abort();
      await loop;
      if (free && !lost.signal.aborted) await free();
    },
  };
}
