/**
 * flyte-core Helm values for multi-cluster Flyte (seed flyte-multi-cluster.md, "Control Plane
 * configuration"): `configmap.clusters.labelClusterMap` and `clusterConfigs` from the
 * ClusterLabel and ExecutionCluster manifests, and the volumes that mount the credentials
 * Secret where the clusterConfigs' tokenPath and certPath point. Pure and stable: the same
 * desired state gives the same bytes.
 */
import { posix } from 'node:path';
import { dump } from '../../util/js-yaml.js';
import type { DesiredState } from '../../model/desired.js';
import { header } from './header.js';

export const DEFAULT_CREDENTIALS_SECRET = 'cluster-credentials';

export interface FlyteCoreValuesOptions {
  commit: string | null;
  credentialsSecret?: string;
}

export function flyteCoreValues(
  desired: DesiredState,
  opts: FlyteCoreValuesOptions,
): Record<string, unknown> {
  const secret = opts.credentialsSecret ?? DEFAULT_CREDENTIALS_SECRET;
  const clusters = desired.execution_clusters ?? [];
  // One volume of the Secret per folder the paths name (the seed uses one: /var/run/credentials).
  const dirs = [
    ...new Set(
      clusters.flatMap((c) =>
        c.auth.type === 'file_path'
          ? [posix.dirname(c.auth.tokenPath), posix.dirname(c.auth.certPath)]
          : [],
      ),
    ),
  ].sort();
  const volumeName = (i: number) => (i === 0 ? secret : `${secret}-${i + 1}`);
  const mounts = dirs.map((dir, i) => ({ name: volumeName(i), mountPath: dir }));
  const labelClusterMap: Record<string, { id: string; weight: number }[]> = {};
  for (const l of desired.cluster_labels ?? [])
    labelClusterMap[l.name] = l.clusters.map((e) => ({ id: e.cluster, weight: e.weight }));
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
  return {
    ...(mounts.length > 0
      ? {
          flyteadmin: {
            additionalVolumes: mounts.map((m) => ({
              name: m.name,
              secret: { secretName: secret },
            })),
            additionalVolumeMounts: mounts,
            // The cluster resource sync reads the same clusterConfigs, so the same paths.
            initContainerClusterSyncAdditionalVolumeMounts: mounts,
          },
        }
      : {}),
    configmap: { clusters: { labelClusterMap, clusterConfigs } },
  };
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
    ...(keys.length > 0
      ? [`Secret ${secret} (namespace flyte) must hold: ${keys.join(', ')}`]
      : []),
  ];
  const yaml = dump(flyteCoreValues(desired, opts), {
    lineWidth: -1,
    noRefs: true,
    sortKeys: false,
  });
  return header(opts.commit, 'poolsync render flyte-core-values', extra) + yaml;
}
