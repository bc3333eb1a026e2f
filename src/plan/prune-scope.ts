/**
 * What `prune: true` may delete (docs/plan.md, Prune scope): only the kinds the repository
 * manages. Those are the kinds poolsync.yaml `manage:` lists, else the kinds the repository
 * declares at least one document of. A labels-only repository never prunes pool assignments,
 * and the reverse; to prune every object of a kind it no longer declares, list it in `manage:`.
 * Hand-built states (no loader) keep every kind in scope.
 */
import type { ObjectKind } from '../model/common.js';
import type { RepoConfig } from '../model/desired.js';
import type { PruneScope } from '../model/plan.js';

/** The kinds that have live objects poolsync can delete. */
export const PRUNABLE_KINDS: readonly ObjectKind[] = [
  'ClusterPool',
  'Cluster',
  'Queue',
  'PoolAssignment',
  'DefaultQueue',
  'ExecutionClusterLabel',
];

export const UNMANAGED_REASON = 'not in the repository and prune is off: reported, never touched';

/** The scope of a repository's prune; undefined when prune is off. */
export function pruneScope(config: RepoConfig): PruneScope | undefined {
  if (!config.prune) return undefined;
  if (config.manage)
    return { kinds: PRUNABLE_KINDS.filter((k) => config.manage!.includes(k)), source: 'manage' };
  if (config.declared_kinds)
    return {
      kinds: PRUNABLE_KINDS.filter((k) => config.declared_kinds!.includes(k)),
      source: 'declared',
    };
  return { kinds: [...PRUNABLE_KINDS], source: 'all' };
}

export function prunes(scope: PruneScope | undefined, kind: ObjectKind): boolean {
  return scope !== undefined && scope.kinds.includes(kind);
}

/** Why a live object absent from the repository is left alone. */
export function unmanagedReason(scope: PruneScope | undefined, kind: ObjectKind): string {
  if (!scope) return UNMANAGED_REASON;
  return (
    `not in the repository, and ${kind} is outside the prune scope (${describeScope(scope)}): ` +
    `reported, never touched; list ${kind} in poolsync.yaml manage: to prune it`
  );
}

/** `ExecutionClusterLabel, PoolAssignment (the kinds the repository declares)`. */
export function describeScope(scope: PruneScope): string {
  const kinds = scope.kinds.length > 0 ? scope.kinds.join(', ') : 'no kind';
  const why =
    scope.source === 'manage'
      ? 'poolsync.yaml manage:'
      : scope.source === 'declared'
        ? 'the kinds the repository declares'
        : 'every kind';
  return `${kinds}: ${why}`;
}
