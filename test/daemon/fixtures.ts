/** Manifests for the daemon tests: one pool `prod`, some clusters, one queue `batch`; drift made by hand. */
import type { CoreCalls } from '../controlplane/core-calls.js';
import { retuneQueue } from '../support/retune-queue.js';

export interface RepoShape {
  clusters?: string[];
  batchRunConcurrency?: number;
  batchClusters?: string[];
  prune?: boolean;
  /** Adds a queue whose selector names an undeclared cluster (V3). */
  invalid?: boolean;
  /** Adds an ExecutionCluster and a ClusterLabel (flyteadmin's Helm values: configuration only). */
  flyteLabels?: boolean;
}

export function manifests(shape: RepoShape = {}): Record<string, string> {
  const clusters = shape.clusters ?? ['prod-1', 'prod-2'];
  const files: Record<string, string> = {
    'poolsync.yaml': `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: ${shape.prune ?? true}\n`,
    'pools/prod.yaml': [
      'apiVersion: poolsync/v1',
      'kind: ClusterPool',
      'metadata:',
      '  name: prod',
      'spec:',
      '  object_store_ref:',
      '    uri: s3://acme-prod/metadata',
      '  secret_store:',
      '    type: AWS_SECRETS_MANAGER',
      '    locator: us-east-1',
      '',
    ].join('\n'),
    'queues/batch.yaml': [
      'apiVersion: poolsync/v1',
      'kind: Queue',
      'metadata:',
      '  name: batch',
      'spec:',
      '  pool: prod',
      `  clusters: [${(shape.batchClusters ?? ['*']).map((c) => JSON.stringify(c)).join(', ')}]`,
      `  run_concurrency: ${shape.batchRunConcurrency ?? 50}`,
      '  action_concurrency: 500',
      '',
    ].join('\n'),
  };
  for (const name of clusters) {
    files[`clusters/${name}.yaml`] = [
      'apiVersion: poolsync/v1',
      'kind: Cluster',
      'metadata:',
      `  name: ${name}`,
      'spec:',
      '  pool: prod',
      '',
    ].join('\n');
  }
  if (shape.invalid) {
    files['queues/broken.yaml'] = [
      'apiVersion: poolsync/v1',
      'kind: Queue',
      'metadata:',
      '  name: broken',
      'spec:',
      '  pool: prod',
      '  clusters: [no-such-cluster]',
      '  run_concurrency: 1',
      '  action_concurrency: 1',
      '',
    ].join('\n');
  }
  if (shape.flyteLabels) {
    files['flyte/labels.yaml'] = [
      'apiVersion: poolsync/v1',
      'kind: ExecutionCluster',
      'metadata:',
      '  name: dataplane_1',
      'spec:',
      '  enabled: true',
      '  inCluster: true',
      '---',
      'apiVersion: poolsync/v1',
      'kind: ClusterLabel',
      'metadata:',
      '  name: training',
      'spec:',
      '  clusters: [{ cluster: dataplane_1, weight: 1 }]',
      '',
    ].join('\n');
  }
  return files;
}

/** Drift: a queue's run concurrency changed on the control plane by hand, the rest of its spec kept. */
export async function setRunConcurrency(cp: CoreCalls, name: string, n: number): Promise<void> {
  await retuneQueue(cp, name, { run_concurrency: n });
}
