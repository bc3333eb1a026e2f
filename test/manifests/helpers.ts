import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';

const created: string[] = [];

afterEach(async () => {
  await Promise.all(created.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A real folder in os.tmpdir() holding `files` (relative path → content), removed after the test. */
export async function writeRepo(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-manifests-'));
  created.push(dir);
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  return dir;
}

export const POOL = (name: string, uri: string): string => `apiVersion: poolsync/v1
kind: ClusterPool
metadata:
  name: ${name}
spec:
  object_store_ref:
    uri: ${uri}
  secret_store:
    type: AWS_SECRETS_MANAGER
    locator: us-east-1
`;

export const CLUSTER = (name: string, pool?: string): string => `apiVersion: poolsync/v1
kind: Cluster
metadata:
  name: ${name}
${pool ? `spec:\n  pool: ${pool}\n` : ''}`;

export const QUEUE = (name: string, extra = ''): string => `apiVersion: poolsync/v1
kind: Queue
metadata:
  name: ${name}
spec:
  run_concurrency: 1
  action_concurrency: 2
${extra}`;
