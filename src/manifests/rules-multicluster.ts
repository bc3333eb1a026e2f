/**
 * Cross-document rules of the multi-cluster kinds (docs/flyte-oss.md, docs/union-self-managed.md):
 *  V9  a ClusterLabel's weights are each in [0, 1] and not 0 as a float32 unless written 0, as
 *      flyteadmin reads them (model/flyte.ts weightProblem); they are relative, so their sum
 *      need not be 1 (the plan warns, LABEL_WEIGHTS_RELATIVE);
 *  V10 a ClusterLabel names only declared ExecutionClusters, each once; at most one label is
 *      the default (flyte-core's defaultExecutionLabel);
 *  V14 credentials where the flyte-core chart mounts them (checkChartCredentials below);
 *  V11 an ExecutionClusterLabel names a declared ClusterLabel, one per key;
 *  SCHEMA an ExecutionCluster needs either auth (with endpoint) or inCluster: true.
 * Linear: every lookup goes through a Map built once.
 */
import { assignmentKeyString } from '../model/common.js';
import { weightProblem } from '../model/flyte.js';
import {
  positionOf,
  usable,
  type ClusterLabelManifest,
  type ExecutionClusterLabelManifest,
  type ExecutionClusterManifest,
} from './documents.js';
import { err, firstByName, where } from './rule-helpers.js';
import { didYouMean } from './suggest.js';
import type { ValidationError } from './types.js';

export interface FlyteGrouped {
  executionClusters: ExecutionClusterManifest[];
  labels: ClusterLabelManifest[];
  executionClusterLabels: ExecutionClusterLabelManifest[];
}

export function emptyFlyteGroup(): FlyteGrouped {
  return { executionClusters: [], labels: [], executionClusterLabels: [] };
}

export function checkFlyteRules(g: FlyteGrouped): ValidationError[] {
  const out: ValidationError[] = [];
  const clusters = firstByName(g.executionClusters, out);
  const labels = firstByName(g.labels, out);
  firstByName(g.executionClusterLabels, out);
  for (const c of g.executionClusters) checkClusterAuth(c, out);
  checkLabels(g.labels, clusters, out);
  out.push(...checkChartCredentials(g.executionClusters, g.labels.length > 0));
  checkExecutionClusterLabels(g.executionClusterLabels, labels, out);
  return out;
}

/** SCHEMA: either auth (with an endpoint) or inCluster: true. */
function checkClusterAuth(c: ExecutionClusterManifest, out: ValidationError[]): void {
  const specPos = () => positionOf(c.root, 'spec');
  if (c.authConflict) {
    out.push(
      err(
        'SCHEMA',
        c,
        positionOf(c.root, 'spec', 'inCluster'),
        `ExecutionCluster '${c.name}': give either auth (a file_path token and certificate) or inCluster: true, not both`,
      ),
    );
  } else if (c.auth === null && usable(c, '/spec/auth') && usable(c, '/spec/inCluster')) {
    out.push(
      err(
        'SCHEMA',
        c,
        specPos(),
        `ExecutionCluster '${c.name}': missing auth: add auth {type: file_path, tokenPath, certPath} with an endpoint, or inCluster: true`,
      ),
    );
  } else if (c.auth?.type === 'file_path' && c.endpoint === null && usable(c, '/spec/endpoint')) {
    out.push(
      err(
        'SCHEMA',
        c,
        specPos(),
        `ExecutionCluster '${c.name}': missing endpoint: the data plane's Kubernetes API URL, e.g. https://dataplane1.example.com:443`,
      ),
    );
  }
}

/** V10 (one default label), then each label's entries (V9, V10). */
function checkLabels(
  labels: ClusterLabelManifest[],
  clusters: Map<string, unknown>,
  out: ValidationError[],
): void {
  const clusterNames = [...clusters.keys()].sort();
  let defaultLabel: ClusterLabelManifest | null = null;
  for (const l of labels) {
    if (l.isDefault) {
      if (defaultLabel)
        out.push(
          err(
            'V10',
            l,
            positionOf(l.root, 'spec', 'default'),
            `ClusterLabel '${l.name}' is default: true, as is '${defaultLabel.name}' (${where(defaultLabel)}); flyte-core has one defaultExecutionLabel: keep one`,
          ),
        );
      else defaultLabel = l;
    }
    checkLabelEntries(l, clusters, clusterNames, out);
  }
}

function checkLabelEntries(
  l: ClusterLabelManifest,
  clusters: Map<string, unknown>,
  clusterNames: string[],
  out: ValidationError[],
): void {
  const seen = new Map<string, number>();
  l.clusters.forEach((entry, i) => {
    const problem = usable(l, `/spec/clusters/${i}/weight`) ? weightProblem(entry.weight) : null;
    if (problem)
      out.push(
        err(
          'V9',
          l,
          positionOf(l.root, 'spec', 'clusters', i, 'weight'),
          `ClusterLabel '${l.name}': weight ${entry.weight} of cluster '${entry.cluster}' ${problem}; a weight lies in [0, 1], relative to the label's other weights, and 0 skips the cluster`,
        ),
      );
    if (!usable(l, `/spec/clusters/${i}/cluster`) || entry.cluster === '') return;
    const pos = () => positionOf(l.root, 'spec', 'clusters', i, 'cluster');
    const earlier = seen.get(entry.cluster);
    if (earlier !== undefined) {
      out.push(
        err(
          'V10',
          l,
          pos(),
          `ClusterLabel '${l.name}': cluster '${entry.cluster}' is listed twice (entries ${earlier + 1} and ${i + 1}); merge them into one weight`,
        ),
      );
    } else seen.set(entry.cluster, i);
    if (!clusters.has(entry.cluster)) {
      const hint = didYouMean(entry.cluster, clusterNames);
      out.push(
        err(
          'V10',
          l,
          pos(),
          `ClusterLabel '${l.name}': ExecutionCluster '${entry.cluster}' is not declared${hint} (declared: ${clusterNames.length > 0 ? clusterNames.join(', ') : 'none'})`,
        ),
      );
    }
  });
}

/** V11: each names a declared ClusterLabel; one per key. */
function checkExecutionClusterLabels(
  ecls: ExecutionClusterLabelManifest[],
  labels: Map<string, unknown>,
  out: ValidationError[],
): void {
  const labelNames = [...labels.keys()].sort();
  const byKey = new Map<string, ExecutionClusterLabelManifest>();
  for (const e of ecls) {
    if (usable(e, '/spec/label') && e.label !== '' && !labels.has(e.label)) {
      const hint = didYouMean(e.label, labelNames);
      out.push(
        err(
          'V11',
          e,
          positionOf(e.root, 'spec', 'label'),
          `ExecutionClusterLabel ${e.key.project !== '' && e.key.domain !== '' ? assignmentKeyString(e.key) : `'${e.name}'`}: ClusterLabel '${e.label}' is not declared${hint} (declared: ${labelNames.length > 0 ? labelNames.join(', ') : 'none'})`,
        ),
      );
    }
    const keyOk =
      usable(e, '/spec/project') && usable(e, '/spec/domain') && usable(e, '/spec/workflow');
    if (!keyOk || e.key.project === '' || e.key.domain === '') continue;
    const key = assignmentKeyString(e.key);
    const first = byKey.get(key);
    if (!first) {
      byKey.set(key, e);
      continue;
    }
    for (const [a, b] of [
      [e, first],
      [first, e],
    ] as const) {
      out.push(
        err(
          'V11',
          a,
          positionOf(a.root, 'spec'),
          `execution cluster label key ${key} is also set by '${b.name}' at ${where(b)}; keep one`,
        ),
      );
    }
  }
}

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
/** The Secret and folder the chart's syncresources Deployment mounts, whatever the values say. */
export const CHART_CREDENTIALS_SECRET = 'cluster-credentials';
export const CHART_CREDENTIALS_DIR = '/var/run/credentials';
/** A Secret key (k8s.io/apimachinery IsConfigMapKey): the file name under the mount. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

function checkChartCredentials(
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
