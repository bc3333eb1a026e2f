/**
 * Where the inventory of a control plane that cannot keep it (Union, flyteadmin) lives
 * (docs/plan.md, Prune by inventory): `--inventory k8s:NAMESPACE/NAME` (env POOLSYNC_INVENTORY),
 * a ConfigMap every daemon replica and CI job reads; by default `poolsync-inventory` in the
 * namespace of the `--lock` Lease (or of the daemon's leader Lease), since those who share a
 * lock share the inventory; `--inventory state-dir`, or no Lease, keeps it in the state folder.
 * Pure: the ConfigMap is src/lease/k8s-lease.ts, the choice src/apply/inventory.ts.
 */
import { parseK8sPlace, type K8sPlace } from '../util/k8s-place.js';
import { UserError } from '../util/user-error.js';

export type InventoryPlace = K8sPlace;

const DEFAULT_INVENTORY_CONFIGMAP = 'poolsync-inventory';

/**
 * The ConfigMap named by `text` (`--inventory`), else the default beside `lease` (the Lease
 * of --lock or --leader-elect), else null: the state folder.
 */
export function inventoryPlace(
  text: string | null | undefined,
  lease: { namespace: string } | null,
  origin = '--inventory',
): InventoryPlace | null {
  const value = text?.trim() ?? '';
  if (value === 'state-dir') return null;
  if (value === '')
    return lease ? { namespace: lease.namespace, name: DEFAULT_INVENTORY_CONFIGMAP } : null;
  const place = parseK8sPlace(value);
  if (!place) {
    throw new UserError(
      `${origin}: "${text}" is not a Kubernetes ConfigMap; write k8s:NAMESPACE/NAME (for example k8s:poolsync/${DEFAULT_INVENTORY_CONFIGMAP}), or state-dir to keep it in the state folder`,
    );
  }
  return place;
}
