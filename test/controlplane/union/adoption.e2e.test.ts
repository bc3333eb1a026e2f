/**
 * Adoption as docs/union.md tells a user: `export` an organisation, then `validate` and
 * `plan` the exported folder. Union's ClusterPoolService returns each pool's contract, so the
 * exported pools carry it; soft-deleted queues and clusters (Union keeps them, names reserved)
 * are never written as live: the folder validates and plans to "No changes".
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolContract } from '../../../src/model/common.js';
import { runCli } from '../../support/cli.js';
import { tempDir } from '../../support/repo.js';
import { apiKey, setDefaultQueue, startUnionServer, type UnionServer } from './helpers.js';
import { poolContract } from '../../support/builders.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const contract = (bucket: string): PoolContract =>
  poolContract(`s3://${bucket}/meta`, { secret_store: { locator: 'us-east-2' } });

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
    setDefaultQueue(s, 'ml', 'production', 'training');
    // Deleted objects: a queue (drained, then deleted) and a cluster with its co-named queue.
    await s.embedded.createQueue({ name: 'retired', run_concurrency: 1, action_concurrency: 1 });
    await s.embedded.drainQueue('retired');
    await s.embedded.deleteQueue('retired');
    await s.embedded.registerCluster({ name: 'cpu-9', pool: 'cpu' });
    await s.embedded.deleteCluster('cpu-9');
    expect((await s.embedded.listDeletedQueues()).map((q) => q.name)).toEqual(['cpu-9', 'retired']);
    const root = await tempDir('poolsync-union-adopt-');
    const out = join(root, 'exported');
    const env = { POOLSYNC_UNION_API_KEY: apiKey(s.host) };
    const url = s.url('connect');

    const exp = await runCli(['export', '--control-plane', url, '--dir', out], env);
    expect(exp.code).toBe(0);
    for (const pool of ['gpu', 'cpu', 'batch']) {
      const text = await readFile(join(out, 'pools', `${pool}.yaml`), 'utf8');
      expect(text).not.toContain('poolsync/contract: unknown');
      expect(text).toContain(`s3://${pool}-bucket/meta`);
    }
    const queues = await readFile(join(out, 'queues', 'training.yaml'), 'utf8');
    expect(queues).toContain('training');
    await expect(readFile(join(out, 'queues', 'retired.yaml'), 'utf8')).rejects.toThrow();
    await expect(readFile(join(out, 'clusters', 'cpu-9.yaml'), 'utf8')).rejects.toThrow();

    const validate = await runCli(['validate', out], env);
    // V7 as a word: the output names the random temp folder (`ps-gav7sw` matched /V7/i once).
    expect(validate.stderr + validate.stdout).not.toMatch(/\bV7\b|error/i);
    expect(validate.code).toBe(0);

    const plan = await runCli(['plan', out, '--control-plane', url, '--detailed-exitcode'], env);
    // No poolsync.yaml in what export wrote: the defaults in use, said in one line.
    expect(plan.stderr).toMatch(
      /^Note: \S+ has no poolsync\.yaml: the defaults are in use [^\n]*\n$/,
    );
    // Nothing to send; the first apply records what was exported as this repository's (exit 2).
    expect(plan.stdout).toContain(
      'Nothing to send to the control plane, but the apply records 10 objects',
    );
    expect(plan.code).toBe(2);
  }, 120_000);
});
