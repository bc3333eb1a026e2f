/**
 * Fingerprints (plan.md, "Fingerprints and saved plans"). They cover what the steps depend
 * on, nothing else: source locations (moving a document between files), cluster health and
 * derived views (available_clusters, bound_queues, member_clusters) are left out, so a
 * status report does not make a saved plan stale.
 */
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import { canonicalJson, sha256 } from './forms.js';

export function desiredFingerprint(desired: DesiredState, commit: string | null): string {
  return sha256(
    canonicalJson({
      commit,
      prune: desired.config.prune,
      pools: desired.pools.map((p) => ({
        name: p.name,
        contract: p.contract,
        annotations: p.annotations,
      })),
      clusters: desired.clusters.map((c) => ({
        name: c.name,
        pool: c.pool,
        enabled: c.enabled,
        data_plane: c.data_plane,
        annotations: c.annotations,
      })),
      queues: desired.queues.map((q) => ({
        name: q.name,
        spec: q.spec,
        annotations: q.annotations,
      })),
      assignments: desired.assignments.map((a) => ({
        project: a.project,
        domain: a.domain,
        workflow: a.workflow,
        pool: a.pool,
        annotations: a.annotations,
      })),
    }),
  );
}

export function liveFingerprint(live: LiveState): string {
  return sha256(
    canonicalJson({
      capabilities: live.capabilities,
      pools: live.pools.map((p) => ({ name: p.name, contract: p.contract })),
      clusters: live.clusters.map((c) => ({ name: c.name, pool: c.pool, enabled: c.enabled })),
      queues: live.queues.map((q) => ({
        name: q.name,
        pool: q.pool,
        clusters: q.clusters,
        run_concurrency: q.run_concurrency,
        action_concurrency: q.action_concurrency,
        depth: q.depth,
        priority: q.priority,
        fairness: q.fairness,
        cluster_managed: q.cluster_managed,
      })),
      assignments: live.assignments.map((a) => ({
        project: a.project,
        domain: a.domain,
        workflow: a.workflow,
        pool: a.pool,
      })),
    }),
  );
}
