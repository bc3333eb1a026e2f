/**
 * What `prune: true` may delete (docs/plan.md, Prune by inventory).
 *
 * With an inventory (the addresses poolsync applied to this control plane, model/inventory.ts):
 * a live object absent from the repository is deleted when it is in the inventory, or when its
 * kind is one poolsync.yaml `manage:` claims whole. Anything else is unmanaged: a hand-made
 * queue beside the repository's is never touched, and removing the last Queue document of a
 * repository deletes the queue poolsync applied.
 *
 * Without one recorded yet (the first run against a control plane): the same rule over an empty
 * inventory, so nothing poolsync did not apply is deleted unless the user adopted it (`import`,
 * `export`, or `manage:` claiming its kind), as Terraform, Flux and Argo CD never prune what they
 * did not create; the plan says the inventory is missing. A live state built in-process (not
 * read, `undefined`) keeps the kinds rule: `manage:`, else the declared kinds, else every kind.
 */
import { address, type ObjectKind } from '../model/common.js';
import type { RepoConfig } from '../model/desired.js';
import type { PruneScope, Reason } from '../model/plan.js';
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

/**
 * The scope the repository asks for, by kinds alone (no inventory); undefined when prune is
 * off. Part of the desired fingerprint.
 */
export function pruneScope(config: RepoConfig): PruneScope | undefined {
  if (!config.prune) return undefined;
  const listed = config.manage ?? config.declared_kinds;
  if (!listed) return { kinds: [...PRUNABLE_KINDS], source: 'all' };
  const kinds = PRUNABLE_KINDS.filter((k) => listed.includes(k));
  return { kinds, source: config.manage ? 'manage' : 'declared' };
}

/**
 * The scope of a plan: what the inventory lists (none when `null`: nothing recorded yet) plus
 * the kinds `manage:` claims; not read (`undefined`, a live state built in-process), the kinds
 * rule as it is.
 */
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

/** A live object absent from the repository is deleted (prune on, and in scope). */
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

/** Why a live object of this kind absent from the repository is left alone, as data. */
export function unmanagedReason(
  scope: PruneScope | undefined,
  kind: ObjectKind,
  name: string,
): Reason {
  if (!scope) return reasonOf('PRUNE_OFF', {});
  if (scope.forgotten?.includes(address(kind, name))) return reasonOf('FORGOTTEN', {});
  if (scope.inventory !== undefined) return reasonOf('NOT_IN_INVENTORY', { kind });
  return reasonOf('OUTSIDE_PRUNE_SCOPE', { kind, ...scopeParams(scope) });
}
