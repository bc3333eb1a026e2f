import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { assignmentManifestName, exportManifests } from '../../src/controlplane/export.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { loadRepository } from '../../src/manifests/index.js';
import { computePlan } from '../../src/plan/index.js';
import type { PoolContract } from '../../src/model/common.js';
import { runInProcess } from '../support/memory-io.js';
import { poolContract, queueSpec } from '../support/builders.js';

const REPO_ROOT = join(import.meta.dirname, '../..');
const PROD: PoolContract = poolContract('s3://acme-prod/meta', {
  object_store_ref: { endpoint: 'https://s3.us-east-1.amazonaws.com' },
  image_registry: { locator: '123456789012.dkr.ecr.us-east-1.amazonaws.com/union' },
});
const DEV: PoolContract = poolContract('gs://acme-dev', {
  secret_store: { type: 'GCP_SECRET_MANAGER', locator: 'projects/acme-dev' },
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-export-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An organisation with every shape export must handle. */
async function seed(cp: EmbeddedControlPlane): Promise<void> {
  await cp.createPool('prod', PROD);
  await cp.createPool('dev', DEV);
  await cp.registerCluster({ name: 'prod-1', pool: 'prod' });
  await cp.registerCluster({ name: 'prod-2', pool: 'prod' });
  await cp.registerCluster({ name: 'dev-1', pool: 'dev' });
  await cp.registerCluster({ name: 'legacy', pool: 'dev' });
  await cp.registerCluster({ name: 'shared' });
  await cp.reportClusterStatus('prod-1', { object_store_uri: PROD.object_store_ref.uri });
  await cp.reportClusterStatus('prod-2', { object_store_uri: 's3://wrong' });
  await cp.updateCluster('prod-2', { enabled: false });
  await cp.createQueue({
    name: 'batch',
    pool: 'prod',
    clusters: ['prod-1', 'prod-2'],
    run_concurrency: 50,
    action_concurrency: 500,
  });
  await cp.createQueue({
    name: 'everything',
    pool: 'dev',
    run_concurrency: 0,
    action_concurrency: 0,
    priority: 'min',
  });
  await cp.createQueue({
    name: 'retired',
    pool: 'dev',
    clusters: [],
    run_concurrency: 1,
    action_concurrency: 1,
  });
  // Edited co-named queue and default queue: exported; untouched ones (dev-1, shared): not.
  await cp.updateQueue(
    'prod-1',
    queueSpec({
      pool: 'prod',
      clusters: ['prod-1'],
      run_concurrency: 20,
      action_concurrency: 400,
      depth: 2000,
      priority: 'max',
    }),
  );
  await cp.updateQueue(
    'default',
    queueSpec({ run_concurrency: 5, action_concurrency: 0, fairness: 'shuffle_interleave' }),
  );
  // C8: legacy is gone, its co-named queue remains with an empty selector.
  await cp.deleteCluster('legacy');
  await cp.setAssignment({
    project: 'flytesnacks',
    domain: 'production',
    workflow: null,
    pool: 'prod',
  });
  await cp.setAssignment({
    project: 'flytesnacks',
    domain: 'development',
    workflow: 'flytesnacks.workflows.critical_pipeline',
    pool: 'prod',
  });
  await cp.setAssignment({ project: 'ml', domain: 'dev', workflow: null, pool: 'dev' });
  // Union v2 default-queue settings (the embedded control plane keeps them).
  await cp.setDefaultQueue('ml', 'dev', 'everything');
}

describe('poolsync export', () => {
  it('writes manifests that validate clean and plan to no changes against the exported state', async () => {
    const state = join(dir, 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path: state });
    await seed(cp);
    const live = await readLiveState(cp);
    await cp.close();

    const out = join(dir, 'repo');
    const run = await runInProcess(['export', '--control-plane', `file:${state}`, '--dir', out], {
      ...process.env,
      POOLSYNC_CONTROL_PLANE: '',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'Exported 2 pools, 4 clusters, 6 queues, 3 assignments and 1 default-queue setting to',
    );

    expect((await readdir(out)).sort()).toEqual([
      'assignments',
      'clusters',
      'default-queues',
      'pools',
      'queues',
    ]);
    expect(await readFile(join(out, 'default-queues', 'ml-dev.yaml'), 'utf8')).toContain(
      'kind: DefaultQueue',
    );
    expect((await readdir(join(out, 'queues'))).sort()).toEqual(
      ['batch', 'default', 'everything', 'legacy', 'prod-1', 'retired'].map((n) => `${n}.yaml`),
    );
    const coNamed = await readFile(join(out, 'queues', 'prod-1.yaml'), 'utf8');
    expect(coNamed).not.toMatch(/pool:|clusters:/);

    const loaded = await loadRepository(out);
    expect(loaded.errors).toEqual([]);
    expect(loaded.valid).toBe(true);
    const plan = computePlan(loaded.desired!, live);
    expect(plan.errors).toEqual([]);
    const { noop, ...rest } = plan.summary;
    expect(rest).toEqual({ create: 0, update: 0, replace: 0, delete: 0, blocked: 0, unmanaged: 0 });
    expect(noop).toBeGreaterThan(0);
    expect(plan.steps).toEqual([]);

    // A second export does not overwrite without --force.
    const again = await runInProcess(
      ['export', '--control-plane', `file:${state}`, '--dir', out],
      process.env,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /already exist .* --force to replace them whole \(their comments too\)/,
    );
    expect(again.stderr).not.toMatch(/\n\s+at /);
    // With it, what is replaced is said: a person's comments in those files are gone.
    const forced = await runInProcess(
      ['export', '--control-plane', `file:${state}`, '--dir', out, '--force'],
      process.env,
    );
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(
      /\n\d+ existing files replaced whole \(--force\): comments and layout in them are gone; `git diff` shows what changed\.\n$/,
    );
  });

  it('needs --dir: it never writes into the current folder by default', async () => {
    const run = await runInProcess(
      ['export', '--control-plane', `file:${join(dir, 'cp.json')}`],
      process.env,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'Error: Missing required argument: dir\nname the folder to write into, e.g. --dir ./config (created if missing)\nRun `poolsync export --help` for usage.\n',
    );
    expect(readdirSync(REPO_ROOT)).not.toContain('pools');
  });

  it('says when there is nothing to export, and makes no empty folder; a state that does not exist is named', async () => {
    const state = join(dir, 'empty.json');
    await (await EmbeddedControlPlane.open({ path: state })).close();
    const out = join(dir, 'out');
    const empty = await runInProcess(
      ['export', '--control-plane', `file:${state}`, '--dir', out],
      process.env,
      dir,
    );
    expect(empty).toMatchObject({
      code: 0,
      stdout: `Nothing to export from embedded file:${state}: it holds nothing to write as a manifest, only its own \`default\` pool and queue at their defaults. No manifest was written.\n`,
    });
    expect(readdirSync(dir)).not.toContain('out');
    const typo = join(dir, 'emtpy.json');
    const missing = await runInProcess(
      ['export', '--control-plane', `file:${typo}`, '--dir', out],
      process.env,
      dir,
    );
    expect(missing.stdout).toContain(
      `at their defaults: the embedded state ${typo} does not exist (check --control-plane). No manifest was written.`,
    );
  });

  it('leaves out a C7-trapped co-named queue with a warning', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null });
    await cp.createPool('dev', DEV);
    await cp.registerCluster({ name: 'mover', pool: 'dev' });
    await cp.deleteCluster('mover');
    await cp.registerCluster({ name: 'mover' });
    const result = exportManifests(await readLiveState(cp));
    await cp.close();
    expect(result.files.map((f) => f.path)).not.toContain('queues/mover.yaml');
    expect(result.warnings).toEqual([expect.stringContaining('Queue/mover')]);
  });

  it('warns of every cross-document rule the folder breaks, as `poolsync validate` reports it: one object store (V7), one bucket (V13)', async () => {
    const state = join(dir, 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path: state });
    await cp.createPool('a', poolContract('s3://shared'));
    await cp.createPool('b', poolContract('s3://shared/'));
    // P7 on bucket names: one bucket at two paths, once both pools have clusters (V13).
    await cp.createPool('c', poolContract('s3://bucket/c'));
    await cp.createPool('d', poolContract('s3://bucket/d'));
    await cp.registerCluster({ name: 'c-1', pool: 'c' });
    await cp.registerCluster({ name: 'd-1', pool: 'd' });
    await cp.close();
    const out = join(dir, 'repo');
    const run = await runInProcess(['export', '--control-plane', `file:${state}`, '--dir', out], {
      ...process.env,
      POOLSYNC_CONTROL_PLANE: '',
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      `Warning: the exported folder does not validate (V7, V13): the control plane holds what poolsync's validation refuses (docs/rules.md); edit the manifests named below, or take them out with what names them, until \`poolsync validate ${out}\` passes (\`poolsync plan\` then shows what that takes: a pool's contract changes only by replacement, P4)\n` +
        `Warning: ${out}/pools/b.yaml:7:10: V7 pool 'b' uses the object store s3://shared/ of pool 'a' (${out}/pools/a.yaml:7:10); pools must not share an object store (P7)\n` +
        `Warning: ${out}/pools/d.yaml:7:10: V13 pool 'd' (cluster 'd-1') uses metadata bucket s3://bucket, as does pool 'c' (cluster 'c-1') (${out}/pools/c.yaml:7:10); clusters in different pools must have different metadata buckets (storage.bucketName): give each pool its own bucket, or put the clusters in one pool\n`,
    );
    expect((await loadRepository(out)).errors.map((e) => e.code)).toEqual(['V7', 'V13']);
  });

  /** A Git work tree with a poolsync.yaml, and export of the seeded control plane into a folder of it. */
  async function seededRepository() {
    const state = join(dir, 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path: state });
    await seed(cp);
    await cp.close();
    const repo = join(dir, 'repo');
    await mkdir(join(repo, '.git'), { recursive: true });
    await writeFile(join(repo, 'poolsync.yaml'), 'apiVersion: poolsync/v1\nkind: RepoConfig\n');
    const env = { ...process.env, POOLSYNC_CONTROL_PLANE: '' };
    const exportTo = (out: string) =>
      runInProcess(['export', '--control-plane', `file:${state}`, '--dir', out], env, repo);
    return { repo, env, exportTo };
  }

  it('into a part of a repository, writes no object another folder of it declares: says which, at its name, and the repository still validates', async () => {
    const { repo, env, exportTo } = await seededRepository();
    const first = await exportTo('a');
    expect(first.code, first.stderr).toBe(0);
    // a/ declares everything but the assignments.
    await rm(join(repo, 'a', 'assignments'), { recursive: true });
    await writeFile(
      join(repo, 'a', 'pools', 'dev.yaml'),
      `# the dev pool\n${await readFile(join(repo, 'a', 'pools', 'dev.yaml'), 'utf8')}`,
    );

    const run = await exportTo('b');
    expect([run.code, run.stderr]).toEqual([0, '']);
    const [exported, skipped] = run.stdout.split('\n');
    expect(exported).toBe(`Exported 3 assignments to ${join(repo, 'b')}`);
    expect(skipped).toMatch(
      /^Not written again: 13 objects declared already in repository \. \(ClusterPool\/dev at a\/pools\/dev\.yaml:5:9, ClusterPool\/prod at a\/pools\/prod\.yaml:4:9, .*\); written again, they would be declared twice\. `poolsync plan \.` shows where the control plane differs from them\.$/,
    );
    expect(await readdir(join(repo, 'b'))).toEqual(['assignments']);
    const validate = await runInProcess(['validate', '.'], env, repo);
    expect([validate.code, validate.stderr]).toEqual([0, '']);
  });

  it('into a part of a repository that does not validate yet, leaves out what it declares; part of it unread, writes nothing', async () => {
    const { repo, env, exportTo } = await seededRepository();
    expect((await exportTo('a')).code).toBe(0);
    await rm(join(repo, 'a', 'assignments'), { recursive: true });
    // A queue routing to a cluster nobody declares: the repository is unfinished, not unread.
    const [queue] = await readdir(join(repo, 'a', 'queues'));
    const text = await readFile(join(repo, 'a', 'queues', queue!), 'utf8');
    await writeFile(
      join(repo, 'a', 'queues', 'extra.yaml'),
      text
        .replace(/name: .*/, 'name: extra')
        .replace(/clusters:[^\n]*(\n\s+- .*)*/, 'clusters: [nowhere]'),
    );
    expect((await runInProcess(['validate', '.'], env, repo)).code).toBe(1);

    const run = await exportTo('b');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(`Exported 3 assignments to ${join(repo, 'b')}`);
    expect(await readdir(join(repo, 'b'))).toEqual(['assignments']);

    await writeFile(join(repo, 'a', 'broken.yaml'), 'kind: [\n');
    const refused = await exportTo('c');
    expect([refused.code, refused.stdout]).toEqual([1, '']);
    expect(refused.stderr).toMatch(
      /^Error: repository \., which holds c where export would write, was not read whole \(a\/broken\.yaml:\d+:\d+: .*\. Nothing was written\n$/,
    );
    await expect(readdir(join(repo, 'c'))).rejects.toThrow();
  });

  it('names assignments after their key, valid (N1) and unique', () => {
    const taken = new Set<string>();
    const a = { project: 'p', domain: 'd', pool: 'x' };
    expect(assignmentManifestName({ ...a, workflow: null }, taken)).toBe('p-d');
    expect(assignmentManifestName({ ...a, workflow: 'wf.Main_Flow' }, taken)).toBe(
      'p-d-wf-main-flow',
    );
    const clash = assignmentManifestName({ ...a, workflow: 'wf.main-flow' }, taken);
    expect(clash).toMatch(/^p-d-wf-main-flow-[0-9a-f]{8}$/);
    const long = assignmentManifestName({ ...a, workflow: 'w'.repeat(200) }, taken);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});
