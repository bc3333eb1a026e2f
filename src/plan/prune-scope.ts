/**
 * What `prune: true` may delete (docs/plan.md, Prune by inventory): an undeclared live object in
 * the inventory (what poolsync applied), or of a kind `manage:` claims whole; with none recorded
 * yet, nothing else (Terraform, Flux and Argo CD never prune what they did not create). Of the
 * inventory, only what this repository applied (docs/plan.md, Prune scope): never what another
 * repository applied, nor what an earlier build recorded without saying which, `manage:` or not
 * (quality.md: prune stays inside what the repository manages). A live state built in-process
 * (not read) keeps the kinds rule: `manage:`, the declared kinds, or all.
 */
import { address, type ObjectKind } from '../model/common.js';
import type { RepoConfig } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import type { PruneScope } from '../model/plan.js';
import { reasonOf, scopeParams } from './reasons.js';
import { sortedHas } from '../util/sorted.js';

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

/**
 * The inventory as one repository sees it: its own addresses (as `live.inventory`: null, none
 * recorded; undefined, not read), and who applied another: its repository, '' when recorded
 * without one, undefined when this repository did or nobody. Looked up in the sorted lists, no
 * set of them: a daemon's plan of a slice asks about a few.
 */
export interface Ownership {
  own: readonly string[] | null | undefined;
  other(address: string): string | undefined;
}

export function ownership(
  live: Pick<LiveState, 'inventory' | 'inventory_owners'>,
  repository: string | null,
): Ownership {
  const { inventory, inventory_owners: owners } = live;
  if (!inventory || !owners) return { own: inventory, other: () => undefined };
  const mine = (repository !== null ? owners[repository] : undefined) ?? [];
  const others = Object.entries(owners)
    .filter(([r, list]) => r !== repository && list.length > 0)
    .map(([r, list]) => [r, sortedHas(list)] as const);
  const isMine = sortedHas(mine);
  const recorded = sortedHas(inventory);
  return {
    // `inventory` may be a slice (incremental/plan-slice.ts): its own part of it, one walk.
    own: inventory.filter(isMine),
    other: (a) => {
      if (isMine(a)) return undefined;
      for (const [r, has] of others) if (has(a)) return r;
      return recorded(a) ? '' : undefined;
    },
  };
}

export function prunes(
  scope: PruneScope | undefined,
  inventory: ReadonlySet<string> | null,
  kind: ObjectKind,
  name: string,
  owners?: Ownership,
): boolean {
  const at = address(kind, name);
  if (scope === undefined || scope.forgotten?.includes(at)) return false;
  if (scope.inventory === true && inventory?.has(at)) return true;
  // manage: claims the hand-made objects of its kinds, never another repository's.
  return scope.kinds.includes(kind) && owners?.other(at) === undefined;
}

export function unmanagedReason(
  scope: PruneScope | undefined,
  kind: ObjectKind,
  name: string,
  owners?: Ownership,
  madeAgain?: LiveState['made_again'],
) {
  const other = owners?.other(address(kind, name));
  // Declared here or not, prune or not: another repository's to change.
  if (other) return reasonOf('OTHER_REPOSITORY', { repository: other });
  if (!scope) return reasonOf('PRUNE_OFF', {});
  if (scope.forgotten?.includes(address(kind, name))) return reasonOf('FORGOTTEN', {});
  if (other === '') return reasonOf('RECORDED_WITHOUT_REPOSITORY', {});
  const again = madeAgain?.[address(kind, name)];
  if (again) return reasonOf('MADE_AGAIN', { field: again.field, was: again.was, now: again.now });
  if (scope.inventory !== undefined) return reasonOf('NOT_IN_INVENTORY', { kind });
  return reasonOf('OUTSIDE_PRUNE_SCOPE', { kind, ...scopeParams(scope) });
}
