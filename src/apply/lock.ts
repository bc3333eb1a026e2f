/**
 * The locks of an apply (docs/apply.md#lock): this machine's lock file, and the lock across
 * machines: the control plane's own when it has one, else a Kubernetes Lease (`--lock`), else a
 * warning. The lease is renewed every third of its TTL; a refused renewal (taken over after it
 * expired) or none for a whole TTL aborts `lost`: no new step starts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { StateInUseError } from '../controlplane/embedded/store.js';
import { isControlPlaneError } from '../controlplane/errors.js';
import { embeddedStatePath } from '../controlplane/open.js';
import { controlPlaneEndpoint } from '../util/control-plane-endpoint.js';
import type { ApplyLockProvider, ControlPlane } from '../controlplane/types.js';
import type { LeaseRef } from '../lease/k8s-lease.js';
import type { Term } from '../lease/leader-elector.js';
import { acquireLockFile, exited, type HeldLockFile } from '../util/lock-file.js';
import { refuseTrackedFiles } from '../util/tracked.js';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';

/** Another apply holds a lock (this machine's lock file or the lease); the message names it. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
}

/** Then --lock-timeout waits and tries again. */
export const isLockHeld = (err: unknown): err is LockHeldError | StateInUseError =>
  err instanceof LockHeldError || err instanceof StateInUseError;

export const DEFAULT_STATE_DIR = '.poolsync';

/**
 * `<PATH>.<beside>` beside an embedded state, else `<stateDir>/<sub>/<sha256 of endpoint><ext>`
 * (one per control plane, however spelled; the URL may carry credentials).
 */
export function statePathFor(
  url: string,
  stateDir: string,
  [beside, sub, ext]: [string, string, string],
): string {
  if (url.startsWith('file:')) return `${embeddedStatePath(url)}.${beside}`;
  const digest = createHash('sha256').update(controlPlaneEndpoint(url)).digest('hex');
  return join(resolve(stateDir), sub, `${digest}${ext}`);
}

export function lockPathFor(url: string, stateDir: string = DEFAULT_STATE_DIR): string {
  return statePathFor(url, stateDir, ['apply.lock', 'locks', '.lock']);
}

/** The folder poolsync owns a state file in (safe-file.ts checks every folder below it). */
export function stateRootOf(path: string, sub: string): string {
  const folder = dirname(resolve(path));
  return basename(folder) === sub ? dirname(folder) : folder;
}

export async function acquireApplyLock(lockPath: string): Promise<HeldLockFile> {
  const root = stateRootOf(lockPath, 'locks');
  await refuseTrackedFiles(root, [resolve(lockPath)], 'apply lock');
  return acquireLockFile(lockPath, {
    root,
    refuse: (r) =>
      new LockHeldError(
        r.kind !== 'unreadable'
          ? `another apply is running against this control plane: pid ${r.holder.pid} on ${r.holder.host} since ${r.holder.since} ` +
              `(lock ${r.path}). Wait for it to finish; if that process is gone, delete the lock file`
          : `the apply lock ${r.path} exists but cannot be read; if no apply is running, delete it`,
      ),
  });
}

export const DEFAULT_LOCK_TTL_MS = 30_000;

export interface HeldApplyLock {
  /** Aborts when the lock could not be kept. */
  readonly lost: AbortSignal;
  /** `control plane`, `Lease ns/name` or `this machine only`. */
  readonly scope: string;
  /** When and from whom the lease was taken over, worded as lapsed: a caller says it after a refusal. */
  readonly takeover: string | null;
  release(): Promise<void>;
}

export interface HoldApplyLockOptions {
  cp: ControlPlane;
  url: string;
  /** Folder of lock files for http(s) control planes. */
  stateDir?: string;
  /** `--lock k8s:NAMESPACE/NAME`, for control planes with no lock of their own. */
  k8s?: { kubeConfig: KubeConfig; ref: LeaseRef } | null;
  /** For the holder name others see: `poolsync apply`, `poolsync daemon`. */
  who: string;
  /**
   * This machine's lock file, held by the caller. The lease id derives from it, so the next
   * apply here takes over at once a lease a killed apply left, instead of waiting for it to expire.
   */
  lockFile?: string;
  /**
   * The leader-elected daemon's term: the lease id is the term's own (a fencing token: a deposed
   * leader's lock covers nothing), and once it ended the lock lapses, neither renewed nor released.
   */
  term?: Term;
  ttlMs?: number;
  /** The renewals' waits and their TTL are read on it (tests move it). */
  clock?: Clock;
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

/** The lock across machines (the caller holds this machine's lock file already). */
export async function holdSharedApplyLock(opts: HoldApplyLockOptions): Promise<HeldApplyLock> {
  const ttlMs = opts.ttlMs ?? DEFAULT_LOCK_TTL_MS;
  const term = opts.term?.id ? opts.term : null;
  term?.signal.throwIfAborted();
  const seed = term?.id ?? (opts.lockFile ? `${hostname()}\u0000${opts.lockFile}` : null);
  const id = seed
    ? createHash('sha256').update(seed).digest('base64url').slice(0, 32)
    : randomBytes(18).toString('base64url');
  const lease = await leaseOf(opts, id, ttlMs);
  if (!lease) {
    if (!opts.url.startsWith('file:'))
      opts.warn(
        `the ${opts.cp.backend.name} control plane has no apply lock of its own: only applies from this machine are excluded; pass --lock k8s:NAMESPACE/NAME to exclude applies from other machines too`,
      );
    const lost = term?.signal ?? new AbortController().signal;
    return { lost, scope: 'this machine only', takeover: null, release: async () => {} };
  }
  const refused = await lease.take();
  if (refused !== null) throw new LockHeldError(refused);
  const takeover = lease.takeover;
  const lost = new AbortController();
  const stop = new AbortController();
  const ended = () => lost.abort(term!.signal.reason);
  term?.signal.addEventListener('abort', ended, { once: true });
  if (term?.signal.aborted) ended();
  const { clock = SYSTEM_CLOCK } = opts;
  const renewal = (async () => {
    let lastRenewed = clock.now();
    for (;;) {
      await clock.sleep(ttlMs / 3, AbortSignal.any([stop.signal, lost.signal]));
      if (stop.signal.aborted || lost.signal.aborted) return;
      try {
        if ((await lease.take()) !== null)
          return lost.abort(
            new Error(`the apply lock (${lease.scope}) was taken over by another apply`),
          );
        lastRenewed = clock.now();
      } catch {
        if (clock.now() - lastRenewed >= ttlMs)
          return lost.abort(
            new Error(`the apply lock (${lease.scope}) could not be renewed for ${ttlMs} ms`),
          );
      }
    }
  })();
  return {
    lost: lost.signal,
    scope: lease.scope,
    takeover,
    release: async () => {
      stop.abort();
      await renewal;
      term?.signal.removeEventListener('abort', ended);
      if (!lost.signal.aborted) await lease.free();
    },
  };
}

/** `take` takes or renews it (null, else who holds it); `takeover`: its first take's, worded. */
interface Lease {
  scope: string;
  takeover: string | null;
  take(): Promise<string | null>;
  free(): Promise<void>;
}

async function leaseOf(opts: HoldApplyLockOptions, id: string, ttlMs: number) {
  const holder = holderName(opts.who);
  const provider = opts.cp.applyLock;
  if (provider) {
    if (opts.k8s)
      opts.warn(
        `--lock k8s:${opts.k8s.ref.namespace}/${opts.k8s.ref.name} is not used: the ${opts.cp.backend.name} control plane has an apply lock of its own, which every apply to it takes`,
      );
    const ttl_seconds = Math.max(1, Math.round(ttlMs / 1000));
    const lease: Lease = {
      scope: 'control plane',
      takeover: null,
      take: async () => {
        try {
          const taken = await provider.acquireApplyLock({ id, holder, ttl_seconds });
          const from = taken.taken_over_from;
          if (from !== null)
            lease.takeover = `took over the apply lock (control plane) at ${taken.acquired_at} from ${from}, whose lease lapsed`;
          return null;
        } catch (err) {
          if (!isControlPlaneError(err, 'FAILED_PRECONDITION')) throw err;
          return (await heldByGone(provider)) ?? err.message;
        }
      },
      free: () => provider.releaseApplyLock(id),
    };
    return lease;
  }
  if (!opts.k8s) return null;
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
  return {
    scope: lease.where,
    takeover: null,
    take: async () => {
      const obs = await lease.tryAcquireOrRenew();
      return obs.held
        ? null
        : `the apply lock (${lease.where}) is held by ${obs.holder ?? 'another apply'}; wait for it to finish`;
    },
    free: () => lease.release(),
  } satisfies Lease;
}

/**
 * A lease held by a process of this host that no longer runs (an apply killed with another
 * state dir, so not taken over at once): it is not renewed, and lapses at its expiry.
 */
async function heldByGone(provider: ApplyLockProvider): Promise<string | null> {
  const lease = await provider.getApplyLock().catch(() => null);
  const at = lease && HOLDER_AT.exec(lease.holder);
  if (!at || at[1] !== hostname() || !(await exited(Number(at[2])))) return null;
  return (
    `the apply lock is held by ${lease.holder} since ${lease.acquired_at}, but pid ${at[2]} no longer runs on this host: ` +
    `a killed apply's lease, no longer renewed, which lapses at ${lease.expires_at}; the next apply then takes it over`
  );
}

/** The host and pid of a holderName. */
const HOLDER_AT = /@([^@,()]+), pid (\d+)\)$/;
