/**
 * Cross-document rules of the multi-cluster kinds (docs/flyte-oss.md, docs/union-self-managed.md):
 *  V9  a ClusterLabel's weights are each in (0, 1] and sum to 1 (flyte-core's labelClusterMap);
 *  V10 a ClusterLabel names only declared ExecutionClusters, each once;
 *  V11 an ExecutionClusterLabel names a declared ClusterLabel, one per key;
 *  V13 clusters in different pools must not share a metadata bucket (Union self-managed:
 *      `storage.bucketName`), compared by bucket, not by the full URI as V7 does;
 *  SCHEMA an ExecutionCluster needs either auth (with endpoint) or inCluster: true.
 * Linear: every lookup goes through a Map built once.
 */
import { assignmentKeyString } from '../model/common.js';
import { LABEL_WEIGHT_TOLERANCE, bucketOf } from '../model/flyte.js';
import type { PoolManifest } from './documents.js';
import { positionOf, usable } from './documents.js';
import type {
  ClusterLabelManifest,
  ExecutionClusterLabelManifest,
  ExecutionClusterManifest,
} from './flyte-documents.js';
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

  for (const c of g.executionClusters) {
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

  const clusterNames = [...clusters.keys()].sort();
  for (const l of g.labels) {
    let sum = 0;
    let summable = true;
    const seen = new Map<string, number>();
    l.clusters.forEach((entry, i) => {
      const weightOk = usable(l, `/spec/clusters/${i}/weight`) && Number.isFinite(entry.weight);
      if (!weightOk) summable = false;
      else if (entry.weight <= 0 || entry.weight > 1) {
        summable = false;
        out.push(
          err(
            'V9',
            l,
            positionOf(l.root, 'spec', 'clusters', i, 'weight'),
            `ClusterLabel '${l.name}': weight ${entry.weight} of cluster '${entry.cluster}' is outside (0, 1]; a weight is the share of the label's executions that cluster gets`,
          ),
        );
      } else sum += entry.weight;
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
    if (summable && l.clusters.length > 0 && Math.abs(sum - 1) > LABEL_WEIGHT_TOLERANCE) {
      out.push(
        err(
          'V9',
          l,
          positionOf(l.root, 'spec', 'clusters'),
          `ClusterLabel '${l.name}': the weights sum to ${Number(sum.toFixed(9))}, not 1 (tolerance ${LABEL_WEIGHT_TOLERANCE}); flyte-core requires the weights of a label to sum to 1`,
        ),
      );
    }
  }

  const labelNames = [...labels.keys()].sort();
  const byKey = new Map<string, ExecutionClusterLabelManifest>();
  for (const e of g.executionClusterLabels) {
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
  return out;
}

/** V13: different pools, different metadata buckets. Exact URI matches are V7's. */
export function checkBuckets(pools: Iterable<PoolManifest>): ValidationError[] {
  const out: ValidationError[] = [];
  const byBucket = new Map<string, PoolManifest>();
  for (const p of pools) {
    if (!p.contract || !usable(p, '/spec/object_store_ref/uri')) continue;
    const uri = p.contract.object_store_ref.uri;
    const bucket = bucketOf(uri);
    if (bucket === null) continue;
    const first = byBucket.get(bucket);
    if (!first) {
      byBucket.set(bucket, p);
      continue;
    }
    const strip = (u: string) => u.replace(/\/+$/, '');
    if (strip(first.contract!.object_store_ref.uri) === strip(uri)) continue; // V7
    out.push(
      err(
        'V13',
        p,
        positionOf(p.root, 'spec', 'object_store_ref', 'uri'),
        `pool '${p.name}' stores metadata in bucket ${bucket}, which pool '${first.name}' (${where(first)}) also uses; clusters in different pools must have different metadata buckets (storage.bucketName): give each pool its own bucket, or put the clusters in one pool`,
      ),
    );
  }
  return out;
}
