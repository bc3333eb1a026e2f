/**
 * The --leader-elect and --lock settings of the daemon's configuration (config.ts): Lease
 * names, this replica's identity, the election's timings and where the others reach it.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { UserError } from '../util/user-error.js';

/** `--leader-elect` (docs/daemon.md#high-availability). */
export interface LeaderElectionConfig {
  lease: { namespace: string; name: string };
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** --advertise-address; null: derived from POD_IP or the bound address (leader.ts). */
  advertiseAddress: string | null;
}

/** `k8s:NAMESPACE/NAME` (the same syntax as src/lease's parseLeaseRef, without loading it). */
export function leaseOption(
  text: string | null,
  r: { origin: string } | undefined,
): { namespace: string; name: string } | null {
  if (text === null || text.trim() === '') return null;
  const m = /^k8s:([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(
    text.trim(),
  );
  if (!m) {
    throw new UserError(
      `${r?.origin ?? 'lock'}: "${text}" is not a Kubernetes Lease; write k8s:NAMESPACE/NAME (for example k8s:poolsync/poolsync-leader).`,
    );
  }
  return { namespace: m[1]!, name: m[3]! };
}

export function leaderElection(o: {
  lease: { namespace: string; name: string } | null;
  identity: string | null;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  advertiseAddress: string | null;
  env: Record<string, string | undefined>;
}): LeaderElectionConfig {
  // controller-runtime's constraint: a leader must give up before the others may take over.
  if (!(o.renewDeadlineMs < o.leaseDurationMs) || !(o.retryPeriodMs < o.renewDeadlineMs)) {
    throw new UserError(
      `--leader-election-retry-period (${o.retryPeriodMs}ms) < --leader-election-renew-deadline (${o.renewDeadlineMs}ms) < --leader-election-lease-duration (${o.leaseDurationMs}ms) must hold, so a leader stops applying before another replica can take over.`,
    );
  }
  const namespace = o.env.POD_NAMESPACE?.trim() || serviceAccountNamespace() || 'default';
  return {
    lease: o.lease ?? { namespace, name: 'poolsync-leader' },
    identity: o.identity?.trim() || o.env.POD_NAME?.trim() || `${hostname()}-${process.pid}`,
    leaseDurationMs: o.leaseDurationMs,
    renewDeadlineMs: o.renewDeadlineMs,
    retryPeriodMs: o.retryPeriodMs,
    advertiseAddress: advertiseAddressOption(o.advertiseAddress),
  };
}

/** --advertise-address: an http(s) URL without credentials, path or query. */
function advertiseAddressOption(text: string | null): string | null {
  if (text === null || text.trim() === '') return null;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    url = new URL('invalid:');
  }
  if (
    !/^https?:$/.test(url.protocol) ||
    url.username ||
    url.password ||
    url.search ||
    (url.pathname !== '/' && url.pathname !== '')
  ) {
    throw new UserError(
      `--advertise-address "${text}" is not an http(s)://HOST:PORT URL (for example http://10.0.3.7:8080)`,
    );
  }
  return url.origin;
}

function serviceAccountNamespace(): string | null {
  try {
    return (
      readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || null
    );
  } catch {
    return null;
  }
}
