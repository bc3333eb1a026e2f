/**
 * V16: poolsync.yaml `absent:` lists system objects the repository wants deleted (`Queue/default`,
 * `ClusterPool/default`, docs/manifests.md); a document declaring one of them contradicts it, and
 * so does a cluster or queue that lives in an absent pool. Reported at the document.
 */
import type { RepoConfig } from '../model/desired.js';
import type { Grouped } from './rules.js';
import { positionOf } from './document-positions.js';
import { err } from './rule-helpers.js';
import type { ValidationError } from './types.js';
import type { ClusterManifest, QueueManifest } from './manifest-types.js';

/** The pool a cluster or queue lives in: its own, else "default" (C1, Q1). */
const poolOf = (m: ClusterManifest | QueueManifest): string => m.pool ?? 'default';

export function checkAbsent(g: Grouped, config: RepoConfig): ValidationError[] {
  const absent = new Set(config.absent ?? []);
  if (absent.size === 0) return [];
  const declared = [...g.queues, ...g.pools]
    .filter((m) => absent.has(m.address ?? `${m.kind}/${m.name}`))
    .map((m) =>
      err(
        'V16',
        m,
        positionOf(m.root, 'metadata', 'name'),
        `${m.kind}/${m.name} is declared here but listed under absent in poolsync.yaml: remove one of the two`,
      ),
    );
  if (!absent.has('ClusterPool/default')) return declared;
  // Union refuses to register a cluster without a pool while `default` is deleted
  // (remote/_cluster.py:299-301), and no queue can live in a deleted pool.
  // A co-named queue without a pool is in its cluster's pool (Q4): judged by that cluster.
  const clusters = new Set(g.clusters.map((c) => c.name));
  const inDefault = [
    ...g.clusters,
    ...g.queues.filter((q) => q.pool !== null || !clusters.has(q.name)),
  ].filter((m) => m.name !== 'default' && poolOf(m) === 'default');
  return [
    ...declared,
    ...inDefault.map((m) =>
      err(
        'V16',
        m,
        positionOf(m.root, 'metadata', 'name'),
        `${m.kind}/${m.name} lives in pool "default", which poolsync.yaml lists absent: name another pool`,
      ),
    ),
  ];
}
