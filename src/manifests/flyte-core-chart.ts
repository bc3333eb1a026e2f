/**
 * V14: ExecutionCluster credentials where the flyte-core chart mounts them, so the rendered
 * values start pods (docs/flyte-oss.md, "What the chart does with the values"). In
 * flyteorg/flyte charts/flyte-core/templates:
 *  - clusterresourcesync/deployment.yaml (the `syncresources` Deployment, on by default:
 *    cluster_resource_manager.enabled) mounts Secret `cluster-credentials` at
 *    `/var/run/credentials` (lines 68-71 and 86-90) whatever the values say, and reads the same
 *    clusterConfigs (clusterresourcesync/configmap.yaml): every tokenPath and certPath must be
 *    `/var/run/credentials/<key of that Secret>`;
 *  - both that mount and the `sync-cluster-resources` init container's
 *    flyteadmin.additionalVolumeMounts (admin/deployment.yaml lines 113-117) exist only when
 *    labelClusterMap is non-empty: clusters with credentials need at least one ClusterLabel;
 *  - flyteadmin reads the token and certificate of every cluster, disabled ones too, at
 *    start-up and fails without them (executioncluster/impl/list_targets.go NewListTargets,
 *    flytek8s/client.go RemoteClusterConfig): the render header lists every key.
 */
import { positionOf, usable } from './documents.js';
import type { ExecutionClusterManifest } from './flyte-documents.js';
import { err } from './rule-helpers.js';
import type { ValidationError } from './types.js';

/** The Secret and folder the chart's syncresources Deployment mounts, whatever the values say. */
export const CHART_CREDENTIALS_SECRET = 'cluster-credentials';
export const CHART_CREDENTIALS_DIR = '/var/run/credentials';
/** A Secret key (k8s.io/apimachinery IsConfigMapKey): the file name under the mount. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

export function checkChartCredentials(
  clusters: readonly ExecutionClusterManifest[],
  hasLabels: boolean,
): ValidationError[] {
  const out: ValidationError[] = [];
  let firstWithCredentials: ExecutionClusterManifest | null = null;
  for (const c of clusters) {
    if (c.auth?.type !== 'file_path' || c.authConflict || !usable(c, '/spec/auth')) continue;
    firstWithCredentials ??= c;
    for (const field of ['tokenPath', 'certPath'] as const) {
      const path = c.auth[field];
      const key = path.slice(CHART_CREDENTIALS_DIR.length + 1);
      if (path.startsWith(`${CHART_CREDENTIALS_DIR}/`) && SECRET_KEY.test(key) && key !== '..')
        continue;
      out.push(
        err(
          'V14',
          c,
          positionOf(c.root, 'spec', 'auth', field),
          `ExecutionCluster '${c.name}': ${field} ${path} is not a file of ${CHART_CREDENTIALS_DIR}/: the flyte-core chart's syncresources Deployment mounts ` +
            `Secret ${CHART_CREDENTIALS_SECRET} at ${CHART_CREDENTIALS_DIR} whatever the values say (templates/clusterresourcesync/deployment.yaml:68-71, 86-90) and reads these paths; ` +
            `use ${CHART_CREDENTIALS_DIR}/<key of Secret ${CHART_CREDENTIALS_SECRET}>, e.g. ${CHART_CREDENTIALS_DIR}/${c.name}_${field === 'tokenPath' ? 'token' : 'cacert'}`,
        ),
      );
    }
  }
  if (firstWithCredentials && !hasLabels)
    out.push(
      err(
        'V14',
        firstWithCredentials,
        positionOf(firstWithCredentials.root, 'spec', 'auth'),
        `ExecutionCluster '${firstWithCredentials.name}' has credentials but no ClusterLabel is declared: the flyte-core chart mounts the credentials only when ` +
          `labelClusterMap is non-empty (templates/admin/deployment.yaml:113-117, templates/clusterresourcesync/deployment.yaml:68, 86), so flyteadmin's sync-cluster-resources ` +
          `init container could not read them and the pod would not start; declare a ClusterLabel`,
      ),
    );
  return out;
}
