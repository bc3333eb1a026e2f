/**
 * flyte-core Helm values for multi-cluster Flyte (seed flyte-multi-cluster.md, "Control Plane
 * configuration"): `configmap.clusters` (labelClusterMap, clusterConfigs, defaultExecutionLabel)
 * from the ClusterLabel and ExecutionCluster manifests, and the volume that mounts the
 * credentials Secret where the clusterConfigs' tokenPath and certPath point, so the pods start
 * on the real chart (flyteorg/flyte charts/flyte-core/templates):
 *  - the paths are files of /var/run/credentials and the Secret is cluster-credentials (V14):
 *    the syncresources Deployment mounts exactly that, whatever the values say
 *    (clusterresourcesync/deployment.yaml:68-71, 86-90);
 *  - flyteadmin.additionalVolumes/additionalVolumeMounts reach the flyteadmin container
 *    (admin/deployment.yaml:192-194, 232-234) and the sync-cluster-resources init container
 *    (admin/deployment.yaml:113-117, only with a non-empty labelClusterMap, which V14 requires);
 *    no chart version reads `initContainerClusterSyncAdditionalVolumeMounts`, so it is not
 *    written;
 *  - Helm replaces lists and merges maps: with the operator's own values (`base`), their
 *    volumes and mounts are kept in the rendered lists (flyte-core-base.ts).
 * Pure and stable: the same desired state (and base) gives the same bytes.
 */
import { posix } from 'node:path';
import { dump } from '../../util/js-yaml.js';
import type { DesiredState } from '../../model/desired.js';
import { CHART_CREDENTIALS_DIR, CHART_CREDENTIALS_SECRET } from '../../manifests/rules.js';
import { header } from './header.js';
import { mergeBase, type BaseValues } from './flyte-core-base.js';

export const DEFAULT_CREDENTIALS_SECRET = CHART_CREDENTIALS_SECRET;

export interface FlyteCoreValuesOptions {
  commit: string | null;
  credentialsSecret?: string;
  /** The operator's own values file, parsed, whose volume lists are kept (flyte-core-base.ts). */
  base?: BaseValues;
}

export function flyteCoreValues(
  desired: DesiredState,
  opts: Omit<FlyteCoreValuesOptions, 'commit'>,
): Record<string, unknown> {
  const secret = opts.credentialsSecret ?? DEFAULT_CREDENTIALS_SECRET;
  const clusters = desired.execution_clusters ?? [];
  const withCredentials = clusters.some((c) => c.auth.type === 'file_path');
  const volumes = withCredentials ? [{ name: secret, secret: { secretName: secret } }] : [];
  const mounts = withCredentials ? [{ name: secret, mountPath: CHART_CREDENTIALS_DIR }] : [];
  const labelClusterMap: Record<string, { id: string; weight: number }[]> = {};
  for (const l of desired.cluster_labels ?? [])
    labelClusterMap[l.name] = l.clusters.map((e) => ({ id: e.cluster, weight: e.weight }));
  const defaultLabel = (desired.cluster_labels ?? []).find((l) => l.default)?.name;
  const clusterConfigs = clusters.map((c) =>
    c.auth.type === 'in_cluster'
      ? { name: c.name, enabled: c.enabled, inCluster: true }
      : {
          name: c.name,
          endpoint: c.endpoint,
          enabled: c.enabled,
          auth: { type: 'file_path', tokenPath: c.auth.tokenPath, certPath: c.auth.certPath },
        },
  );
  const clustersValues = {
    labelClusterMap,
    clusterConfigs,
    ...(defaultLabel ? { defaultExecutionLabel: defaultLabel } : {}),
  };
  const merged = mergeBase(
    { additionalVolumes: volumes, additionalVolumeMounts: mounts },
    clustersValues,
    opts.base,
  );
  const flyteadmin =
    merged.additionalVolumes.length + merged.additionalVolumeMounts.length > 0
      ? { flyteadmin: merged }
      : {};
  return { ...flyteadmin, configmap: { clusters: clustersValues } };
}

/** The values file: header (commit, the Secret's expected keys) and YAML. */
export function renderFlyteCoreValues(desired: DesiredState, opts: FlyteCoreValuesOptions): string {
  const secret = opts.credentialsSecret ?? DEFAULT_CREDENTIALS_SECRET;
  const keys = [
    ...new Set(
      (desired.execution_clusters ?? []).flatMap((c) =>
        c.auth.type === 'file_path'
          ? [posix.basename(c.auth.tokenPath), posix.basename(c.auth.certPath)]
          : [],
      ),
    ),
  ].sort();
  const extra = [
    'Use with: helm upgrade flyte-core flyteorg/flyte-core -n flyte --values <your values> --values <this file>',
    ...(opts.base
      ? [`Keeps the volumes and mounts of ${opts.base.path} (Helm replaces lists).`]
      : [
          'Helm replaces lists: if your values set flyteadmin.additionalVolumes or additionalVolumeMounts, render with --base <your values>.',
        ]),
    ...(keys.length > 0
      ? [
          `Secret ${secret} (namespace flyte) must hold: ${keys.join(', ')}`,
          'flyteadmin reads every one at start-up, disabled clusters included, and does not start without them.',
        ]
      : []),
  ];
  const yaml = dump(flyteCoreValues(desired, opts), {
    lineWidth: -1,
    noRefs: true,
    sortKeys: false,
  });
  return header(opts.commit, 'poolsync render flyte-core-values', extra) + yaml;
}
