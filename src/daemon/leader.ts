/**
 * Leadership among daemon replicas (`--leader-elect`, docs/daemon.md#high-availability): a
 * Kubernetes Lease through src/lease. Only the leader runs the reconcile loop, at once when it
 * becomes leader (converging from the live state); losing the lease ends the term, and every
 * control-plane call of its runs with it. Followers keep serving the HTTP endpoints.
 */
import type { Logger } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import type { DaemonConfig } from './config.js';
import type { DaemonMetrics } from './metrics.js';
import type { LeaderStatus } from './status.js';
import {
  SOLE_TERM,
  type Candidacy,
  type ElectorEvents,
  type LeaderElector,
  type Term,
} from '../lease/leader-elector.js';
import { hostname } from 'node:os';
import { leaderWords } from '../render/daemon-words.js';
import type { Follower } from './http.js';
import type { Env } from '../util/env.js';
import type { TransportLimits } from '../util/transport-limits.js';

type DaemonLeadership = ReturnType<typeof electedLeadership>;

export function soleLeadership(): DaemonLeadership {
  return {
    notLeading: () => null,
    changed: () => SOLE_TERM.signal,
    term: SOLE_TERM,
    isLeader: () => true,
    status: () => undefined,
    start: () => {},
    stop: async () => {},
  };
}

/**
 * Loads the Kubernetes client in `start()`, after the HTTP server listens (the client takes
 * seconds to load on a busy node; /healthz must answer meanwhile). Until elected: a follower.
 */
export function electedLeadership(
  election: NonNullable<DaemonConfig['leaderElection']>,
  deps: {
    logger: Logger;
    metrics: DaemonMetrics;
    kubeConfig?: KubeConfig;
    env: Env;
    /** The daemon's --connect-timeout, …: the Lease's calls are bounded by them. */
    limits: TransportLimits;
    /** Several Leases (one per environment): how candidates take turns (leader-elector.ts). */
    candidacy?: Candidacy;
  },
) {
  const { logger, metrics } = deps;
  const { identity } = election;
  const where = `Lease ${election.lease.namespace}/${election.lease.name}`;
  let elector: LeaderElector | null = null;
  let starting: Promise<void> | null = null;
  const none: Term = { signal: AbortSignal.abort(new Error('not leading')), id: null };
  let change = new AbortController();
  const changing = () => {
    change.abort();
    change = new AbortController();
  };
  const unread = (): Pick<LeaderStatus, 'leaseUnreadSince' | 'leaseError'> => ({
    leaseUnreadSince: elector?.leaseUnreadSince?.toISOString() ?? null,
    leaseError: elector?.leaseError ?? null,
  });
  return {
    notLeading: (): string | null =>
      elector?.isLeader
        ? null
        : leaderWords.notLeader(elector?.leader ?? null, { identity, ...unread() }),
    /** Aborted when the leader changes (this replica or another): a hand-off's wait ends (http.ts). */
    changed: (): AbortSignal => change.signal,
    /** The current term (an ended one while not leading). */
    get term(): Term {
      return elector?.currentTerm ?? none;
    },
    isLeader: () => elector?.isLeader ?? false,
    status: (): LeaderStatus | undefined => ({
      enabled: true,
      identity: election.identity,
      isLeader: elector?.isLeader ?? false,
      leader: elector?.leader ?? null,
      leaderAddress: elector?.leaderAddress ?? null,
      lease: `${election.lease.namespace}/${election.lease.name}`,
      lastTransitionAt: elector?.lastTransitionAt?.toISOString() ?? null,
      ...unread(),
    }),
    /** `address`: this replica's status server, published in the Lease while it leads. */
    start: (onElected: () => void, address?: string | null): void => {
      starting ??= (async () => {
        const { LeaseLock, loadKubeConfig } = await import('../lease/k8s-lease.js');
        const { LeaderElector } = await import('../lease/leader-elector.js');
        const lock = new LeaseLock(
          deps.kubeConfig ?? loadKubeConfig(deps.env, deps.limits),
          election.lease,
          election.identity,
          election.leaseDurationMs,
        );
        lock.address = address ?? null;
        let lastError: string | null = null;
        const events: ElectorEvents = {
          onStartedLeading: () => {
            metrics.leader.set(1);
            // The first run waits the takeover wait (termTimings): said, so a quiet start is explained.
            const wait = election.takeoverWaitMs ?? 0;
            logger.info(
              { identity, lease: where, ...(wait > 0 ? { takeoverWaitMs: wait } : {}) },
              'became the leader: reconciling',
            );
            changing();
            onElected();
          },
          onStoppedLeading: (reason) => {
            metrics.leader.set(0);
            metrics.leadershipLosses.inc();
            logger.warn(
              { identity, lease: where, reason },
              'stopped leading: every control-plane call of the term is ended, nothing more is written',
            );
          },
          onNewLeader: (leader) => {
            // This replica's own term is said (and changes) once it starts, below.
            if (leader === identity) return;
            logger.info({ leader, lease: where }, `the leader is ${leader ?? 'nobody'}`);
            changing();
          },
          onError: (err) => {
            const message = err instanceof Error ? err.message : String(err);
            // Once per distinct failure of an outage: a retry every 2 s would flood the log.
            if (message !== lastError)
              logger.warn({ lease: where, err: message }, 'leader election');
            lastError = message;
          },
          onAnswered: () => {
            if (lastError === null) return;
            // The next outage is said again.
            lastError = null;
            logger.info({ identity, lease: where }, 'reaching the Kubernetes API again');
          },
        };
        elector = new LeaderElector(lock, election, events, deps.candidacy ?? null);
        elector.start();
      })().catch((err: unknown) => {
        logger.error(
          { lease: where, err: err instanceof Error ? err.message : String(err) },
          'leader election cannot start: this replica stays a follower',
        );
      });
    },
    stop: async (): Promise<void> => {
      await starting;
      await elector?.stop();
    },
  };
}

/** What http.ts needs to hand a request to the leader (handOff), or null while leading. */
export function followerOf(
  leadership: DaemonLeadership,
  { leaderElection: election, limits }: Pick<DaemonConfig, 'leaderElection' | 'limits'>,
): Follower | null {
  const s = leadership.status();
  if (election === null || !s || s.isLeader) return null;
  const retryAfterSeconds = Math.ceil(election.leaseDurationMs / 1000);
  return { ...s, retryAfterSeconds, limits, changed: leadership.changed() };
}

/**
 * Ready to serve (/readyz, /status, `poolsync_ready`): the leader once its first reconcile
 * finished and the control plane answered; a follower once it knows where the leader is, since it
 * then serves every request (handing on what needs the leader): a rolling update never waits on
 * a follower. Then for the process's life: a replica that cannot read the Lease still answers
 * every request truthfully (docs/daemon.md#high-availability), which it could not do out of the
 * Service; who can act is /status's `leader`.
 */
export function readiness(leadership: DaemonLeadership, reconciled: () => boolean): () => boolean {
  let ready = false;
  return () => {
    const s = leadership.status();
    ready ||= !s || s.isLeader ? reconciled() : s.leader !== null && s.leaderAddress !== null;
    return ready;
  };
}

/**
 * Where the other replicas reach this one's status server: --advertise-address; else the pod's
 * IP (env POD_IP, the Downward API) and the bound port; else the bound address when it is a
 * specific one; else the host name and the port.
 */
export function advertiseAddress(
  election: DaemonConfig['leaderElection'],
  boundUrl: string,
  env: Env,
): string | null {
  if (election === null) return null;
  if (election.advertiseAddress) return election.advertiseAddress;
  const bound = new URL(boundUrl);
  const ip = env.POD_IP?.trim();
  if (ip) return `http://${ip.includes(':') ? `[${ip}]` : ip}:${bound.port}`;
  if (!['0.0.0.0', '[::]'].includes(bound.hostname)) return bound.origin;
  return `http://${hostname()}:${bound.port}`;
}
