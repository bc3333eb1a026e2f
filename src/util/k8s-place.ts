/**
 * The one parser of `k8s:NAMESPACE/NAME`, the way poolsync names a namespaced Kubernetes object
 * (the `--lock` Lease, the `--inventory` ConfigMap): a DNS-1123 label, a slash, a DNS-1123
 * subdomain. Pure: callers word their own errors.
 */
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
