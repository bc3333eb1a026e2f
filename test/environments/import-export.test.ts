/**
 * `import --env` and `export --env` write where the environment's plans read (docs/environments.md,
 * The commands): import into the last of its folders no other environment reads, so the object
 * it adopts is not deleted by the next plan (it was written outside the folders, then pruned);
 * export says which of its files the environment does not read, or another one does.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { queueSpec } from '../support/builders.js';
import { cleanup } from '../support/cleanup.js';
import { runCli } from '../support/cli.js';
import { twoEnvironments, writeFiles } from './helpers.js';

let root: string;
let repo: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolsync-env-import-'));
  repo = join(root, 'repo');
  await writeFiles(repo, {
    ...twoEnvironments(
      { dev: 'file:../state/dev.json', prod: 'file:../state/prod.json' },
      'prune: true\n',
    ),
    '../state/.keep': '',
  });
  for (const env of ['dev', 'prod']) {
    const r = await runCli(['apply', repo, '-e', env, '--auto-approve'], {}, root);
    expect(r.code, r.stderr).toBe(0);
  }
  const cp = await EmbeddedControlPlane.open({ path: join(root, 'state', 'prod.json') });
  await cp.setAssignment({ project: 'ml', domain: 'production', workflow: null, pool: 'gpu' });
  // Made by hand on prod: declared by no folder (export writes it; the rest is declared).
  await cp.createQueue({ name: 'adhoc', ...queueSpec({ pool: 'gpu', clusters: ['*'] }) });
  await cp.close();
});
afterAll(() => rm(root, { recursive: true, force: true }));

const run = (...args: string[]) => runCli(args, {}, root);
/** `export -e prod` of the control plane into `dir`. */
const exportProd = (dir: string) => run('export', '-e', 'prod', '--config-dir', repo, '--dir', dir);

describe('import --env', () => {
  it("writes into the environment's own folder: the next plan of each environment shows no change", async () => {
    const imported = await run(
      'import',
      'PoolAssignment/ml/production',
      '-e',
      'prod',
      '--dir',
      repo,
    );
    expect(imported.stderr).toBe('');
    const file = join(repo, 'prod', 'assignments', 'ml-production.yaml');
    expect(imported.stdout).toContain(
      `Imported PoolAssignment/ml/production into ${file}. Commit it; \`poolsync plan --env prod\` now shows no change for it.`,
    );
    expect(existsSync(join(repo, 'assignments'))).toBe(false);
    for (const env of ['prod', 'dev']) {
      const plan = await run('plan', repo, '-e', env, '--detailed-exitcode');
      expect(plan.stdout, env).toContain('No changes.');
      expect(plan.code, env).toBe(0);
    }
  });

  it('needs --env in a folder with environments: no plan reads the root of it', async () => {
    const url = `file:${join(root, 'state', 'prod.json')}`;
    const r = await run(
      'import',
      'PoolAssignment/ml/production',
      '--dir',
      repo,
      '--control-plane',
      url,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/declares environments \(dev, prod\): name one with --env NAME/);
  });

  it('refuses when every folder of the environment is read by another one too', async () => {
    const shared = join(root, 'shared');
    await writeFiles(shared, {
      'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
  dev: {controlPlane: 'file:../state/dev.json', folders: [base]}
  prod: {controlPlane: 'file:../state/prod.json', folders: [base]}
`,
      'base/.keep': '',
    });
    const r = await run('import', 'PoolAssignment/ml/production', '-e', 'prod', '--dir', shared);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "environment prod reads only folders another environment reads too (base): PoolAssignment/ml/production written there would be created on that environment's control plane as well. Add a folder of prod's own to environments.prod.folders in poolsync.yaml, then import again",
    );
  });
});

describe('export --env', () => {
  it('is needed in a repository with environments, as for plan and import: not the default control plane', async () => {
    const r = await runCli(['export', '--dir', 'prod'], {}, repo);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: poolsync.yaml in . declares environments (dev, prod): name one with --env NAME\n',
    );
    expect(existsSync(join(repo, '.poolsync'))).toBe(false);
  });

  it('says when what it wrote is outside the environment’s folders, or read by another environment', async () => {
    const outside = await exportProd('scratch');
    expect(outside.code, outside.stderr).toBe(0);
    expect(outside.stderr).toContain(
      'Warning: environment prod reads base, prod: 5 of the 5 files written are outside them, so its plans do not read them; export into one of its folders, or move them there',
    );
    expect(outside.stdout).not.toContain('Not written again');
    const base = await exportProd(join(repo, 'base'));
    expect(base.code, base.stderr).toBe(0);
    expect(base.stderr).toContain(
      'Warning: these files are also read by environment dev: an apply there creates what its control plane lacks of them; move them into a folder only prod reads',
    );
    expect(existsSync(join(repo, 'base', 'queues', 'adhoc.yaml'))).toBe(true);
    await rm(join(repo, 'base', 'queues'), { recursive: true });
  });

  it('writes no object again that the folders it writes into declare already (base/ for prod and dev): says how many, where each is, and what shows their differences', async () => {
    const env = (name: string) =>
      run('validate', repo, '-e', name).then((r) => [name, r.code, r.stdout]);
    const before = await Promise.all(['dev', 'prod'].map(env));
    expect(before.map(([name, code]) => [name, code])).toEqual([
      ['dev', 0],
      ['prod', 0],
    ]);
    const base = await exportProd(join(repo, 'base'));
    cleanup.add(() => rm(join(repo, 'base', 'queues'), { recursive: true, force: true }));
    expect(base.code, base.stderr).toBe(0);
    expect(base.stdout).toBe(
      `Exported 1 queue to ${join(repo, 'base')}\n` +
        'Not written again: 4 objects declared already for environment prod and dev (ClusterPool/gpu at base/pool.yaml:3:18, Cluster/c-prod at prod/cluster.yaml:3:18, Queue/training at base/queue.yaml:4:9, PoolAssignment/ml/production at prod/assignments/ml-production.yaml:4:9); written again, they would be declared twice. ' +
        `\`poolsync plan ${repo} --env prod\` shows where the control plane differs from them.\n`,
    );
    expect((await readdir(join(repo, 'base'))).sort()).toEqual([
      'pool.yaml',
      'queue.yaml',
      'queues',
    ]);
    // Each environment still validates: nothing is declared twice.
    expect((await Promise.all(['dev', 'prod'].map(env))).map(([, code]) => code)).toEqual([0, 0]);

    // Into prod's own folder, once more: everything is declared already, nothing is written.
    const again = await exportProd(join(repo, 'prod', 'x'));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      /^Not written again: 5 objects declared already for environment prod \(.*\. No manifest was written\.\n$/,
    );
    expect(existsSync(join(repo, 'prod', 'x'))).toBe(false);
  });

  it('refuses, writing nothing, when part of an environment reading the folder was not read: what it declares is not known', async () => {
    await writeFiles(repo, { 'dev/broken.yaml': 'apiVersion: poolsync/v1\nkind: [Queue\n' });
    try {
      const r = await exportProd(join(repo, 'base'));
      expect([r.code, r.stdout]).toEqual([1, '']);
      expect(r.stderr).toMatch(
        /^Error: environment dev reads base, where export would write, but was not read whole \(dev\/broken\.yaml:\d+:\d+: .*\), so which objects it declares already is not known: .* Fix it first \(`poolsync validate .* --env dev`\), or export into a folder no environment reads and move what is missing into place\. Nothing was written\n$/,
      );
      expect(existsSync(join(repo, 'base', 'queues'))).toBe(false);
    } finally {
      await rm(join(repo, 'dev', 'broken.yaml'));
    }
  });
});
