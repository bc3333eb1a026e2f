/**
 * A Kubernetes Lease (coordination.k8s.io/v1) as a lock, through @kubernetes/client-node: the
 * algorithm of client-go's leaderelection.LeaseLock, used by controller-runtime. A lease held
 * by another identity is taken over only once it has not changed for its lease duration as
 * seen by this process's clock (never by comparing clocks of two machines); every write is a
 * PUT carrying the resourceVersion read, so of two candidates one gets 409 Conflict and loses.
 *
 * Used for `poolsync daemon --leader-elect` (leader.ts) and for `--lock k8s:NAMESPACE/NAME`
 * (the apply lock of backends with no lock of their own).
 */
import { CoordinationV1Api, KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import { UserError } from '../util/user-error.js';

export interface LeaseRef {
  namespace: string;
  name: string;
}

/**
 * An election's timings; the daemon's flags default to controller-runtime's (LeaseDuration 15s,
 * RenewDeadline 10s, RetryPeriod 2s).
 */
export interface LeaseTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** `k8s:NAMESPACE/NAME` (the --lock value) → the Lease it names. */
export function parseLeaseRef(text: string, origin: string): LeaseRef {
  const m = /^k8s:([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(
    text.trim(),
  );
  if (!m) {
    throw new UserError(
      `${origin}: "${text}" is not a Kubernetes Lease; write k8s:NAMESPACE/NAME (for example k8s:poolsync/apply-lock)`,
    );
  }
  return { namespace: m[1]!, name: m[3]! };
}

/**
 * In a pod: the service account (KUBERNETES_SERVICE_HOST is set); else KUBECONFIG or
 * ~/.kube/config, as kubectl does.
 */
export function loadKubeConfig(env: Record<string, string | undefined> = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (env.KUBERNETES_SERVICE_HOST && !env.KUBECONFIG) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new UserError(
      `cannot load a Kubernetes configuration (in-cluster service account or KUBECONFIG): ${(err as Error).message}`,
    );
  }
  if (!kc.getCurrentCluster()) {
    throw new UserError(
      'no Kubernetes cluster configured: run in a pod with a service account, or set KUBECONFIG',
    );
  }
  return kc;
}

export interface LeaseObservation {
  /** This identity holds the lease now. */
  held: boolean;
  /** Holder as last read (null: nobody). */
  holder: string | null;
  /** The address the holder published with it (ADDRESS_ANNOTATION), when it did. */
  holderAddress?: string | null;
}

/**
 * Where the holder of a leader Lease can be reached (poolsync daemon --leader-elect: the
 * leader's status server, for requests a follower hands to it). Written by the holder with
 * every acquire and renewal, so it always belongs to the current holderIdentity.
 */
export const ADDRESS_ANNOTATION = 'poolsync.dev/holder-address';

function withAddress(lease: V1Lease, address: string | null): V1Lease['metadata'] {
  const annotations = { ...(lease.metadata?.annotations ?? {}) };
  if (address) annotations[ADDRESS_ANNOTATION] = address;
  else delete annotations[ADDRESS_ANNOTATION];
  return { ...lease.metadata, annotations };
}

/** RFC 3339 with microseconds, as the API server's MicroTime wants (it rejects milliseconds). */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The HTTP status of a failed @kubernetes/client-node call, or null (no answer). */
export function statusOf(err: unknown): number | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : null;
}

/** A short message for an API failure (client-node's own message carries the whole response). */
function describe(err: unknown, what: string): Error {
  const status = statusOf(err);
  if (status === 403) {
    return new Error(
      `${what}: forbidden (403): the service account needs get, create and update on leases.coordination.k8s.io (see examples/deploy/rbac.yaml)`,
    );
  }
  if (status !== null) return new Error(`${what}: the Kubernetes API answered HTTP ${status}`);
  return new Error(`${what}: ${(err as Error).message ?? String(err)}`);
}

export class LeaseLock {
  private readonly api: CoordinationV1Api;
  private observed: { key: string; at: number } | null = null;
  private lastHolder: string | null = null;
  /** Published with the lease while this identity holds it (ADDRESS_ANNOTATION); null: none. */
  address: string | null = null;

  constructor(
    kc: KubeConfig,
    readonly ref: LeaseRef,
    readonly identity: string,
    private readonly leaseDurationMs: number,
    /** Judges how long a renewal has gone unchanged (never the holder's clock). */
    private readonly clock: Clock = SYSTEM_CLOCK,
    /**
     * Judge a lease seen for the first time by its renewTime against this clock (a one-shot
     * `apply` cannot wait a whole lease duration the way a leader candidate does).
     */
    private readonly trustRenewTime = false,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  get holder(): string | null {
    return this.lastHolder;
  }

  get where(): string {
    return `Lease ${this.ref.namespace}/${this.ref.name}`;
  }

  /** One attempt (client-go tryAcquireOrRenew). Conflicts are a lost race, not an error. */
  async tryAcquireOrRenew(): Promise<LeaseObservation> {
    const { namespace, name } = this.ref;
    const durationSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    const nowDate = new Date();
    const lease = await this.read();
    if (lease === null) return this.create(durationSeconds, nowDate);
    const { holder, holderAddress, valid } = this.observe(lease, durationSeconds);
    if (holder !== null && holder !== this.identity && valid)
      return { held: false, holder, holderAddress };
    const body = this.takenOver(lease, holder === this.identity, durationSeconds, nowDate);
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body });
    } catch (err) {
      if (statusOf(err) !== 409) throw describe(err, `updating ${this.where}`);
      // Lost: another candidate wrote since the read, or the Lease was deleted since (the API
      // server fails the write's UID precondition). A Lease that is gone is created now, so its
      // holder keeps it; else whoever holds it now is the answer.
      const now = await this.read();
      if (now === null) return this.create(durationSeconds, nowDate);
      const seen = this.observe(now, durationSeconds);
      return { held: false, holder: seen.holder, holderAddress: seen.holderAddress };
    }
    this.lastHolder = this.identity;
    this.observed = null;
    return { held: true, holder: this.identity, holderAddress: this.address };
  }

  /** The Lease, or null when there is none. */
  private async read(): Promise<V1Lease | null> {
    const { namespace, name } = this.ref;
    try {
      return await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw describe(err, `reading ${this.where}`);
    }
  }

  /** No lease yet: create it, held by this identity (409: another candidate was first). */
  private async create(durationSeconds: number, nowDate: Date): Promise<LeaseObservation> {
    const { namespace, name } = this.ref;
    try {
      await this.api.createNamespacedLease({
        namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name,
            namespace,
            ...(this.address ? { annotations: { [ADDRESS_ANNOTATION]: this.address } } : {}),
          },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(nowDate) as unknown as Date,
            renewTime: microTime(nowDate) as unknown as Date,
            leaseTransitions: 0,
          },
        },
      });
    } catch (createErr) {
      if (statusOf(createErr) === 409) return { held: false, holder: this.lastHolder };
      throw describe(createErr, `creating ${this.where}`);
    }
    this.lastHolder = this.identity;
    this.observed = null;
    return { held: true, holder: this.identity, holderAddress: this.address };
  }

  /**
   * The lease as read: its holder, and whether it is still valid, judged by when this process
   * first saw its current renewal (client-go's observedTime), not by the holder's clock.
   */
  private observe(
    lease: V1Lease,
    durationSeconds: number,
  ): { holder: string | null; holderAddress: string | null; valid: boolean } {
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ? spec.holderIdentity : null;
    const holderAddress = holder
      ? (lease.metadata?.annotations?.[ADDRESS_ANNOTATION] ?? null)
      : null;
    this.lastHolder = holder;
    const key = JSON.stringify([
      holder,
      String(spec.renewTime ?? ''),
      spec.leaseDurationSeconds ?? null,
      spec.leaseTransitions ?? null,
    ]);
    if (this.observed?.key !== key) {
      const renewed = Date.parse(String(spec.renewTime ?? ''));
      const age =
        this.observed === null && this.trustRenewTime && Number.isFinite(renewed)
          ? Math.max(0, Date.now() - renewed)
          : 0;
      this.observed = { key, at: this.clock.now() - age };
    }
    const duration = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    const valid = this.observed.at + duration > this.clock.now();
    return { holder, holderAddress, valid };
  }

  /** The lease renewed (`mine`) or taken over by this identity. */
  private takenOver(
    lease: V1Lease,
    mine: boolean,
    durationSeconds: number,
    nowDate: Date,
  ): V1Lease {
    const spec = lease.spec ?? {};
    return {
      ...lease,
      metadata: withAddress(lease, this.address),
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: (mine && spec.acquireTime ? spec.acquireTime : microTime(nowDate)) as Date,
        renewTime: microTime(nowDate) as unknown as Date,
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
  }

  /** Gives the lease up at once (client-go ReleaseOnCancel): the next candidate need not wait. */
  async release(): Promise<void> {
    const { namespace, name } = this.ref;
    const lease = await this.read();
    // Gone, or another's: nothing to give up.
    if (lease === null || lease.spec?.holderIdentity !== this.identity) return;
    try {
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          metadata: withAddress(lease, null),
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: microTime(new Date()) as unknown as Date,
          },
        },
      });
      this.lastHolder = null;
    } catch (err) {
      if (statusOf(err) === 409) return; // changed meanwhile: no longer ours to release
      throw describe(err, `releasing ${this.where}`);
    }
  }
}
