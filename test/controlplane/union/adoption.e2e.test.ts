/**
 * Adoption as docs/union.md tells a user: `export` an organisation, then `validate` and
 * `plan` the exported folder. Union's API does not return pool contracts, so each exported
 * pool is marked `poolsync/contract: unknown` (not a shared placeholder bucket, which V7 would
 * refuse as soon as there are two pools): the folder validates and plans to "No changes".
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolContract } from '../../../src/model/common.js';
import { runCli } from '../../apply/helpers/cli.js';
import { tempDir } from '../../apply/helpers/repo.js';
import { apiKey, startUnionServer, type UnionServer } from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const contract = (bucket: string): PoolContract => ({
  object_store_ref: { uri: `s3://${bucket}/meta`, endpoint: '' },
  secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-2' },
  image_registry: null,
});

describe('export → validate → plan against union+http://', () => {
  it('an organisation with three pools exports to a repository that validates and plans to no changes', async () => {
    s = await startUnionServer();
    for (const pool of ['gpu', 'cpu', 'batch']) {
      await s.embedded.createPool(pool, contract(`${pool}-bucket`));
      await s.embedded.registerCluster({ name: `${pool}-1`, pool });
    }
    await s.embedded.registerCluster({ name: 'gpu-2', pool: 'gpu' });
    await s.embedded.createQueue({
      name: 'training',
      pool: 'gpu',
      clusters: ['gpu-1', 'gpu-2'],
      run_concurrency: 8,
      action_concurrency: 80,
      priority: 'max',
    });
    await s.embedded.createQueue({
      name: 'nightly',
      pool: 'batch',
      clusters: ['*'],
      run_concurrency: 2,
      action_concurrency: 20,
      depth: 50,
    });
    await s.embedded.setDefaultQueue('ml', 'production', 'training');
    const root = await tempDir('poolsync-union-adopt-');
    const out = join(root, 'exported');
    const env = { POOLSYNC_UNION_API_KEY: apiKey(s.host) };
    const url = s.url('connect');

    const exp = await runCli(['export', '--control-plane', url, '--dir', out], env);
    expect(exp.code).toBe(0);
    for (const pool of ['gpu', 'cpu', 'batch']) {
      const text = await readFile(join(out, 'pools', `${pool}.yaml`), 'utf8');
      expect(text).toContain('poolsync/contract: unknown');
      expect(text).toContain('spec: {}');
      expect(text).not.toMatch(/s3:\/\//);
    }

    const validate = await runCli(['validate', out], env);
    expect(validate.stderr + validate.stdout).not.toMatch(/V7|error/i);
    expect(validate.code).toBe(0);

    const plan = await runCli(['plan', out, '--control-plane', url, '--detailed-exitcode'], env);
    expect(plan.stderr).toBe('');
    expect(plan.stdout).toContain('No changes.');
    expect(plan.code).toBe(0);
  }, 120_000);
});
