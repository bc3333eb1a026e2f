/**
 * Patch files and the files environments read (docs/environments.md, Patches): a patch file lies
 * in no folder another environment reads as manifests (refused at its poolsync.yaml entry: once
 * it silently removed that environment's manifests, and with `prune: true` its objects were
 * deleted, C7/C8); a patch file or folder that does not exist is said at its poolsync.yaml entry,
 * with the close name; a patch of an unknown object names the close one; the YAML files no
 * environment reads, and skipped entries, are said once per command.
 */
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRepoConfig } from '../../src/manifests/config.js';
import { environmentFiles } from '../../src/manifests/environments.js';
import { loadRepository } from '../../src/manifests/index.js';
import { runCli } from '../support/cli.js';
import { POOL, cluster, twoEnvironments, writeFiles } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-env-patches-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const CPS = { dev: 'file:.poolsync/dev.json', prod: 'file:.poolsync/prod.json' };

/** The hand-tester's repository: dev and prod share base/, which declares the cluster. */
const SHARED_BASE = {
  'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
prune: true
environments:
  dev:
    controlPlane: file:.poolsync/dev.json
    folders: [base, dev]
  prod:
    controlPlane: file:.poolsync/prod.json
    folders: [base, prod]
`,
  'base/pools.yaml': POOL,
  'base/clusters.yaml': cluster('gpu-1'),
  'dev/.keep': '',
  'prod/.keep': '',
};

describe('a patch file in a folder another environment reads', () => {
  it("is refused at its poolsync.yaml entry, naming the environment and folder: it never removes that environment's manifests (prune would delete them, C7)", async () => {
    await writeFiles(dir, SHARED_BASE);
    const applied = await runCli(['apply', dir, '-e', 'dev', '--auto-approve']);
    expect(applied.code).toBe(0);
    await writeFiles(dir, {
      'poolsync.yaml': `${SHARED_BASE['poolsync.yaml']}    patches: [base/clusters.yaml]\n`,
    });
    const dev = await loadRepository(dir, { environment: 'dev' });
    expect(dev.valid).toBe(false);
    expect(dev.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code} ${e.message}`)).toEqual(
      [
        'poolsync.yaml:11:15 SCHEMA environments.prod.patches: base/clusters.yaml is read as manifests by environment dev (folder base): there its documents would be objects of their own, while prod merges them as patches. Move the patch file out of every folder another environment reads: into a folder only prod reads, or one no environment reads (e.g. patches/prod.yaml)',
      ],
    );
    // The plan of dev is refused, not a plan that deletes Cluster/gpu-1.
    const plan = await runCli(['plan', dir, '-e', 'dev']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).not.toContain('to delete');
    expect(plan.stderr).toContain('base/clusters.yaml is read as manifests by environment dev');
  });

  it('names every environment reading it, each with the deepest folder it reads it by', async () => {
    await writeFiles(dir, {
      ...SHARED_BASE,
      'poolsync.yaml': `${SHARED_BASE['poolsync.yaml']}    patches: [base/clusters.yaml]
  qa:
    controlPlane: file:.poolsync/qa.json
    folders: [., base]
`,
    });
    const { errors } = await readRepoConfig(dir);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining(
        'base/clusters.yaml is read as manifests by environments dev (folder base) and qa (folder base):',
      ),
    ]);
    await writeFiles(dir, {
      'poolsync.yaml': (await readFile(join(dir, 'poolsync.yaml'), 'utf8')).replace(
        'folders: [., base]',
        'folders: [.]',
      ),
    });
    expect((await readRepoConfig(dir)).errors[0]!.message).toContain(
      'by environments dev (folder base) and qa (folders: [.]):',
    );
  });

  it('is a patch where only the environments listing it read it: its own folder, a folder no one reads, an ignored one', async () => {
    const files = twoEnvironments(CPS); // prod/patches.yaml, in prod's own folder
    files['poolsync.yaml'] = files['poolsync.yaml']!.replace(
      'patches: [prod/patches.yaml]',
      'patches: [prod/patches.yaml, patches/prod.yaml, base/drafts/prod.yaml]',
    ).replace('kind: RepoConfig\n', 'kind: RepoConfig\nignore: [base/drafts/**]\n');
    const patch = (name: string) =>
      `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: {enabled: false}\n`;
    await writeFiles(dir, {
      ...files,
      'patches/prod.yaml': patch('c-prod'),
      'base/drafts/prod.yaml':
        'apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata: {name: gpu}\nspec: {image_registry: {locator: reg.example.com}}\n',
    });
    // Skipped by prod alone (environmentFiles), not by every environment through `ignore`.
    expect((await readRepoConfig(dir)).config.ignore).toEqual(['base/drafts/**']);
    const prod = await loadRepository(dir, { environment: 'prod' });
    expect(prod.errors).toEqual([]);
    expect(prod.desired!.clusters[0]).toMatchObject({ name: 'c-prod', enabled: false });
    expect(prod.desired!.queues[0]!.spec.run_concurrency).toBe(50);
    expect(prod.desired!.pools[0]!.contract).toMatchObject({
      image_registry: { locator: 'reg.example.com' },
    });
    expect((await loadRepository(dir, { environment: 'dev' })).errors).toEqual([]);
  });

  it('is skipped by the environments it patches only, never by the shared ignore; listed by both readers, it patches both', async () => {
    const files = twoEnvironments(CPS);
    files['poolsync.yaml'] = files['poolsync.yaml']!.replace(
      'patches: [prod/patches.yaml]',
      'patches: [base/limits.yaml]',
    ).replace('promotesTo: prod', 'promotesTo: prod\n    patches: [base/limits.yaml]');
    files['base/limits.yaml'] = files['prod/patches.yaml']!;
    delete files['prod/patches.yaml'];
    await writeFiles(dir, files);
    const { config, errors } = await readRepoConfig(dir);
    expect(errors).toEqual([]);
    expect(config.ignore).toEqual([]);
    const all = ['base/limits.yaml', 'base/pool.yaml', 'base/queue.yaml', 'dev/cluster.yaml'];
    const dev = config.environments!.find((e) => e.name === 'dev')!;
    expect(environmentFiles(all, dev)).toEqual([
      'base/pool.yaml',
      'base/queue.yaml',
      'dev/cluster.yaml',
    ]);
    const other = { ...dev, name: 'qa', patches: [] };
    expect(environmentFiles(all, other)).toEqual(all);
    for (const env of ['dev', 'prod']) {
      const r = await loadRepository(dir, { environment: env });
      expect(r.errors).toEqual([]);
      expect(r.desired!.queues[0]!.spec.run_concurrency).toBe(50);
    }
  });
});

describe('names poolsync.yaml gives that do not exist', () => {
  it('a patch file missing is an error at its entry, with the close name; a folder too', async () => {
    const files = twoEnvironments(CPS);
    files['poolsync.yaml'] = files['poolsync.yaml']!.replace(
      'patches: [prod/patches.yaml]',
      'patches: [nope.yaml, prod/patchs.yaml]',
    ).replace('folders: [base, dev]', 'folders: [base, dve]');
    await writeFiles(dir, files);
    const r = await loadRepository(dir, { environment: 'prod' });
    expect(r.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code} ${e.message}`)).toEqual([
      "poolsync.yaml:6:21 IO environments.dev.folders: dve does not exist (did you mean 'dev'?)",
      'poolsync.yaml:12:15 IO environments.prod.patches: nope.yaml does not exist: correct the path, or write the patch file there',
      "poolsync.yaml:12:26 IO environments.prod.patches: prod/patchs.yaml does not exist (did you mean 'prod/patches.yaml'?): correct the path, or write the patch file there",
    ]);
  });

  it('a patch of an object no folder declares names the close one', async () => {
    const files = twoEnvironments(CPS);
    files['prod/patches.yaml'] = files['prod/patches.yaml']!.replace('training', 'trainig');
    await writeFiles(dir, files);
    const r = await loadRepository(dir, { environment: 'prod' });
    expect(r.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`)).toEqual([
      "prod/patches.yaml:4:9 patches Queue/trainig, which no folder of environment prod declares (base, prod) (did you mean 'Queue/training'?): declare it there, or correct the kind or name",
    ]);
  });
});

describe('what no environment reads', () => {
  it('validate and plan name the YAML files in no environment’s folders once (a warning: exit 0), and a skipped link once', async () => {
    await writeFiles(dir, {
      ...twoEnvironments(CPS),
      'queues/b.yaml':
        'apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: broken}\nspec: {bogus: 1}\n',
      'top.yaml': POOL,
      ...Object.fromEntries(
        ['1', '2', '3', '4', '5'].map((n) => [`more/${n}.yaml`, cluster(`m${n}`)]),
      ),
    });
    // A link not named as a manifest is skipped and said once (one named *.yaml is an IO error).
    await symlink('/etc/hostname', join(dir, 'base/link'));
    await symlink('/etc/hostname', join(dir, 'queues/link.yaml'));
    const unread = [
      'more/1.yaml',
      'more/2.yaml',
      'more/3.yaml',
      'more/4.yaml',
      'more/5.yaml',
      'queues/b.yaml',
      'top.yaml',
    ];
    const note = `Note: 7 YAML files are in no environment's folders, so no environment reads them (not validated, never planned): ${unread
      .slice(0, 5)
      .map((f) => join(dir, f))
      .join(
        ', ',
      )}, and 2 more. Add their folder to an environment's folders in poolsync.yaml, or list them under ignore.\n`;
    const skipped = `Skipped 1 entry that is not a regular file or folder: ${join(dir, 'base/link')} (symbolic link).`;
    const validate = await runCli(['validate', dir]);
    expect(validate.code).toBe(0);
    expect(validate.stderr.split(note)).toHaveLength(2);
    expect(validate.stderr.split(skipped)).toHaveLength(2);
    expect(validate.stderr).not.toContain('queues/link.yaml');
    const json = await runCli(['validate', dir, '-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, unread });
    const plan = await runCli(['plan', dir, '--env', 'all']);
    expect(plan.code).toBe(0);
    expect(plan.stderr.split(note)).toHaveLength(2);
    // The patch file, read by prod, is not among them.
    expect(validate.stderr).not.toContain('patches.yaml');
  });
});
