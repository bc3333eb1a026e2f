/**
 * What `prune: true` may delete (docs/plan.md, Prune by inventory): an undeclared live object in
 * the inventory (what poolsync applied), or of a kind `manage:` claims whole; with none recorded
 * yet, nothing else (Terraform, Flux and Argo CD never prune what they did not create). A live
 * state built in-process (not read) keeps the kinds rule: `manage:`, the declared kinds, or all.
 */
import { address, type ObjectKind } from '../model/common.js';
import type { RepoConfig } from '../model/desired.js';
import type { PruneScope } from '../model/plan.js';
import { reasonOf, scopeParams } from './reasons.js';

/** The kinds that have live objects poolsync can delete. */
const PRUNABLE_KINDS: readonly ObjectKind[] = [
  'ClusterPool',
  'Cluster',
  'Queue',
  'PoolAssignment',
  'DefaultQueue',
  'ExecutionClusterLabel',
];

/** The scope by kinds alone (no inventory); undefined when prune is off. Fingerprinted. */
export function pruneScope(config: RepoConfig): PruneScope | undefined {
  if (!config.prune) return undefined;
  const listed = config.manage ?? config.declared_kinds;
  if (!listed) return { kinds: [...PRUNABLE_KINDS], source: 'all' };
  const kinds = PRUNABLE_KINDS.filter((k) => listed.includes(k));
  return { kinds, source: config.manage ? 'manage' : 'declared' };
}

/** The scope of a plan: the inventory (null: none recorded) plus the kinds `manage:` claims. */
export function scopeWithInventory(
  config: RepoConfig,
  inventory: readonly string[] | null | undefined,
  forgotten: readonly string[] = [],
): PruneScope | undefined {
  const byKinds = pruneScope(config);
  if (!byKinds || inventory === undefined) return byKinds;
  // `poolsync state forget`: out of every scope, the kinds of manage: included.
  const out = forgotten.length > 0 ? { forgotten: [...forgotten] } : {};
  const claimed = config.manage
    ? { kinds: byKinds.kinds, source: 'manage' as const }
    : { kinds: [], source: 'inventory' as const };
  return { ...claimed, inventory: inventory !== null, ...out };
}

export function prunes(
  scope: PruneScope | undefined,
  inventory: ReadonlySet<string> | null,
  kind: ObjectKind,
  name: string,
): boolean {
  if (scope === undefined || scope.forgotten?.includes(address(kind, name))) return false;
  if (scope.kinds.includes(kind)) return true;
  return scope.inventory === true && inventory !== null && inventory.has(address(kind, name));
}

export function unmanagedReason(scope: PruneScope | undefined, kind: ObjectKind, name: string) {
  if (!scope) return reasonOf('PRUNE_OFF', {});
  if (scope.forgotten?.includes(address(kind, name))) return reasonOf('FORGOTTEN', {});
  if (scope.inventory !== undefined) return reasonOf('NOT_IN_INVENTORY', { kind });
  return reasonOf('OUTSIDE_PRUNE_SCOPE', { kind, ...scopeParams(scope) });
}
