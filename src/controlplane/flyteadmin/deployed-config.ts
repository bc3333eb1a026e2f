/**
 * The cluster configuration flyteadmin runs with, read from the cluster: flyte-core renders
 * `configmap.clusters` into ConfigMap `flyte-admin-clusters-config`, key `clusters.yaml`
 * (charts/flyte-core/templates/admin/configmap.yaml), and flyteadmin reads it at start-up only
 * (executioncluster/impl/random_cluster_selector.go NewRandomClusterSelector). The flyteadmin
 * Deployment carries that ConfigMap's checksum (templates/admin/deployment.yaml), so a `helm
 * upgrade` that changes it restarts flyteadmin: once the ConfigMap holds a label, flyteadmin
 * routes it. Read through @kubernetes/client-node with the operator's credentials (in a pod its
 * service account, else KUBECONFIG); never fatal: what cannot be read is reported as such.
 */
import { load } from '../../util/js-yaml.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterLabelEntry, DeployedClusterConfig } from '../../model/flyte.js';
import { UserError } from '../../util/user-error.js';

export interface ConfigMapRef {
  namespace: string;
  name: string;
}

export const CLUSTERS_KEY = 'clusters.yaml';

/** `NAMESPACE/NAME` (optionally `k8s:NAMESPACE/NAME`), e.g. `flyte/flyte-admin-clusters-config`. */
export function parseConfigMapRef(text: string, origin: string): ConfigMapRef {
  const m = /^(?:k8s:)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(
    text.trim(),
  );
  if (!m)
    throw new UserError(
      `${origin}: "${text}" is not a ConfigMap; write NAMESPACE/NAME, e.g. flyte/flyte-admin-clusters-config`,
    );
  return { namespace: m[1]!, name: m[3]! };
}

export const NOT_CONFIGURED =
  'poolsync is not configured to read it: give the flyteadmin URL clusters-configmap=NAMESPACE/NAME (or set POOLSYNC_FLYTE_CLUSTERS_CONFIGMAP), e.g. flyte/flyte-admin-clusters-config';

export async function readDeployedConfig(
  ref: ConfigMapRef | null,
  kubeConfig: () => Promise<KubeConfig>,
): Promise<DeployedClusterConfig> {
  const unread = (source: string | null, why: string): DeployedClusterConfig => ({
    source,
    labels: null,
    enabled_clusters: null,
    default_execution_label: null,
    unavailable: why,
  });
  if (!ref) return unread(null, NOT_CONFIGURED);
  const source = `k8s:${ref.namespace}/${ref.name}`;
  let text: string | undefined;
  try {
    const { CoreV1Api } = await import('@kubernetes/client-node');
    const api = (await kubeConfig()).makeApiClient(CoreV1Api);
    const cm = await api.readNamespacedConfigMap({ name: ref.name, namespace: ref.namespace });
    text = cm.data?.[CLUSTERS_KEY];
  } catch (err) {
    return unread(source, `cannot read ConfigMap ${ref.namespace}/${ref.name}: ${reason(err)}`);
  }
  if (text === undefined)
    return unread(source, `ConfigMap ${ref.namespace}/${ref.name} has no key ${CLUSTERS_KEY}`);
  try {
    return { source, unavailable: null, ...parseClustersYaml(text) };
  } catch (err) {
    return unread(source, `${source} ${CLUSTERS_KEY}: ${(err as Error).message}`);
  }
}

/** `clusters: {labelClusterMap, clusterConfigs, defaultExecutionLabel}` (runtime/interfaces/cluster_configuration.go). */
export function parseClustersYaml(
  text: string,
): Pick<DeployedClusterConfig, 'labels' | 'enabled_clusters' | 'default_execution_label'> {
  const doc = load(text) as { clusters?: unknown } | null;
  const clusters = isMap(doc?.clusters) ? doc.clusters : {};
  const labels: Record<string, ClusterLabelEntry[]> = {};
  const map = clusters['labelClusterMap'];
  if (isMap(map)) {
    for (const [label, entries] of Object.entries(map)) {
      labels[label] = (Array.isArray(entries) ? entries : []).filter(isMap).map((e) => ({
        cluster: String(e['id'] ?? ''),
        // As written; compared as the float32 flyteadmin reads (plan/flyteadmin.ts).
        weight: Number(e['weight'] ?? 0),
      }));
    }
  }
  const configs = Array.isArray(clusters['clusterConfigs']) ? clusters['clusterConfigs'] : [];
  const enabled = configs
    .filter(isMap)
    .filter((c) => c['enabled'] === true)
    .map((c) => String(c['name'] ?? ''))
    .sort();
  const def = clusters['defaultExecutionLabel'];
  return {
    labels,
    enabled_clusters: enabled,
    default_execution_label: typeof def === 'string' && def !== '' ? def : null,
  };
}

function reason(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 403) return 'forbidden (grant get on configmaps in that namespace)';
  if (code === 404) return 'not found';
  if (code === 401) return 'unauthorized';
  return typeof code === 'number' ? `HTTP ${code}` : ((err as Error).message ?? String(err));
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
