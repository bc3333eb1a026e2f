/** A repository with environments, written into a temporary folder (test/environments). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const POOL = `apiVersion: poolsync/v1
kind: ClusterPool
metadata: {name: gpu}
spec:
  object_store_ref: {uri: s3://acme-gpu/metadata}
  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}
`;
export const cluster = (name: string) =>
  `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: {pool: gpu}\n`;
export const QUEUE = `apiVersion: poolsync/v1
kind: Queue
metadata:
  name: training
spec:
  pool: gpu
  run_concurrency: 10
  action_concurrency: 100
`;

/** Two environments over a shared base: dev (cluster c-dev), prod (c-prod, queue limits raised). */
export function twoEnvironments(
  cp: { dev: string; prod: string },
  extra = '',
): Record<string, string> {
  return {
    'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
  dev:
    controlPlane: ${cp.dev}
    folders: [base, dev]
    policy: all
    promotesTo: prod
  prod:
    controlPlane: ${cp.prod}
    folders: [base, prod]
    patches: [prod/patches.yaml]
    policy: safe
${extra}`,
    'base/pool.yaml': POOL,
    'base/queue.yaml': QUEUE,
    'dev/cluster.yaml': cluster('c-dev'),
    'prod/cluster.yaml': cluster('c-prod'),
    'prod/patches.yaml': `apiVersion: poolsync/v1
kind: Queue
metadata:
  name: training
spec:
  run_concurrency: 50
  action_concurrency: 500
`,
  };
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}
