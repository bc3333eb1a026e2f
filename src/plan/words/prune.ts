/** Words of why a live object absent from the repository is left alone (Change.why of `unmanaged`). */
import type { ObjectKind } from '../../model/common.js';
import type { PruneScope, ReasonParams } from '../../model/plan.js';
import { s, type WordsTable } from './params.js';

export const UNMANAGED: WordsTable = {
  PRUNE_OFF: () => 'not in the repository and prune is off: reported, never touched',
  FORGOTTEN: () =>
    'taken out of management (`poolsync state forget`): reported, never deleted; `poolsync import` adopts it again',
  NOT_IN_INVENTORY: (p) =>
    `not in the repository, and poolsync did not apply it (it is not in the inventory): ` +
    `reported, never touched; list ${s(p, 'kind')} in poolsync.yaml manage: to prune every ${s(p, 'kind')}`,
  OUTSIDE_PRUNE_SCOPE: (p) =>
    `not in the repository, and ${s(p, 'kind')} is outside the prune scope (${describeScope(scopeOf(p))}): ` +
    `reported, never touched; list ${s(p, 'kind')} in poolsync.yaml manage: to prune it`,
};

/** `ExecutionClusterLabel, PoolAssignment: the kinds the repository declares`, or the inventory's. */
export function describeScope(scope: PruneScope): string {
  const kinds = scope.kinds.length > 0 ? scope.kinds.join(', ') : 'no kind';
  if (scope.inventory === true) {
    return scope.kinds.length > 0
      ? `what poolsync applied (its inventory), and every ${kinds} (poolsync.yaml manage:)`
      : 'what poolsync applied (its inventory)';
  }
  const why =
    scope.source === 'manage'
      ? 'poolsync.yaml manage:'
      : scope.source === 'declared'
        ? 'the kinds the repository declares'
        : 'every kind';
  return `${kinds}: ${why}`;
}

/** The prune scope as reason parameters, and back. */
export function scopeParams(scope: PruneScope): ReasonParams {
  return {
    kinds: [...scope.kinds],
    source: scope.source,
    ...(scope.inventory !== undefined ? { inventory: scope.inventory } : {}),
  };
}
function scopeOf(p: ReasonParams): PruneScope {
  return {
    kinds: (Array.isArray(p.kinds) ? p.kinds : []) as ObjectKind[],
    source: s(p, 'source') as PruneScope['source'],
    ...(typeof p.inventory === 'boolean' ? { inventory: p.inventory } : {}),
  };
}
