/**
 * The one parser of `k8s:NAMESPACE/NAME`, how poolsync names a namespaced Kubernetes object (the
 * `--lock` Lease, the `--inventory` ConfigMap): a DNS-1123 label, a slash, a DNS-1123 subdomain.
 * And where the inventory of a control plane that cannot keep it (Union, flyteadmin) lives
 * (docs/plan.md, Prune by inventory): a ConfigMap every daemon replica and CI job reads, by
 * default beside the `--lock` or leader Lease, since those who share a lock share the inventory.
 * Pure: the ConfigMap is src/lease/k8s-lease.ts, the choice src/apply/inventory.ts.
 */
import { UserError } from './user-error.js';

export interface K8sPlace {
  namespace: string;
  name: string;
}

const PLACE = /^(k8s:)?([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\/([a-z0-9](?:[-.a-z0-9]*[a-z0-9])?)$/;

/** The object `text` names, or null; `bare`: the `k8s:` prefix may be left out. */
export function parseK8sPlace(text: string | null | undefined, bare = false): K8sPlace | null {
  const m = PLACE.exec(text?.trim() ?? '');
  return m && (bare || m[1]) ? { namespace: m[2]!, name: m[3]! } : null;
}

/** The `kind` that `text` (the value of `origin`) names, else a UserError with an example. */
export function requireK8sPlace(
  text: string,
  origin: string,
  [kind, example, orElse = '']: [string, string, string?],
): K8sPlace {
  const place = parseK8sPlace(text);
  if (place) return place;
  throw new UserError(
    `${origin}: "${text}" is not a Kubernetes ${kind}; write k8s:NAMESPACE/NAME (for example k8s:poolsync/${example})${orElse}`,
  );
}

const DEFAULT_INVENTORY_CONFIGMAP = 'poolsync-inventory';

/** The ConfigMap `--inventory` names, else the default beside `lease`, else null: the state folder. */
export function inventoryPlace(
  text: string | null | undefined,
  lease: { namespace: string } | null,
  origin = '--inventory',
): K8sPlace | null {
  const value = text?.trim() ?? '';
  if (value === 'state-dir') return null;
  if (value === '')
    return lease ? { namespace: lease.namespace, name: DEFAULT_INVENTORY_CONFIGMAP } : null;
  const orElse = ', or state-dir to keep it in the state folder';
  return requireK8sPlace(value, origin, ['ConfigMap', DEFAULT_INVENTORY_CONFIGMAP, orElse]);
}
