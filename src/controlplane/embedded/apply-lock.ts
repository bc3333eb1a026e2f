/**
 * The embedded control plane's apply lock (ApplyLockProvider): one lease, kept in memory by the
 * process serving the control plane, so every `poolsync apply` and daemon talking to one
 * `poolsync control-plane serve` sees the same lock. Not persisted: after a restart of the
 * server the lock is free and a holder's next renewal is refused, which stops its apply from
 * starting new steps (the holder treats a refused renewal as a lost lock).
 */
import { ControlPlaneError } from '../errors.js';
import type { ApplyLockLease, ApplyLockProvider } from '../types.js';

const MAX_TTL_SECONDS = 3600;

export class EmbeddedApplyLock implements ApplyLockProvider {
  private lease: (ApplyLockLease & { id: string }) | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  acquireApplyLock(request: {
    id: string;
    holder: string;
    ttl_seconds: number;
  }): Promise<ApplyLockLease> {
    const { id, holder, ttl_seconds: ttl } = request;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{16,128}$/.test(id)) {
      throw new ControlPlaneError(
        'INVALID_ARGUMENT',
        'id must be 16 to 128 characters of A-Z, a-z, 0-9, _ or -',
      );
    }
    if (typeof holder !== 'string' || holder.trim() === '' || holder.length > 256) {
      throw new ControlPlaneError(
        'INVALID_ARGUMENT',
        'holder must be a non-empty string of at most 256 characters',
      );
    }
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
      throw new ControlPlaneError(
        'INVALID_ARGUMENT',
        `ttl_seconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`,
      );
    }
    const now = this.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const current = this.lease;
    const expired = current !== null && Date.parse(current.expires_at) <= now;
    if (current !== null && current.id !== id && !expired) {
      throw new ControlPlaneError(
        'FAILED_PRECONDITION',
        `the apply lock is held by ${current.holder} since ${current.acquired_at} (lease until ${current.expires_at}, renewed while it applies); wait for it to finish`,
      );
    }
    const renewing = current !== null && current.id === id && !expired;
    this.lease = {
      id,
      holder,
      acquired_at: renewing ? current.acquired_at : iso(now),
      renewed_at: iso(now),
      expires_at: iso(now + ttl * 1000),
      taken_over_from: renewing
        ? current.taken_over_from
        : current !== null && current.id !== id
          ? current.holder
          : null,
    };
    return Promise.resolve(publicLease(this.lease));
  }

  releaseApplyLock(id: string): Promise<void> {
    if (this.lease?.id === id) this.lease = null;
    return Promise.resolve();
  }

  getApplyLock(): Promise<ApplyLockLease | null> {
    const lease = this.lease;
    if (lease === null || Date.parse(lease.expires_at) <= this.now()) return Promise.resolve(null);
    return Promise.resolve(publicLease(lease));
  }
}

function publicLease(lease: ApplyLockLease & { id: string }): ApplyLockLease {
  const { id: _id, ...rest } = lease;
  return rest;
}
