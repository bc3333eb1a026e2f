/**
 * A managed object's live state in a few words: `poolsync state list|show` and the daemon's
 * Managed objects (/status `managed`, the dashboard) say the same. Honest where the control
 * plane reports no health: the embedded control plane has no data plane, so its clusters never
 * report one (health `unknown`), and the planner does not count that against a queue (Q8, C5);
 * so neither does this: "health not reported", never "unknown" or "0 healthy" as if broken.
 */
import { WILDCARD } from '../model/common.js';
import type { LiveCluster, LiveState } from '../model/live.js';
import type { ManagedObject } from '../plan/inventory.js';
import { plural } from './common.js';

const NOT_REPORTED = 'health not reported';

/** The words of each managed object of `live` (its clusters indexed once, for every queue). */
export function liveStatusWords(live: LiveState): (o: ManagedObject) => string {
  const clusters = new Map(live.clusters.map((c) => [c.name, c]));
  const ofPool = (pool: string) => live.clusters.filter((c) => c.pool === pool);
  return ({ address, live: o }) => {
    if (o === null) return 'missing: not on the control plane';
    const field = (name: string) => String((o as Record<string, unknown>)[name]);
    switch (address.slice(0, address.indexOf('/'))) {
      case 'ClusterPool':
        return plural((o as { member_clusters: string[] }).member_clusters.length, 'cluster');
      case 'Cluster':
        return clusterWords(o as LiveCluster);
      case 'Queue': {
        const q = o as { pool: string; clusters: string[]; state?: string };
        const selected =
          q.clusters.length === 1 && q.clusters[0] === WILDCARD
            ? ofPool(q.pool)
            : q.clusters.flatMap((n) => {
                const c = clusters.get(n);
                return c && c.pool === q.pool ? [c] : [];
              });
        const routes = routing(
          selected,
          (o as { available_clusters: string[] }).available_clusters,
        );
        return [`pool ${q.pool}`, q.state ?? 'active', routes].join(', ');
      }
      case 'PoolAssignment':
        return `pool ${field('pool')}`;
      case 'DefaultQueue':
        return `queue ${field('queue')}`;
      default:
        return `label ${field('label')}`;
    }
  };
}

function clusterWords(c: LiveCluster): string {
  const health =
    c.health === 'unknown'
      ? NOT_REPORTED
      : c.health === 'unhealthy'
        ? `unhealthy${c.unhealthy_reasons.length > 0 ? ` (${c.unhealthy_reasons.join('; ')})` : ''}`
        : 'healthy';
  return [`pool ${c.pool}`, c.enabled ? 'enabled' : 'disabled', health]
    .concat(c.deleting ? ['deleting'] : [])
    .join(', ');
}

/** Where a queue's work can go: the control plane's healthy clusters, and the selected ones that report no health. */
function routing(selected: readonly LiveCluster[], available: readonly string[]): string {
  if (selected.length === 0) return 'selects no cluster';
  const unreported = selected.filter((c) => c.enabled && c.health === 'unknown').length;
  const healthy = available.length;
  if (unreported === 0)
    return healthy > 0
      ? `routes to ${plural(healthy, 'healthy cluster')}`
      : `routes to no cluster (${plural(selected.length, 'selected cluster')}: unhealthy or disabled)`;
  const notReported = `${plural(unreported, 'selected cluster')}, ${NOT_REPORTED}`;
  return healthy === 0
    ? notReported
    : `routes to ${plural(healthy, 'healthy cluster')}; ${unreported} more selected, ${NOT_REPORTED}`;
}
