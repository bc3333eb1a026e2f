/**
 * Capabilities (domain.md): their names, their text form (`--capabilities`,
 * `file:PATH?capabilities=`), and the data plane a cluster last reported, which `cluster_move`
 * and `pool_update` check against a new contract (C4, C5).
 */
import {
  at,
  BASELINE_CAPABILITIES,
  type Capabilities,
  type ClusterDataPlane,
  DATA_PLANE_CONTRACT,
  DATA_PLANE_FIELDS,
  type PoolContract,
} from './common.js';
import type { LiveCluster } from './live.js';

export const CAPABILITY_NAMES = [
  'drain',
  'queue_delete',
  'cluster_move',
  'pool_update',
  'queue_move',
  'soft_delete',
  'default_delete',
  'unpin_first',
] as const;
type CapabilityName = (typeof CAPABILITY_NAMES)[number];

/** `drain,queue_delete`, or `none` when every capability is off. Stable order. */
export function formatCapabilities(caps: Capabilities): string {
  const on = CAPABILITY_NAMES.filter((n) => caps[n]);
  return on.length === 0 ? 'none' : on.join(',');
}

/** Parses `drain,queue_delete` (or `none`, or ""): the capabilities named are on, the rest off. */
export function parseCapabilities(
  text: string,
): { ok: true; capabilities: Capabilities } | { ok: false; error: string } {
  const caps: Capabilities = { ...BASELINE_CAPABILITIES };
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return { ok: true, capabilities: caps };
  for (const raw of trimmed.split(',')) {
    const name = raw.trim();
    if (!(CAPABILITY_NAMES as readonly string[]).includes(name)) {
      const error = `unknown capability "${name}": use a comma-separated list of ${CAPABILITY_NAMES.join(', ')} (or "none")`;
      return { ok: false, error };
    }
    caps[name as CapabilityName] = true;
  }
  return { ok: true, capabilities: caps };
}

export function sameCapabilities(a: Capabilities, b: Capabilities): boolean {
  return CAPABILITY_NAMES.every((n) => Boolean(a[n]) === Boolean(b[n]));
}

/**
 * C5: the data plane a cluster reported, from its pool's contract and its config drift. Null
 * (unverified, never a mismatch) before its first report (health `unknown`) or when the control
 * plane reports none (`data_plane_reported: false`, Union: empty drift means not known).
 */
export function reportedDataPlane(
  contract: PoolContract,
  cluster: Pick<LiveCluster, 'health' | 'config_drift' | 'data_plane_reported'>,
): ClusterDataPlane | null {
  if (cluster.health === 'unknown' || cluster.data_plane_reported === false) return null;
  const drift = new Map(cluster.config_drift.map((d) => [d.field, d.reported]));
  const out: Record<string, unknown> = {};
  for (const field of DATA_PLANE_FIELDS) {
    const value = drift.get(field) ?? at(contract, DATA_PLANE_CONTRACT[field]) ?? '';
    // Only a pool without an image registry has an empty value (a report's are non-empty, C4).
    if (value === '') continue;
    const [a, b] = field.split('.') as [string, string?];
    if (b === undefined) out[a] = value;
    else ((out[a] ??= {}) as Record<string, unknown>)[b] = value;
  }
  return out as ClusterDataPlane;
}
