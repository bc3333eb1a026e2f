/** Writes config repositories (manifests.md) into temp folders for the apply tests. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerTempFolder } from './temp-folder.js';

export interface RepoSpec {
  prune?: boolean;
  pools?: string[];
  /** name → pool (enabled by default). */
  clusters?: Record<string, string | { pool: string; enabled?: boolean }>;
  /** name → { pool, clusters, run_concurrency? }. */
  queues?: Record<string, { pool: string; clusters: string[]; run_concurrency?: number }>;
  /** `project/domain` → pool. */
  assignments?: Record<string, string>;
}

/** Removed after the test file (test/support/temp-folder.ts). */
export const tempDir = async (prefix = 'poolsync-apply-') =>
  registerTempFolder(await mkdtemp(join(tmpdir(), prefix)));

function doc(kind: string, name: string, spec: string): string {
  return `apiVersion: poolsync/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
}

export function poolSpec(name: string): string {
  return [
    '  object_store_ref:',
    `    uri: s3://bucket-${name}/data`,
    '  secret_store:',
    '    type: AWS_SECRETS_MANAGER',
    '    locator: us-east-1',
    '',
  ].join('\n');
}

/** A ClusterPool manifest of `name`, as writeRepo writes it. */
export const poolManifest = (name: string): string => doc('ClusterPool', name, poolSpec(name));

/** Replaces the folder's manifests with the given spec (one file per kind). */
export async function writeRepo(dir: string, spec: RepoSpec): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'poolsync.yaml'),
    `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: ${spec.prune ?? true}\nignore: []\n`,
  );
  const pools = (spec.pools ?? []).map(poolManifest);
  const clusters = Object.entries(spec.clusters ?? {}).map(([name, c]) => {
    const { pool, enabled = true } = typeof c === 'string' ? { pool: c } : c;
    return doc('Cluster', name, `  pool: ${pool}\n  enabled: ${enabled}\n`);
  });
  const queues = Object.entries(spec.queues ?? {}).map(([name, q]) =>
    doc(
      'Queue',
      name,
      `  pool: ${q.pool}\n  clusters: ${JSON.stringify(q.clusters)}\n  run_concurrency: ${q.run_concurrency ?? 10}\n  action_concurrency: 100\n`,
    ),
  );
  const assignments = Object.entries(spec.assignments ?? {}).map(([key, pool]) => {
    const [project, domain] = key.split('/');
    return doc(
      'PoolAssignment',
      `${project}-${domain}`,
      `  project: ${project}\n  domain: ${domain}\n  pool: ${pool}\n`,
    );
  });
  const files: [string, string[]][] = [
    ['pools.yaml', pools],
    ['clusters.yaml', clusters],
    ['queues.yaml', queues],
    ['assignments.yaml', assignments],
  ];
  for (const [file, docs] of files) {
    if (docs.length > 0) await writeFile(join(dir, file), docs.join('---\n'));
  }
  return dir;
}
