/**
 * A pool or cluster create that meets ALREADY_EXISTS is done only for what it would have made
 * (P3, C6, C7, C4/C5): every field it sends, and state. A cluster another client registered
 * disabled, or whose data plane reports otherwise than declared, or a pool with another
 * contract, was taken as this create's (judged on contract and pool only): now CONFLICT naming
 * the difference, not counted, not recorded as poolsync's. Another client (the served control
 * plane, --simulate) makes the object when the apply's POST for it arrives, never after a sleep.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import { runInProcess } from '../support/memory-io.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const env = { NO_COLOR: '1' };
const BASE: RepoSpec = { pools: ['dev'], clusters: { 'dev-1': 'dev' } };

/**
 * BASE applied, then `next` applied while another client runs `act` once the apply's first POST
 * to `path` arrives (before the server handles it: the create meets ALREADY_EXISTS). `lost`: that
 * POST is answered 503, as a first attempt whose answer was lost, so only the client's retry
 * meets ALREADY_EXISTS.
 */
async function raced(
  path: string,
  next: (repo: string) => Promise<unknown>,
  act: (cp: EmbeddedControlPlane) => Promise<unknown>,
  capabilities = BASELINE_CAPABILITIES,
  lost = false,
) {
  let armed = false;
  let raced = false;
  const mount = {
    handle: async (req: IncomingMessage, res: ServerResponse, url: URL) => {
      if (!armed || raced || req.method !== 'POST' || url.pathname !== path) return false;
      raced = true;
      await act(plane.embedded);
      if (!lost) return false;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'UNAVAILABLE', message: 'simulated: the answer was lost' }));
      return true;
    },
  };
  const plane = await servedControlPlane(
    { port: 0, simulate: true, mounts: [mount] },
    { capabilities },
  );
  const root = await tempDir();
  const repo = join(root, 'repo');
  const on = ['--control-plane', plane.url, '--state-dir', join(root, 'state')];
  await writeRepo(repo, BASE);
  expect((await runInProcess(['apply', repo, '--auto-approve', ...on], env)).code).toBe(0);
  await next(repo);
  armed = true;
  const r = await runInProcess(['apply', repo, '--auto-approve', ...on], env);
  expect(raced).toBe(true);
  const list = await runInProcess(['state', 'list', ...on], env);
  return { r, list: list.stdout, plane };
}

const withCluster = (name: string) => (repo: string) =>
  writeRepo(repo, { ...BASE, clusters: { ...BASE.clusters, [name]: 'dev' } });

describe('a cluster another client registers while the apply registers it', () => {
  it('registered disabled: CONFLICT naming enabled (C6), not counted nor recorded', async () => {
    const { r, list, plane } = await raced('/v1/clusters', withCluster('c2'), async (cp) => {
      await cp.registerCluster({ name: 'c2', pool: 'dev' });
      await cp.updateCluster('c2', { enabled: false });
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /CONFLICT: Cluster\/c2 already exists, made by another client, with a different enabled \(false; a cluster this registration makes is enabled, C6\): nothing was changed and poolsync does not record it as its own; run `poolsync plan` again/,
    );
    expect(r.stdout).toContain('Applied so far: 0 created,');
    expect(list).not.toContain('Cluster/c2');
    expect((await plane.embedded.getCluster('c2')).enabled).toBe(false);
  });

  it('its data plane reporting another object store than declared: CONFLICT naming the field (C4/C5)', async () => {
    const declared = async (repo: string) => {
      await writeRepo(repo, BASE);
      await appendFile(
        join(repo, 'clusters.yaml'),
        '---\napiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: c3\nspec:\n  pool: dev\n' +
          '  data_plane:\n    object_store_uri: s3://bucket-dev/data\n',
      );
    };
    const { r, list } = await raced('/v1/clusters', declared, async (cp) => {
      await cp.registerCluster({ name: 'c3', pool: 'dev' });
      await cp.reportClusterStatus('c3', {
        object_store_uri: 's3://elsewhere/data',
        secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
      });
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /CONFLICT: Cluster\/c3 already exists, made by another client, with a different data_plane\.object_store_uri \(reported "s3:\/\/elsewhere\/data"\)/,
    );
    expect(list).not.toContain('Cluster/c3');
  });

  it("registered disabled while the first attempt's answer was lost: the client's retry meets it, CONFLICT all the same", async () => {
    const { r, list } = await raced(
      '/v1/clusters',
      withCluster('c5'),
      async (cp) => {
        await cp.registerCluster({ name: 'c5', pool: 'dev' });
        await cp.updateCluster('c5', { enabled: false });
      },
      BASELINE_CAPABILITIES,
      true,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /CONFLICT: Cluster\/c5 already exists, made by another client, with a different enabled \(false; a cluster this registration makes is enabled, C6\)/,
    );
    expect(list).not.toContain('Cluster/c5');
  });

  it('registered as this create makes it (a retry whose answer was lost finds this): done, already registered, recorded', async () => {
    const { r, list } = await raced('/v1/clusters', withCluster('c4'), (cp) =>
      cp.registerCluster({ name: 'c4', pool: 'dev' }),
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('(already registered)');
    expect(list).toContain('Cluster/c4');
  });
});

describe('a pool another client creates while the apply creates it', () => {
  it('with another contract: CONFLICT naming the contract, not counted nor recorded', async () => {
    const next = (repo: string) => writeRepo(repo, { ...BASE, pools: ['dev', 'p2'] });
    const { r, list } = await raced('/v1/pools', next, (cp) =>
      cp.createPool('p2', {
        object_store_ref: { uri: 's3://someone-else/data' },
        secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
      } as never),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /CONFLICT: ClusterPool\/p2 already exists, made by another client, with a different contract: nothing was changed and poolsync does not record it as its own/,
    );
    expect(r.stdout).toContain('Applied so far: 0 created,');
    expect(list).not.toContain('ClusterPool/p2');
  });

  it('made and soft-deleted (its name kept): CONFLICT naming the state, not recorded', async () => {
    const next = (repo: string) => writeRepo(repo, { ...BASE, pools: ['dev', 'p3'] });
    const { r, list } = await raced(
      '/v1/pools',
      next,
      async (cp) => {
        await cp.createPool('p3', {
          object_store_ref: { uri: 's3://bucket-p3/data' },
          secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
        } as never);
        await cp.deletePool('p3');
      },
      { ...BASELINE_CAPABILITIES, soft_delete: true },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /CONFLICT: ClusterPool\/p3 already exists, made by another client, with a different state \(deleted, its name kept by soft_delete; this create makes a live one\)/,
    );
    expect(list).not.toContain('ClusterPool/p3');
  });
});
