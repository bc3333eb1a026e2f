/** URLs in manifests carry no credentials (docs/security.md): manifests live in Git and plans. */
import { urlCredentials } from '../util/url-credentials.js';
import type { ManifestKind, SchemaIssue } from './schema.js';
import { entry, type YMap, type YNode } from './yaml.js';

/** Fields holding URLs: none may carry credentials (docs/security.md; manifests are not secret). */
export const URL_FIELDS: Partial<Record<ManifestKind, string[][]>> = {
  ClusterPool: [
    ['spec', 'object_store_ref', 'uri'],
    ['spec', 'object_store_ref', 'endpoint'],
  ],
  Cluster: [['spec', 'data_plane', 'object_store_uri']],
  // Rendered into flyte-core's Helm values (render flyte-core-values): a token there would
  // land in a values file and a ConfigMap.
  ExecutionCluster: [['spec', 'endpoint']],
};

const CREDENTIALS_INSTEAD: Partial<Record<ManifestKind, string>> = {
  ExecutionCluster:
    "flyteadmin reads the cluster's credentials from the files of spec.auth (tokenPath, certPath), not the URL",
};

export function credentialIssues(kind: ManifestKind, root: YMap, path: string[]): SchemaIssue[] {
  let node: YNode | undefined = root;
  for (const key of path) node = entry(node, key)?.value;
  if (node?.kind !== 'scalar' || typeof node.value !== 'string') return [];
  const found = credentialIn(node.value);
  if (found === null) return [];
  return [
    {
      message: `${path.slice(1).join('.')} carries ${found === 'password' ? 'a password or key (user:secret@)' : 'a user part (name@)'}: manifests live in Git and are shown in plans; ${CREDENTIALS_INSTEAD[kind] ?? "give the object store its credentials through the data plane's secret store, not the URL"}`,
      pos: node.pos,
      path: '/' + path.join('/'),
    },
  ];
}

/** What credential a URL field's value carries, or null. */
function credentialIn(url: string): 'user' | 'password' | null {
  const found = urlCredentials(url);
  // abfs://container@account.dfs.core.windows.net names a container before '@': only an
  // http(s) endpoint's user part is a credential; a password is one everywhere.
  return found === 'user' && !/^https?:/i.test(url) ? null : found;
}

/** True when a URL field of a document read as plain values (load-plain.ts) carries one. */
export function carriesCredentials(kind: ManifestKind, value: unknown): boolean {
  for (const path of URL_FIELDS[kind] ?? []) {
    let v = value;
    for (const key of path)
      v =
        typeof v === 'object' && v !== null && !Array.isArray(v)
          ? (v as Record<string, unknown>)[key]
          : undefined;
    if (typeof v === 'string' && credentialIn(v) !== null) return true;
  }
  return false;
}
